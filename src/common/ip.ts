/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200) header knowledge shared by ESP and AH: named offsets, header
 * parsing without allocation, the IPv4 header checksum, the IPv6 extension-header walk, and building
 * an outer header. All functions take a buffer and the offset where the IP header starts.
 *
 * Parsing functions never throw: they return -1 (or null) when the bytes do not hold a well-formed header.
 */

/** IANA Assigned Internet Protocol Numbers used by IPsec. */
export const IpProto = {
  HOPOPT: 0,
  ICMP: 1,
  IPV4: 4,
  TCP: 6,
  UDP: 17,
  IPV6: 41,
  IPV6_ROUTE: 43,
  IPV6_FRAG: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  IPV6_NONXT: 59,
  IPV6_OPTS: 60,
  DCCP: 33,
  SCTP: 132,
  MOBILITY: 135,
  UDPLITE: 136,
} as const;
export type IpProto = (typeof IpProto)[keyof typeof IpProto];

// RFC 791 3.1: IPv4 header layout.
export const IPV4_VERSION_IHL_OFFSET = 0;
export const IPV4_TOS_OFFSET = 1;
export const IPV4_TOTAL_LENGTH_OFFSET = 2;
export const IPV4_ID_OFFSET = 4;
export const IPV4_FLAGS_FRAGMENT_OFFSET = 6;
export const IPV4_TTL_OFFSET = 8;
export const IPV4_PROTOCOL_OFFSET = 9;
export const IPV4_CHECKSUM_OFFSET = 10;
export const IPV4_SRC_OFFSET = 12;
export const IPV4_DST_OFFSET = 16;
export const IPV4_ADDRESS_LENGTH = 4;
/** Header length without options (IHL 5). */
export const IPV4_MIN_HEADER_LENGTH = 20;
export const IPV4_MAX_HEADER_LENGTH = 60;
/** Flags field bits (RFC 791 3.1). */
export const IPV4_FLAG_DF = 0x4000;
export const IPV4_FLAG_MF = 0x2000;
export const IPV4_FRAGMENT_OFFSET_MASK = 0x1fff;

// RFC 8200 3: IPv6 header layout.
export const IPV6_VERSION_CLASS_FLOW_OFFSET = 0;
export const IPV6_PAYLOAD_LENGTH_OFFSET = 4;
export const IPV6_NEXT_HEADER_OFFSET = 6;
export const IPV6_HOP_LIMIT_OFFSET = 7;
export const IPV6_SRC_OFFSET = 8;
export const IPV6_DST_OFFSET = 24;
export const IPV6_ADDRESS_LENGTH = 16;
export const IPV6_HEADER_LENGTH = 40;
/** RFC 8200 4.5: the fragment header is always 8 bytes. */
export const IPV6_FRAGMENT_HEADER_LENGTH = 8;
/** Generic extension header: next header at 0, length in 8-octet units (excluding the first 8) at 1. */
export const IPV6_EXT_NEXT_HEADER_OFFSET = 0;
export const IPV6_EXT_LENGTH_OFFSET = 1;

/** IP version from the first nibble (4, 6, or anything else for garbage); -1 when there is no byte. */
export function ipVersion(buf: Uint8Array, off: number): number {
  const b = buf[off];
  return b === undefined ? -1 : b >> 4;
}

/** IPv4 header length in bytes (IHL * 4), or -1 if it is out of bounds or below 20. */
export function ipv4HeaderLength(buf: Uint8Array, off: number, end: number = buf.length): number {
  const b = buf[off];
  if (b === undefined || off + IPV4_MIN_HEADER_LENGTH > end) return -1;
  const hl = (b & 0x0f) * 4;
  if (hl < IPV4_MIN_HEADER_LENGTH || off + hl > end) return -1;
  return hl;
}

export function readU16(buf: Uint8Array, off: number): number {
  return ((buf[off] ?? 0) << 8) | (buf[off + 1] ?? 0);
}

export function writeU16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 8) & 0xff;
  buf[off + 1] = v & 0xff;
}

export function readU32(buf: Uint8Array, off: number): number {
  return (
    (((buf[off] ?? 0) << 24) | ((buf[off + 1] ?? 0) << 16) | ((buf[off + 2] ?? 0) << 8) | (buf[off + 3] ?? 0)) >>> 0
  );
}

