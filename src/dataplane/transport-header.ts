/**
 * Inbound transport mode over a raw ESP socket or ESP-in-UDP: the socket hands over the bare ESP packet
 * (the kernel kept the IP header), so after `open` only the upper-layer payload is left. The TUN wants an
 * IP packet: an IPv4/IPv6 header is rebuilt in front from the datagram's addresses (peer -> us) and the ESP
 * next header (RFC 4303 3.4.4.2 leaves reconstruction to the receiver). Identification and TTL are fresh;
 * the transport checksum is fixed afterwards under ESP-in-UDP (RFC 3948 3.1.2, src/esp/nat-checksum.ts).
 * Also small byte helpers for the packet path.
 */

import { IPV4_MIN_HEADER_LENGTH, IPV6_HEADER_LENGTH, writeOuterIp } from '../common/ip.js';
import type { OuterIpParams } from '../common/ip.js';
import { formatAddress } from '../io/ip-address.js';
import { ADDRESS_SLOT_BYTES } from '../io/types.js';
import type { DatagramBatch, IpFamily } from '../io/types.js';

/** Reused header parameters, one per family (no allocation per packet). */
export class OuterHeaderScratch {
  readonly v4: OuterIpParams = { src: new Uint8Array(4), dst: new Uint8Array(4), protocol: 0 };
  readonly v6: OuterIpParams = { src: new Uint8Array(16), dst: new Uint8Array(16), protocol: 0 };
}

/** The packet being processed: buffer, offset, length (moved by this function). */
export interface MutablePacket {
  buf: Buffer;
  off: number;
  len: number;
}

/**
 * Put an IP header in front of the payload at pkt.off. If the bytes in front (the freed ESP header and IV)
 * are fewer than the header needs, the payload moves back first. Only bytes from `lo` up to `hi` may be
 * written (the whole buffer unless the datagram shares it, a UDP GRO view). False when there is no room.
 */
export function rebuildTransportHeader(
  pkt: MutablePacket,
  batch: DatagramBatch,
  slot: number,
  nextHeader: number,
  scratch: OuterHeaderScratch,
  lo = 0,
  hi = pkt.buf.length,
): boolean {
  const f = batch.family;
  const hl = f === 4 ? IPV4_MIN_HEADER_LENGTH : IPV6_HEADER_LENGTH;
  if (pkt.off - lo < hl) {
    const shift = lo + hl - pkt.off;
    if (pkt.off + pkt.len + shift > hi) return false;
    pkt.buf.copyWithin(pkt.off + shift, pkt.off, pkt.off + pkt.len);
    pkt.off += shift;
  }
  const p = f === 4 ? scratch.v4 : scratch.v6;
  const n = f === 4 ? 4 : 16;
  const base = slot * ADDRESS_SLOT_BYTES;
  for (let b = 0; b < n; b++) {
    p.src[b] = batch.remoteAddrs[base + b] ?? 0;
    p.dst[b] = batch.localAddrs[base + b] ?? 0;
  }
  p.protocol = nextHeader;
  pkt.off -= hl;
  pkt.len += hl;
  writeOuterIp(pkt.buf, pkt.off, pkt.len, p);
  return true;
}

/** a[aOff, aOff + n) equals b[0, n). */
export function sameBytes(a: Uint8Array, aOff: number, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[aOff + i] !== b[i]) return false;
  return true;
}

/** Text of a 4-word address (src/spd/address.ts layout), for upcall events. */
export function formatAddressWords(family: IpFamily, words: Uint32Array): string {
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    const w = words[i] ?? 0;
    bytes[4 * i] = w >>> 24;
    bytes[4 * i + 1] = (w >>> 16) & 0xff;
    bytes[4 * i + 2] = (w >>> 8) & 0xff;
    bytes[4 * i + 3] = w & 0xff;
  }
  return formatAddress(bytes, family === 4 ? 12 : 0, family);
}
