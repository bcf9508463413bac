/**
 * The selector fields of one packet (RFC 4301 4.4.1.1): addresses, next-layer protocol and ports or ICMP
 * type/code, pulled out of an IPv4 or IPv6 packet without allocation. The SPD matches on these.
 *
 * RFC 4301 4.4.1.1 / 7: a non-initial fragment carries no next-layer header, so its ports are OPAQUE: it can
 * only match a policy whose port selectors are ANY or OPAQUE. The same holds for an initial fragment or a
 * packet cut too short to hold the ports. IPv6 extension headers (hop-by-hop, routing, fragment, destination
 * options; RFC 8200 4) are skipped to find the next-layer protocol; ESP and AH are next-layer protocols
 * themselves here, as in IPv4.
 */

import {
  IpProto,
  IPV4_VERSION_IHL_OFFSET,
  IPV4_TOTAL_LENGTH_OFFSET,
  IPV4_FLAGS_FRAGMENT_OFFSET,
  IPV4_PROTOCOL_OFFSET,
  IPV4_SRC_OFFSET,
  IPV4_DST_OFFSET,
  IPV4_MIN_HEADER_LENGTH,
  IPV4_FRAGMENT_OFFSET_MASK,
  IPV4_FLAG_MF,
  IPV6_PAYLOAD_LENGTH_OFFSET,
  IPV6_NEXT_HEADER_OFFSET,
  IPV6_SRC_OFFSET,
  IPV6_DST_OFFSET,
  IPV6_HEADER_LENGTH,
  IPV6_FRAGMENT_HEADER_LENGTH,
} from '../common/ip.js';
import { ADDRESS_WORDS, loadAddressWords } from './address.js';
import type { IpFamily } from './address.js';

/** IANA protocol numbers the extractor knows the next-layer header of (one registry: src/common/ip.ts). */
export const FlowProto = IpProto;

/** RFC 8200 4.5: the fragment offset is in the upper 13 bits of the fragment header's bytes 2..3. */
const IPV6_FRAG_OFFSET_FIELD = 2;
const IPV6_FRAG_OFFSET_MASK = 0xfff8;
/** Ports are the first 4 bytes of TCP, UDP, SCTP, DCCP and UDP-Lite headers. */
const SRC_PORT_OFFSET = 0;
const DST_PORT_OFFSET = 2;
const PORTS_LENGTH = 4;
/** ICMP/ICMPv6: type then code; RFC 6275 6.1.1: MH type is byte 2 of the mobility header. */
const ICMP_TYPE_OFFSET = 0;
const ICMP_CODE_OFFSET = 1;
const MH_TYPE_OFFSET = 2;
/** No IPv6 packet needs more extension headers than this; more is treated as malformed. */
const MAX_IPV6_EXTENSION_HEADERS = 16;

/** What the ports field of a FlowKey holds (RFC 4301 4.4.1.1). */
export const PortKind = {
  /** srcPort and dstPort are the transport ports. */
  PORTS: 0,
  /** ICMP/ICMPv6: `typeCode` is type << 8 | code; MH: type << 8. No ports. */
  TYPE_CODE: 1,
  /** Protocol without ports, or a fragment without the header: ports are OPAQUE. */
  OPAQUE: 2,
} as const;
export type PortKind = (typeof PortKind)[keyof typeof PortKind];

/** The selector fields of one packet. Reused across packets: `extractFlow` overwrites every field. */
export class FlowKey {
  family: IpFamily = 4;
  /** Source and destination addresses as 4 words each (IPv4 in the last word). */
  readonly src = new Uint32Array(ADDRESS_WORDS);
  readonly dst = new Uint32Array(ADDRESS_WORDS);
  /** Next-layer protocol after IPv6 extension headers. */
  protocol = 0;
  portKind: PortKind = PortKind.OPAQUE;
  srcPort = 0;
  dstPort = 0;
  /** ICMP type << 8 | code (RFC 4301 4.4.1.1) when portKind is TYPE_CODE. */
  typeCode = 0;
  /** True for any fragment (initial or not). */
  fragment = false;

  /** Fill from explicit values (tests, acquire events, tools). */
  set(
    family: IpFamily,
    src: Uint32Array,
    dst: Uint32Array,
    protocol: number,
    srcPort = 0,
    dstPort = 0,
    portKind: PortKind = PortKind.PORTS,
  ): this {
    this.family = family;
    this.src.set(src);
    this.dst.set(dst);
    this.protocol = protocol;
    this.portKind = portKind;
    this.srcPort = srcPort;
    this.dstPort = dstPort;
    this.typeCode = portKind === PortKind.TYPE_CODE ? srcPort : 0;
    this.fragment = false;
    return this;
  }

  copyFrom(o: FlowKey): this {
    this.family = o.family;
    this.src.set(o.src);
    this.dst.set(o.dst);
    this.protocol = o.protocol;
    this.portKind = o.portKind;
    this.srcPort = o.srcPort;
    this.dstPort = o.dstPort;
    this.typeCode = o.typeCode;
    this.fragment = o.fragment;
    return this;
  }
}

/** Why a packet's selector fields could not be read; the data plane counts these as 'malformed'. */
export type FlowError = 'malformed';

function readU16(buf: Uint8Array, off: number): number {
  return ((buf[off] ?? 0) << 8) | (buf[off + 1] ?? 0);
}