export function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 24) & 0xff;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

/** Below this many bytes the word-at-a-time sum is not worth its view. */
const WIDE_SUM_MIN_BYTES = 64;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * RFC 1071 one's complement sum of buf[off, off + len), folded to 16 bits (not complemented). Long runs are
 * summed four bytes at a time through a 32-bit view (signed, so every load stays a small integer) (RFC 1071 2(B): the sum can be taken in the machine's byte
 * order and swapped at the end), the rest byte pair by byte pair.
 */
export function onesComplementSum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  const end = off + len;
  let i = off;
  const lead = (4 - ((buf.byteOffset + off) & 3)) & 3;
  if (LITTLE_ENDIAN && len >= WIDE_SUM_MIN_BYTES && (lead & 1) === 0) {
    // Up to one leading byte pair brings the view to a 4-byte boundary.
    if (lead === 2) {
      sum += ((buf[i] ?? 0) << 8) | (buf[i + 1] ?? 0);
      i += 2;
    }
    const words = (end - i) >>> 2;
    const view = new Int32Array(buf.buffer, buf.byteOffset + i, words);
    // Two small-integer accumulators (low and high halves of each little-endian word) keep the loop in
    // int32 arithmetic; 16,384 words at most between folds keeps them below 2^31.
    let lo = 0;
    let hi = 0;
    let wide = 0;
    for (let w = 0; w < words; w++) {
      const v = view[w]!;
      lo += v & 0xffff;
      hi += v >>> 16;
      if ((w & 0x3fff) === 0x3fff) {
        wide += lo + hi;
        lo = 0;
        hi = 0;
        while (wide > 0xffff) wide = (wide & 0xffff) + (wide >>> 16);
      }
    }
    wide += lo + hi;
    // Fold the little-endian sum to 16 bits, then swap it to network order.
    while (wide > 0xffff) wide = (wide & 0xffff) + (wide >>> 16);
    sum += ((wide & 0xff) << 8) | (wide >>> 8);
    i += words * 4;
  }
  for (; i + 1 < end; i += 2) sum += ((buf[i] ?? 0) << 8) | (buf[i + 1] ?? 0);
  if (i < end) sum += (buf[i] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** RFC 791 3.1 header checksum over an IPv4 header of `headerLength` bytes (the checksum field is read as is). */
export function ipv4HeaderChecksum(buf: Uint8Array, off: number, headerLength: number): number {
  return ~onesComplementSum(buf, off, headerLength) & 0xffff;
}

/** Recompute and store the IPv4 header checksum. */
export function setIpv4HeaderChecksum(buf: Uint8Array, off: number, headerLength: number): void {
  writeU16(buf, off + IPV4_CHECKSUM_OFFSET, 0);
  writeU16(buf, off + IPV4_CHECKSUM_OFFSET, ipv4HeaderChecksum(buf, off, headerLength));
}

/** True when the stored IPv4 header checksum is right (the sum over the header including it is 0xffff). */
export function ipv4ChecksumValid(buf: Uint8Array, off: number, headerLength: number): boolean {
  return onesComplementSum(buf, off, headerLength) === 0xffff;
}

/** True for the IPv6 extension headers RFC 8200 4 lists before an upper layer (and before ESP/AH). */
export function isIpv6ExtensionHeader(nh: number): boolean {
  return nh === IpProto.HOPOPT || nh === IpProto.IPV6_ROUTE || nh === IpProto.IPV6_FRAG || nh === IpProto.IPV6_OPTS;
}

/** Result of walking an IPv6 header chain (reused object: see `walkIpv6Headers`). */
export interface Ipv6Walk {
  /** Offset of the first byte after the headers an IPsec header goes behind (RFC 4303 3.1.1, RFC 4302 3.1.1). */
  insertOffset: number;
  /** Offset of the byte holding the "next header" value that must be changed to 50/51 on insertion. */
  nextHeaderFieldOffset: number;
  /** The protocol that followed at insertOffset (the upper layer, or a destination options header, ...). */
  nextHeader: number;
  /** Upper-layer protocol after all extension headers (TCP, UDP, ICMPv6, ESP, AH, 59, ...). */
  upperProtocol: number;
  /** Offset of the upper-layer header. */
  upperOffset: number;
  /** Offset of the byte holding the next header value that names the upper layer (to patch on receive). */
  upperNextHeaderFieldOffset: number;
  /** True if a fragment header was seen (the packet is a fragment). */
  fragment: boolean;
}

/** A fresh walk result to reuse across packets. */
export function newIpv6Walk(): Ipv6Walk {
  return {
    insertOffset: 0,
    nextHeaderFieldOffset: 0,
    nextHeader: 0,
    upperProtocol: 0,
    upperOffset: 0,
    upperNextHeaderFieldOffset: 0,
    fragment: false,
  };
}

/**
 * Walk the IPv6 extension headers starting at the fixed header at `off` (RFC 8200 4.1 order). ESP/AH in
 * transport mode go after hop-by-hop, routing and fragment headers; a destination options header seen
 * before a routing header goes in front of ESP/AH too, one after the routing header (or the last one)
 * goes behind (RFC 4303 3.1.1 figure, RFC 4302 3.1.1). Returns false when a header runs past `end`.
 */
export function walkIpv6Headers(buf: Uint8Array, off: number, end: number, out: Ipv6Walk): boolean {
  if (off + IPV6_HEADER_LENGTH > end) return false;
  let nh = buf[off + IPV6_NEXT_HEADER_OFFSET] ?? 0;
  let nhField = off + IPV6_NEXT_HEADER_OFFSET;
  let p = off + IPV6_HEADER_LENGTH;
  let insertAt = -1;
  let insertField = nhField;
  let insertNh = nh;
  let fragment = false;
  // Does a routing header follow later? Then a destination options header before it stays in front.
  let routingAhead = false;
  {
    let q = p;
    let t = nh;
    while (isIpv6ExtensionHeader(t) && q + 2 <= end) {
      if (t === IpProto.IPV6_ROUTE) routingAhead = true;
      const len = t === IpProto.IPV6_FRAG ? IPV6_FRAGMENT_HEADER_LENGTH : ((buf[q + 1] ?? 0) + 1) * 8;
      t = buf[q] ?? 0;
      q += len;
    }
  }
  let routingSeen = false;
  while (isIpv6ExtensionHeader(nh)) {
    if (p + 2 > end) return false;
    const len = nh === IpProto.IPV6_FRAG ? IPV6_FRAGMENT_HEADER_LENGTH : ((buf[p + 1] ?? 0) + 1) * 8;
    if (p + len > end) return false;
    if (nh === IpProto.IPV6_FRAG) fragment = true;
    if (nh === IpProto.IPV6_ROUTE) routingSeen = true;
    const staysInFront = nh !== IpProto.IPV6_OPTS || (routingAhead && !routingSeen);
    if (!staysInFront && insertAt < 0) {
      insertAt = p;
      insertField = nhField;
      insertNh = nh;
    }
    nhField = p + IPV6_EXT_NEXT_HEADER_OFFSET;
    nh = buf[p] ?? 0;
    p += len;
  }
  if (insertAt < 0) {
    insertAt = p;
    insertField = nhField;
    insertNh = nh;
  }
  out.insertOffset = insertAt;
  out.nextHeaderFieldOffset = insertField;
  out.nextHeader = insertNh;
  out.upperProtocol = nh;
  out.upperOffset = p;
  out.upperNextHeaderFieldOffset = nhField;
  out.fragment = fragment;
  return true;
}

/** Bounds-checked facts about one IP packet (reused object: see `parseIpHeader`). */
export interface IpInfo {
  version: 4 | 6;
  /** IPv4: IHL * 4. IPv6: 40 (the fixed header only). */
  headerLength: number;
  /** IPv4 total length, or IPv6 40 + payload length. */
  totalLength: number;
  /** IPv4 protocol, or IPv6 next header of the fixed header. */
  protocol: number;
  srcOffset: number;
  dstOffset: number;
  addressLength: number;
}

export function newIpInfo(): IpInfo {
  return { version: 4, headerLength: 0, totalLength: 0, protocol: 0, srcOffset: 0, dstOffset: 0, addressLength: 4 };
}

/**
 * Parse the fixed IP header at `off` into `out`. Returns false if it is not IPv4/IPv6, is truncated, or
 * claims a total length larger than `end - off` or smaller than its header.
 */
export function parseIpHeader(buf: Uint8Array, off: number, end: number, out: IpInfo): boolean {
  const v = ipVersion(buf, off);
  if (v === 4) {
    const hl = ipv4HeaderLength(buf, off, end);
    if (hl < 0) return false;
    const total = readU16(buf, off + IPV4_TOTAL_LENGTH_OFFSET);
    if (total < hl || off + total > end) return false;
    out.version = 4;
    out.headerLength = hl;
    out.totalLength = total;
    out.protocol = buf[off + IPV4_PROTOCOL_OFFSET] ?? 0;
    out.srcOffset = off + IPV4_SRC_OFFSET;
    out.dstOffset = off + IPV4_DST_OFFSET;
    out.addressLength = IPV4_ADDRESS_LENGTH;
    return true;
  }
  if (v === 6) {
    if (off + IPV6_HEADER_LENGTH > end) return false;
    const total = IPV6_HEADER_LENGTH + readU16(buf, off + IPV6_PAYLOAD_LENGTH_OFFSET);
    if (off + total > end) return false;
    out.version = 6;
    out.headerLength = IPV6_HEADER_LENGTH;
    out.totalLength = total;
    out.protocol = buf[off + IPV6_NEXT_HEADER_OFFSET] ?? 0;
    out.srcOffset = off + IPV6_SRC_OFFSET;
    out.dstOffset = off + IPV6_DST_OFFSET;
    out.addressLength = IPV6_ADDRESS_LENGTH;
    return true;
  }
  return false;
}

/** Parameters of an outer header built by `writeOuterIpv4` / `writeOuterIpv6`. */
export interface OuterIpParams {
  /** 4 or 16 bytes. */
  src: Uint8Array;
  dst: Uint8Array;
  protocol: number;
  /** IPv4 TOS / IPv6 traffic class (RFC 4303 tunnel mode may copy DSCP from the inner header). */
  tos?: number;
  /** IPv4 TTL / IPv6 hop limit; 64 if absent. */
  ttl?: number;
  /** IPv4 identification; 0 if absent. */
  id?: number;
  /** IPv4 DF bit. */
  dontFragment?: boolean;
  /** IPv6 flow label. */
  flowLabel?: number;
}

/** Write a 20-byte IPv4 header at `off` for a packet of `totalLength` bytes, with its checksum. Returns 20. */
export function writeOuterIpv4(buf: Uint8Array, off: number, totalLength: number, p: OuterIpParams): number {
  buf[off + IPV4_VERSION_IHL_OFFSET] = 0x45;
  buf[off + IPV4_TOS_OFFSET] = (p.tos ?? 0) & 0xff;
  writeU16(buf, off + IPV4_TOTAL_LENGTH_OFFSET, totalLength);
  writeU16(buf, off + IPV4_ID_OFFSET, (p.id ?? 0) & 0xffff);
  writeU16(buf, off + IPV4_FLAGS_FRAGMENT_OFFSET, p.dontFragment === true ? IPV4_FLAG_DF : 0);
  buf[off + IPV4_TTL_OFFSET] = p.ttl ?? 64;
  buf[off + IPV4_PROTOCOL_OFFSET] = p.protocol;
  buf.set(p.src.subarray(0, IPV4_ADDRESS_LENGTH), off + IPV4_SRC_OFFSET);
  buf.set(p.dst.subarray(0, IPV4_ADDRESS_LENGTH), off + IPV4_DST_OFFSET);
  setIpv4HeaderChecksum(buf, off, IPV4_MIN_HEADER_LENGTH);
  return IPV4_MIN_HEADER_LENGTH;
}

/** Write a 40-byte IPv6 header at `off` for a packet of `totalLength` bytes (header included). Returns 40. */
export function writeOuterIpv6(buf: Uint8Array, off: number, totalLength: number, p: OuterIpParams): number {
  const tc = (p.tos ?? 0) & 0xff;
  const flow = (p.flowLabel ?? 0) & 0xfffff;
  writeU32(buf, off + IPV6_VERSION_CLASS_FLOW_OFFSET, ((6 << 28) | (tc << 20) | flow) >>> 0);
  writeU16(buf, off + IPV6_PAYLOAD_LENGTH_OFFSET, totalLength - IPV6_HEADER_LENGTH);
  buf[off + IPV6_NEXT_HEADER_OFFSET] = p.protocol;
  buf[off + IPV6_HOP_LIMIT_OFFSET] = p.ttl ?? 64;
  buf.set(p.src.subarray(0, IPV6_ADDRESS_LENGTH), off + IPV6_SRC_OFFSET);
  buf.set(p.dst.subarray(0, IPV6_ADDRESS_LENGTH), off + IPV6_DST_OFFSET);
  return IPV6_HEADER_LENGTH;
}

/** Write an IPv4 or IPv6 outer header, chosen by the source address length. Returns the header length. */
export function writeOuterIp(buf: Uint8Array, off: number, totalLength: number, p: OuterIpParams): number {
  return p.src.length === IPV6_ADDRESS_LENGTH
    ? writeOuterIpv6(buf, off, totalLength, p)
    : writeOuterIpv4(buf, off, totalLength, p);
}

/**
 * The one text form of an address in the project: a dotted quad, or IPv6 compressed per RFC 5952 4.2 (the
 * longest run of two or more zero groups becomes `::`, the first on a tie; lower-case hex).
 */
export function formatIpAddress(buf: Uint8Array, off: number, len: number): string {
  if (len === IPV4_ADDRESS_LENGTH) return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(readU16(buf, off + 2 * i));
  // Longest run of zero words (length >= 2) becomes '::'.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hexw = (a: number[]): string => a.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hexw(words);
  return `${hexw(words.slice(0, bestStart))}::${hexw(words.slice(bestStart + bestLen))}`;
}

/**
 * RFC 768 / RFC 8200 8.1 checksum of a UDP or TCP segment at buf[l4Off, l4Off + l4Len) with the pseudo-header
 * built from the addresses at srcOff/dstOff (4 or 16 bytes each). The segment's checksum field must be 0
 * when this is called. A computed 0 is returned as 0xffff (RFC 768).
 */
export function transportChecksum(
  buf: Uint8Array,
  srcOff: number,
  dstOff: number,
  addressLength: number,
  protocol: number,
  l4Off: number,
  l4Len: number,
): number {
  let sum = onesComplementSum(buf, srcOff, addressLength);
  sum = onesComplementSum(buf, dstOff, addressLength, sum);
  sum += protocol + (l4Len >>> 16) + (l4Len & 0xffff);
  sum = onesComplementSum(buf, l4Off, l4Len, sum);
  const c = ~sum & 0xffff;
  return c === 0 ? 0xffff : c;
}

/** Where the upper-layer header of an unfragmented datagram starts (a reused object: see `locateUpperLayer`). */
export interface UpperLayer {
  /** Offset of the upper-layer header (after the IPv4 header or the IPv6 extension headers). */
  offset: number;
  /** Its protocol number (IPv4 protocol or the last IPv6 next header). */
  protocol: number;
  /** End of the datagram (IP total length), which may be before the end of the buffer. */
  end: number;
}

export function newUpperLayer(): UpperLayer {
  return { offset: 0, protocol: 0, end: 0 };
}

const upperInfo = newIpInfo();
const upperWalk = newIpv6Walk();

/**
 * Find the upper-layer header of the IP datagram at buf[off, end): after the IPv4 header, or after the IPv6
 * hop-by-hop, routing and destination options headers. False for malformed headers and for fragments
 * (IPsec processes datagrams after reassembly, RFC 4303 3.4.1, RFC 4302 3.4.1). Never throws.
 */
export function locateUpperLayer(buf: Uint8Array, off: number, end: number, out: UpperLayer): boolean {
  if (!parseIpHeader(buf, off, end, upperInfo)) return false;
  const dgramEnd = off + upperInfo.totalLength;
  if (upperInfo.version === 4) {
    if ((readU16(buf, off + IPV4_FLAGS_FRAGMENT_OFFSET) & (IPV4_FLAG_MF | IPV4_FRAGMENT_OFFSET_MASK)) !== 0) {
      return false;
    }
    out.offset = off + upperInfo.headerLength;
    out.protocol = upperInfo.protocol;
  } else {
    if (!walkIpv6Headers(buf, off, dgramEnd, upperWalk) || upperWalk.fragment) return false;
    out.offset = upperWalk.upperOffset;
    out.protocol = upperWalk.upperProtocol;
  }
  out.end = dgramEnd;
  return true;
}
