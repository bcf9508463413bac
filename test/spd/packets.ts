/**
 * Packet builders for data-plane tests: IPv4 (RFC 791) and IPv6 (RFC 8200) with extension headers, UDP,
 * TCP ports, ICMP echo (RFC 792) and ICMPv6 echo (RFC 4443) with correct checksums. Independent of the code
 * under test: checksums are computed here from the RFC 1071 definition.
 */

import { addressWords } from '../../src/spd/address.js';

export function checksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function addrBytes(text: string): Uint8Array {
  const { family, words } = addressWords(text);
  const n = family === 4 ? 1 : 4;
  const out = new Uint8Array(4 * n);
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) view.setUint32(4 * i, words[4 - n + i]!);
  return out;
}

export interface Ipv4Options {
  id?: number;
  ttl?: number;
  fragmentOffset8?: number;
  moreFragments?: boolean;
}

export function ipv4(src: string, dst: string, protocol: number, payload: Uint8Array, o: Ipv4Options = {}): Buffer {
  const p = Buffer.alloc(20 + payload.length);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p.writeUInt16BE(o.id ?? 0x1234, 4);
  p.writeUInt16BE(((o.moreFragments === true ? 1 : 0) << 13) | (o.fragmentOffset8 ?? 0), 6);
  p[8] = o.ttl ?? 64;
  p[9] = protocol;
  p.set(addrBytes(src), 12);
  p.set(addrBytes(dst), 16);
  p.writeUInt16BE(checksum(p.subarray(0, 20)), 10);
  p.set(payload, 20);
  return p;
}

/** An IPv6 packet; `ext` is a chain of [headerType, body] where body excludes the next-header byte. */
export function ipv6(
  src: string,
  dst: string,
  protocol: number,
  payload: Uint8Array,
  ext: readonly (readonly [number, Uint8Array])[] = [],
): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < ext.length; i++) {
    const [, body] = ext[i]!;
    const next = i + 1 < ext.length ? ext[i + 1]![0] : protocol;
    const h = Buffer.alloc(1 + body.length);
    h[0] = next;
    h.set(body, 1);
    parts.push(h);
  }
  const extBytes = Buffer.concat(parts);
  const p = Buffer.alloc(40 + extBytes.length + payload.length);
  p.writeUInt32BE(0x60000000, 0);
  p.writeUInt16BE(extBytes.length + payload.length, 4);
  p[6] = ext.length > 0 ? ext[0]![0] : protocol;
  p[7] = 64;
  p.set(addrBytes(src), 8);
  p.set(addrBytes(dst), 24);
  p.set(extBytes, 40);
  p.set(payload, 40 + extBytes.length);
  return p;
}

/** Hop-by-hop / destination options / routing body of 8 * (n + 1) bytes total, padded with PadN. */
export function optionsBody(units = 0): Uint8Array {
  const b = new Uint8Array(7 + 8 * units);
  b[0] = units; // Hdr Ext Len
  b[1] = 1; // PadN
  b[2] = b.length - 3;
  return b;
}

/** Fragment header body (7 bytes after next header): reserved, offset in 8-octet units, M flag, id. */
export function fragmentBody(offset8: number, more: boolean, id = 0x01020304): Uint8Array {
  const b = Buffer.alloc(7);
  b.writeUInt16BE((offset8 << 3) | (more ? 1 : 0), 1);
  b.writeUInt32BE(id, 3);
  return b;
}

export function udp(sport: number, dport: number, data: Uint8Array = new Uint8Array(4)): Buffer {
  const p = Buffer.alloc(8 + data.length);
  p.writeUInt16BE(sport, 0);
  p.writeUInt16BE(dport, 2);
  p.writeUInt16BE(p.length, 4);
  p.set(data, 8);
  return p;
}

/** TCP header with just the ports and a data offset of 5 (enough for selectors). */
export function tcp(sport: number, dport: number): Buffer {
  const p = Buffer.alloc(20);
  p.writeUInt16BE(sport, 0);
  p.writeUInt16BE(dport, 2);
  p[12] = 5 << 4;
  return p;
}

export const ICMP_ECHO_REQUEST = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;

/** ICMP (v4) message with checksum over the message (RFC 792). */
export function icmpEcho(type: number, id: number, seq: number, data: Uint8Array): Buffer {
  const p = Buffer.alloc(8 + data.length);
  p[0] = type;
  p.writeUInt16BE(id, 4);
  p.writeUInt16BE(seq, 6);
  p.set(data, 8);
  p.writeUInt16BE(checksum(p), 2);
  return p;
}

/** ICMPv6 echo with the RFC 4443 2.3 checksum over the RFC 8200 8.1 pseudo-header. */
export function icmpv6Echo(src: string, dst: string, type: number, id: number, seq: number, data: Uint8Array): Buffer {
  const p = Buffer.alloc(8 + data.length);
  p[0] = type;
  p.writeUInt16BE(id, 4);
  p.writeUInt16BE(seq, 6);
  p.set(data, 8);
  const pseudo = Buffer.alloc(40 + p.length);
  pseudo.set(addrBytes(src), 0);
  pseudo.set(addrBytes(dst), 16);
  pseudo.writeUInt32BE(p.length, 32);
  pseudo[39] = 58;
  pseudo.set(p, 40);
  p.writeUInt16BE(checksum(pseudo), 2);
  return p;
}

/** True if the IPv4 header checksum verifies. */
export function ipv4HeaderOk(p: Uint8Array): boolean {
  const hl = (p[0]! & 0x0f) * 4;
  return checksum(p.subarray(0, hl)) === 0;
}

/** True if an ICMPv4 message's checksum verifies. */
export function icmpOk(msg: Uint8Array): boolean {
  return checksum(msg) === 0;
}

/** Turn an IPv4 ICMP echo request into the echo reply a host would send (swap addresses, type 0, checksums). */
export function echoReplyV4(request: Uint8Array): Buffer {
  const req = Buffer.from(request);
  const hl = (req[0]! & 0x0f) * 4;
  const src = req.subarray(12, 16);
  const dst = req.subarray(16, 20);
  const icmp = Buffer.from(req.subarray(hl));
  icmp[0] = ICMP_ECHO_REPLY;
  icmp.writeUInt16BE(0, 2);
  icmp.writeUInt16BE(checksum(icmp), 2);
  const hdr = Buffer.from(req.subarray(0, hl));
  hdr.set(dst, 12);
  hdr.set(src, 16);
  hdr.writeUInt16BE(0, 10);
  hdr.writeUInt16BE(checksum(hdr), 10);
  return Buffer.concat([hdr, icmp]);
}
