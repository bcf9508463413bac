/**
 * What an AH SA (RFC 4302, RFC 4301 4.4.2) is created from, and the checks applied once at creation.
 */

import type { IntegrityTransform } from '../crypto/types.js';
import type { DropCounters } from '../common/drop.js';
import { IPV4_ADDRESS_LENGTH, IPV6_ADDRESS_LENGTH } from '../common/ip.js';
import { AH_FIXED_LENGTH, AH_MAX_LENGTH } from './ah-header.js';

export type AhMode = 'tunnel' | 'transport';

/** Outer header endpoints for a tunnel-mode outbound SA (RFC 4301 5.1.2). */
export interface AhTunnelEndpoints {
  /** Outer source address, 4 (IPv4) or 16 (IPv6) bytes. */
  readonly src: Uint8Array;
  /** Outer destination address, same family as `src`. */
  readonly dst: Uint8Array;
  /** Outer TTL / hop limit; 64 if absent. */
  readonly ttl?: number;
}

export interface AhSaConfig {
  /** Security Parameters Index (RFC 4302 2.4): 256..2^32-1 (0 is never sent, 1..255 are reserved). */
  readonly spi: number;
  readonly mode: AhMode;
  /** Integrity algorithm already bound to its key (src/crypto createIntegrity). */
  readonly integrity: IntegrityTransform;
  /** Extended (64-bit) sequence numbers negotiated (RFC 4302 2.5.1). */
  readonly esn: boolean;
  /** Inbound: anti-replay window size in packets, 0 = off (RFC 4302 3.4.3). Ignored outbound. */
  readonly replayWindow?: number;
  /** Outbound tunnel mode: the outer header's endpoints. Required there, ignored otherwise. */
  readonly tunnel?: AhTunnelEndpoints;
  /** Outbound: the first sequence number to send (default 1). Only tests change it. */
  readonly initialSeq?: number;
  /** Outbound: once this sequence number has been used, `rekeyDue` turns true (default 90% of the maximum). */
  readonly softSeqLimit?: number;
}

/** Per-SA counters (shown by `tsipsec sas --json`). */
export interface AhSaCounters {
  /** Packets sealed / opened successfully. */
  packets: number;
  /** Bytes of inner packet (tunnel) or upper-layer payload (transport) sealed / opened. */
  bytes: number;
  /** Dropped packets by reason. */
  readonly drops: DropCounters;
}

/** Result of `seal`: 'ok', or why the packet was not sealed (also counted in `counters.drops`). */
export type AhSealResult = 'ok' | 'seqExhausted' | 'tooBig' | 'malformed' | 'internal';

/** Result of `open`: 'ok', or why the packet was dropped (also counted in `counters.drops`). */
export type AhOpenResult = 'ok' | 'short' | 'noSa' | 'replay' | 'icv' | 'malformed' | 'internal';

/** Largest outbound sequence number: 2^32 - 1, or with ESN 2^53 - 1 (exact JS integers; see replay-window.ts). */
export function ahMaxSequenceNumber(esn: boolean): number {
  return esn ? Number.MAX_SAFE_INTEGER : 0xffff_ffff;
}

/** RFC 4302 2.4: SPI 0 is reserved for local use, 1..255 by IANA. */
export const AH_SPI_MIN = 256;
export const AH_SPI_MAX = 0xffff_ffff;

/** Throws RangeError for a configuration no packet could be processed with. */
export function checkAhConfig(c: AhSaConfig, outbound: boolean): void {
  if (!Number.isInteger(c.spi) || c.spi < AH_SPI_MIN || c.spi > AH_SPI_MAX) {
    throw new RangeError(`AH SPI ${c.spi} out of range ${AH_SPI_MIN}..${AH_SPI_MAX} (RFC 4302 2.4)`);
  }
  if (c.mode !== 'tunnel' && c.mode !== 'transport') throw new RangeError(`AH mode ${String(c.mode)}`);
  if (outbound && c.mode === 'tunnel') {
    const t = c.tunnel;
    if (t === undefined) throw new RangeError('AH tunnel mode needs outer endpoints (tunnel.src, tunnel.dst)');
    const n = t.src.length;
    if ((n !== IPV4_ADDRESS_LENGTH && n !== IPV6_ADDRESS_LENGTH) || t.dst.length !== n) {
      throw new RangeError('AH tunnel endpoints must both be IPv4 (4 bytes) or both IPv6 (16 bytes)');
    }
    if (t.ttl !== undefined && !(Number.isInteger(t.ttl) && t.ttl >= 1 && t.ttl <= 255)) {
      throw new RangeError(`AH tunnel ttl ${t.ttl} out of range 1..255`);
    }
  }
  const max = ahMaxSequenceNumber(c.esn);
  if (c.initialSeq !== undefined && !(Number.isInteger(c.initialSeq) && c.initialSeq >= 1 && c.initialSeq <= max)) {
    throw new RangeError(`AH initialSeq ${c.initialSeq} out of range 1..${max}`);
  }
  if (c.softSeqLimit !== undefined && !(Number.isInteger(c.softSeqLimit) && c.softSeqLimit >= 1)) {
    throw new RangeError(`AH softSeqLimit ${c.softSeqLimit} must be a positive integer`);
  }
  if (c.integrity.icvLength <= 0 || AH_FIXED_LENGTH + c.integrity.ivLength + c.integrity.icvLength > AH_MAX_LENGTH) {
    throw new RangeError(`AH cannot carry the ICV of ${c.integrity.name}`);
  }
}
