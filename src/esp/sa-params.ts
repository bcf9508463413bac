/**
 * Parameters and counters shared by the outbound and inbound ESP SA objects (RFC 4303, RFC 4301 4.4.2
 * SAD fields: SPI, mode, algorithms and keys, ESN, anti-replay window, NAT-T encapsulation).
 */

import type { Rng } from '../crypto/types.js';
import type { DropCounters } from '../common/drop.js';
import type { EspTransform } from './transform.js';

export type EspMode = 'tunnel' | 'transport';

/** ESP-in-UDP (RFC 3948): the UDP ports of the outer header. */
export interface EspEncapsulation {
  readonly srcPort: number;
  readonly dstPort: number;
}

export interface EspSaParams {
  /** SPI in host order (RFC 4303 2.1): the receiver's choice, 256..2^32-1. */
  readonly spi: number;
  readonly mode: EspMode;
  /** Algorithms bound to this SA's keys (see transform.ts). */
  readonly transform: EspTransform;
  /** Extended 64-bit sequence numbers (RFC 4303 2.2.1), as negotiated with the ESN transform. */
  readonly esn: boolean;
  /** Inbound: anti-replay window in packets, 0 = off (RFC 4303 3.4.3). Default REPLAY_WINDOW_DEFAULT. */
  readonly replayWindow?: number;
  /**
   * Outbound, tunnel mode: Traffic Flow Confidentiality padding (RFC 4303 2.7). Inner packets shorter than
   * this many bytes are padded with zeros up to it before the ESP padding. 0 or absent: off.
   */
  readonly tfcPadding?: number;
  /** ESP-in-UDP (RFC 3948) ports; absent for plain ESP (IP protocol 50). */
  readonly encapsulation?: EspEncapsulation;
  /**
   * Outbound: what `seal` leaves in the packet buffer.
   * - 'esp' (default): the ESP packet, SPI .. ICV (also the UDP payload under ESP-in-UDP). Send it through a
   *   raw protocol-50 socket or a UDP socket; the kernel adds the outer header(s). In transport mode the
   *   original IP header is dropped (only the upper-layer payload is protected and returned).
   * - 'ip': a whole IP datagram. Tunnel mode: a new outer IPv4/IPv6 header from `tunnel` (+ UDP header
   *   under ESP-in-UDP) then the ESP packet. Transport mode: the original IP header (and the IPv6 extension
   *   headers that precede ESP) moved in front of the ESP header, protocol/next header set to 50 (17 under
   *   ESP-in-UDP), lengths and IPv4 checksum fixed.
   */
  readonly output?: 'esp' | 'ip';
  /** Tunnel endpoints for the outer header (4 or 16 bytes each); required for tunnel mode with output 'ip'. */
  readonly tunnel?: { readonly src: Uint8Array; readonly dst: Uint8Array };
  /** Randomness for CBC IVs (RFC 3602 2.4: unpredictable). Required for ciphers with a block size > 1. */
  readonly rng?: Rng;
  /**
   * Outbound: the first sequence number to send (default 1). Inbound: the highest sequence number already
   * received (default 0). Only known-answer tests change it.
   */
  readonly initialSeq?: number | bigint;
  /** Outbound: once this sequence number has been used, `rekeyDue` turns true (default 90% of the maximum). */
  readonly softSeqLimit?: number;
}

/** Per-SA counters (shown by `tsipsec sas --json`). */
export interface EspSaCounters {
  /** Packets sealed / opened successfully. */
  packets: number;
  /** Bytes of inner packet (tunnel) or upper-layer payload (transport) sealed / opened. */
  bytes: number;
  /** Dropped packets by reason. */
  readonly drops: DropCounters;
}

/** Result of `seal`: 'ok', or why the packet was not sealed (also counted in `counters.drops`). */
export type SealResult = 'ok' | 'seqExhausted' | 'tooBig' | 'malformed' | 'internal';

/** Largest outbound sequence number: 2^32 - 1, or with ESN 2^64 - 1 (as a number, so approximate). */
export function maxSequenceNumber(esn: boolean): number {
  return esn ? 2 ** 64 - 1 : 0xffff_ffff;
}