/** Fill ports / type-code for the next-layer header at `l4` (bounded by `end`). */
function readNextLayer(buf: Uint8Array, l4: number, end: number, key: FlowKey): void {
  const p = key.protocol;
  if (
    p === FlowProto.TCP ||
    p === FlowProto.UDP ||
    p === FlowProto.SCTP ||
    p === FlowProto.DCCP ||
    p === FlowProto.UDPLITE
  ) {
    if (l4 + PORTS_LENGTH > end) return;
    key.portKind = PortKind.PORTS;
    key.srcPort = readU16(buf, l4 + SRC_PORT_OFFSET);
    key.dstPort = readU16(buf, l4 + DST_PORT_OFFSET);
    return;
  }
  if (p === FlowProto.ICMP || p === FlowProto.ICMPV6) {
    if (l4 + ICMP_CODE_OFFSET + 1 > end) return;
    key.portKind = PortKind.TYPE_CODE;
    key.typeCode = ((buf[l4 + ICMP_TYPE_OFFSET] ?? 0) << 8) | (buf[l4 + ICMP_CODE_OFFSET] ?? 0);
    return;
  }
  if (p === FlowProto.MOBILITY) {
    if (l4 + MH_TYPE_OFFSET + 1 > end) return;
    key.portKind = PortKind.TYPE_CODE;
    key.typeCode = (buf[l4 + MH_TYPE_OFFSET] ?? 0) << 8;
  }
}

/**
 * Read the selector fields of the IP packet in buf[off, off + len) into `key`. Returns undefined on
 * success or 'malformed' when the bytes are not a well-formed IPv4/IPv6 header chain. Never throws.
 */
export function extractFlow(buf: Uint8Array, off: number, len: number, key: FlowKey): FlowError | undefined {
  const limit = Math.min(off + len, buf.length);
  key.portKind = PortKind.OPAQUE;
  key.srcPort = 0;
  key.dstPort = 0;
  key.typeCode = 0;
  key.fragment = false;
  const first = buf[off];
  if (first === undefined) return 'malformed';
  const version = first >> 4;
  if (version === 4) {
    const hl = ((buf[off + IPV4_VERSION_IHL_OFFSET] ?? 0) & 0x0f) * 4;
    if (hl < IPV4_MIN_HEADER_LENGTH || off + hl > limit) return 'malformed';
    const total = readU16(buf, off + IPV4_TOTAL_LENGTH_OFFSET);
    if (total < hl || off + total > limit) return 'malformed';
    key.family = 4;
    loadAddressWords(4, buf, off + IPV4_SRC_OFFSET, key.src, 0);
    loadAddressWords(4, buf, off + IPV4_DST_OFFSET, key.dst, 0);
    key.protocol = buf[off + IPV4_PROTOCOL_OFFSET] ?? 0;
    const frag = readU16(buf, off + IPV4_FLAGS_FRAGMENT_OFFSET);
    const fragOffset = frag & IPV4_FRAGMENT_OFFSET_MASK;
    key.fragment = fragOffset !== 0 || (frag & IPV4_FLAG_MF) !== 0;
    // RFC 4301 7: a non-initial fragment has no next-layer header, its ports are OPAQUE.
    if (fragOffset === 0) readNextLayer(buf, off + hl, off + total, key);
    return undefined;
  }
  if (version !== 6) return 'malformed';
  if (off + IPV6_HEADER_LENGTH > limit) return 'malformed';
  const end = off + IPV6_HEADER_LENGTH + readU16(buf, off + IPV6_PAYLOAD_LENGTH_OFFSET);
  if (end > limit) return 'malformed';
  key.family = 6;
  loadAddressWords(6, buf, off + IPV6_SRC_OFFSET, key.src, 0);
  loadAddressWords(6, buf, off + IPV6_DST_OFFSET, key.dst, 0);
  let nh = buf[off + IPV6_NEXT_HEADER_OFFSET] ?? 0;
  let p = off + IPV6_HEADER_LENGTH;
  let nonInitial = false;
  for (let n = 0; ; n++) {
    if (n > MAX_IPV6_EXTENSION_HEADERS) return 'malformed';
    let hlen: number;
    if (nh === FlowProto.HOPOPT || nh === FlowProto.IPV6_ROUTE || nh === FlowProto.IPV6_OPTS) {
      if (p + 2 > end) return 'malformed';
      hlen = ((buf[p + 1] ?? 0) + 1) * 8;
    } else if (nh === FlowProto.IPV6_FRAG) {
      if (p + IPV6_FRAGMENT_HEADER_LENGTH > end) return 'malformed';
      hlen = IPV6_FRAGMENT_HEADER_LENGTH;
      const fo = readU16(buf, p + IPV6_FRAG_OFFSET_FIELD);
      key.fragment = true;
      if ((fo & IPV6_FRAG_OFFSET_MASK) !== 0) nonInitial = true;
    } else {
      break;
    }
    if (p + hlen > end) return 'malformed';
    nh = buf[p] ?? 0;
    p += hlen;
    // After a non-initial fragment header the rest is payload, not headers.
    if (nonInitial) break;
  }
  key.protocol = nh;
  if (!nonInitial) readNextLayer(buf, p, end, key);
  return undefined;
}
