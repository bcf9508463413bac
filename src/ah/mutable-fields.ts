/**
 * Preparing the IP header part of the AH ICV input (RFC 4302 3.3.3.1): on a scratch copy of the bytes from
 * the IP header up to the AH, mutable fields are zeroed and mutable-but-predictable fields are set to the
 * value they will have at the final destination. The packet itself is never touched here.
 *
 * IPv4 (3.3.3.1.1, Appendix A.1): TOS (DSCP and ECN), Flags, Fragment Offset, TTL and Header Checksum are
 * zeroed. Options are taken as units: the immutable ones of Appendix A.1 stay, every other option (the
 * mutable, experimental and superseded ones, and any option the table does not list) is zeroed whole,
 * type and length included. With a loose or strict source route still in progress, the destination is the
 * last address of the route.
 *
 * IPv6 (3.3.3.1.2, Appendix A.2): Traffic Class, Flow Label and Hop Limit are zeroed. In hop-by-hop and
 * destination options headers in front of AH, the data of every option whose type has the "may change en
 * route" bit (RFC 8200 4.2, 0x20) is zeroed, type and length kept. A type 0 routing header (and the type 2
 * header of RFC 6275, which works the same way with one address) is rearranged to what the final
 * destination will see: the destination address becomes the last address, the addresses still to visit
 * move up one place with the current destination in front of them, and Segments Left becomes 0.
 */

import {
  IPV4_CHECKSUM_OFFSET,
  IPV4_FLAGS_FRAGMENT_OFFSET,
  IPV4_MIN_HEADER_LENGTH,
  IPV4_TOS_OFFSET,
  IPV4_TTL_OFFSET,
  IPV4_DST_OFFSET,
  IPV4_ADDRESS_LENGTH,
  IPV6_DST_OFFSET,
  IPV6_ADDRESS_LENGTH,
  IPV6_HEADER_LENGTH,
  IPV6_HOP_LIMIT_OFFSET,
  IPV6_NEXT_HEADER_OFFSET,
  IPV6_VERSION_CLASS_FLOW_OFFSET,
  IpProto,
} from '../common/ip.js';

/**
 * IPv4 option types (the whole type octet: copy flag, class, number) that RFC 4302 Appendix A.1 lists as
 * immutable and so includes in the ICV.
 */
export const Ipv4OptionType = {
  /** End of Option List (RFC 791). */
  EOOL: 0,
  /** No Operation (RFC 791). */
  NOP: 1,
  /** Security (RFC 1108). */
  SEC: 130,
  /** Loose Source Route (RFC 791): mutable. */
  LSRR: 131,
  /** Extended Security (RFC 1108). */
  E_SEC: 133,
  /** Commercial Security (CIPSO). */
  CIPSO: 134,
  /** Record Route (RFC 791): mutable. */
  RR: 7,
  /** Strict Source Route (RFC 791): mutable. */
  SSRR: 137,
  /** Time Stamp (RFC 791): mutable. */
  TS: 68,
  /** Router Alert (RFC 2113). */
  RTRALT: 148,
  /** Sender Directed Multi-Destination Delivery (RFC 1770). */
  SDB: 149,
} as const;

const IPV4_OPTION_TYPE_OFFSET = 0;
const IPV4_OPTION_LENGTH_OFFSET = 1;
/** RFC 791 source routes: type, length, pointer, then addresses. */
const IPV4_ROUTE_POINTER_OFFSET = 2;
const IPV4_ROUTE_MIN_LENGTH = 3 + IPV4_ADDRESS_LENGTH;

/** RFC 4302 Appendix A.1, "IMMUTABLE -- included in ICV calculation". */
export function isImmutableIpv4Option(type: number): boolean {
  return (
    type === Ipv4OptionType.SEC ||
    type === Ipv4OptionType.E_SEC ||
    type === Ipv4OptionType.CIPSO ||
    type === Ipv4OptionType.RTRALT ||
    type === Ipv4OptionType.SDB
  );
}

/**
 * Zero the mutable fields of the IPv4 header of `headerLength` bytes at `off` in place (a scratch copy).
 * Returns false when the options are malformed (an option length below 2 or past the header, or a source
 * route too short to hold an address).
 */
export function zeroIpv4MutableFields(b: Uint8Array, off: number, headerLength: number): boolean {
  b[off + IPV4_TOS_OFFSET] = 0;
  b[off + IPV4_FLAGS_FRAGMENT_OFFSET] = 0;
  b[off + IPV4_FLAGS_FRAGMENT_OFFSET + 1] = 0;
  b[off + IPV4_TTL_OFFSET] = 0;
  b[off + IPV4_CHECKSUM_OFFSET] = 0;
  b[off + IPV4_CHECKSUM_OFFSET + 1] = 0;
  const end = off + headerLength;
  let p = off + IPV4_MIN_HEADER_LENGTH;
  while (p < end) {
    const type = b[p + IPV4_OPTION_TYPE_OFFSET] ?? 0;
    // RFC 791: after End of Option List only padding follows; it is sent and received as is.
    if (type === Ipv4OptionType.EOOL) return true;
    if (type === Ipv4OptionType.NOP) {
      p++;
      continue;
    }
    if (p + IPV4_OPTION_LENGTH_OFFSET >= end) return false;
    const len = b[p + IPV4_OPTION_LENGTH_OFFSET] ?? 0;
    if (len < 2 || p + len > end) return false;
    if (!isImmutableIpv4Option(type)) {
      if (type === Ipv4OptionType.LSRR || type === Ipv4OptionType.SSRR) {
        if (len < IPV4_ROUTE_MIN_LENGTH) return false;
        // RFC 791 3.1: the pointer is 1-based into the option; past the length the route is complete and
        // the destination field already holds the final destination.
        const pointer = b[p + IPV4_ROUTE_POINTER_OFFSET] ?? 0;
        if (pointer <= len) b.copyWithin(off + IPV4_DST_OFFSET, p + len - IPV4_ADDRESS_LENGTH, p + len);
      }
      b.fill(0, p, p + len);
    }
    p += len;
  }
  return true;
}

const IPV6_EXT_NEXT_HEADER_OFFSET = 0;
const IPV6_EXT_LENGTH_OFFSET = 1;
const IPV6_EXT_LENGTH_UNIT = 8;
/** Options start after next header and length (RFC 8200 4.3, 4.6). */
const IPV6_OPTIONS_START = 2;
const IPV6_OPTION_PAD1 = 0;
/** RFC 8200 4.2: third-highest bit of the option type, "option data may change en route". */
export const IPV6_OPTION_MUTABLE_BIT = 0x20;
/** RFC 8200 4.4: routing header fields. */
const IPV6_ROUTING_TYPE_OFFSET = 2;
const IPV6_ROUTING_SEGMENTS_LEFT_OFFSET = 3;
/** RFC 2460 4.4 (type 0) and RFC 6275 6.4 (type 2): addresses start after 4 reserved bytes. */
const IPV6_ROUTING_ADDRESSES_OFFSET = 8;
export const IPV6_ROUTING_TYPE_0 = 0;
export const IPV6_ROUTING_TYPE_2 = 2;

/** Scratch for one address while rearranging a routing header (single-threaded, never escapes). */
const finalAddress = new Uint8Array(IPV6_ADDRESS_LENGTH);

/** Zero the data of mutable options in the options header at [p, end) (RFC 4302 3.3.3.1.2.1). */
function zeroMutableIpv6Options(b: Uint8Array, p: number, end: number): boolean {
  let q = p + IPV6_OPTIONS_START;
  while (q < end) {
    const type = b[q] ?? 0;
    if (type === IPV6_OPTION_PAD1) {
      q++;
      continue;
    }
    if (q + 2 > end) return false;
    const len = b[q + 1] ?? 0;
    if (q + 2 + len > end) return false;
    if ((type & IPV6_OPTION_MUTABLE_BIT) !== 0) b.fill(0, q + 2, q + 2 + len);
    q += 2 + len;
  }
  return true;
}

/** Rewrite a routing header at [p, end) and the destination as the final destination sees them. */
function rearrangeRoutingHeader(b: Uint8Array, off: number, p: number, end: number): boolean {
  const segmentsLeft = b[p + IPV6_ROUTING_SEGMENTS_LEFT_OFFSET] ?? 0;
  if (segmentsLeft === 0) return true;
  const type = b[p + IPV6_ROUTING_TYPE_OFFSET] ?? 0;
  // Other routing types do not say where the packet ends up in a way RFC 4302 covers.
  if (type !== IPV6_ROUTING_TYPE_0 && type !== IPV6_ROUTING_TYPE_2) return false;
  const addrBytes = end - p - IPV6_ROUTING_ADDRESSES_OFFSET;
  if (addrBytes <= 0 || addrBytes % IPV6_ADDRESS_LENGTH !== 0) return false;
  const n = addrBytes / IPV6_ADDRESS_LENGTH;
  if (segmentsLeft > n) return false;
  const addr = p + IPV6_ROUTING_ADDRESSES_OFFSET;
  const dst = off + IPV6_DST_OFFSET;
  const first = addr + (n - segmentsLeft) * IPV6_ADDRESS_LENGTH;
  const last = addr + (n - 1) * IPV6_ADDRESS_LENGTH;
  finalAddress.set(b.subarray(last, last + IPV6_ADDRESS_LENGTH));
  b.copyWithin(first + IPV6_ADDRESS_LENGTH, first, last);
  b.copyWithin(first, dst, dst + IPV6_ADDRESS_LENGTH);
  b.set(finalAddress, dst);
  b[p + IPV6_ROUTING_SEGMENTS_LEFT_OFFSET] = 0;
  return true;
}

/**
 * Zero or predict the mutable fields of an IPv6 header at `off` followed by extension headers up to
 * `ahOff`, in place (a scratch copy). The header chain must lead exactly to an AH at `ahOff` through
 * hop-by-hop, routing and destination options headers only; a fragment header (AH is applied before
 * fragmentation and checked after reassembly, RFC 4302 3.3.4, 3.4.1) or any other header makes it return
 * false, as do malformed options or an unsupported routing header with segments left.
 */
export function zeroIpv6MutableFields(b: Uint8Array, off: number, ahOff: number): boolean {
  const v = (b[off + IPV6_VERSION_CLASS_FLOW_OFFSET] ?? 0) & 0xf0;
  b[off + IPV6_VERSION_CLASS_FLOW_OFFSET] = v;
  b[off + IPV6_VERSION_CLASS_FLOW_OFFSET + 1] = 0;
  b[off + IPV6_VERSION_CLASS_FLOW_OFFSET + 2] = 0;
  b[off + IPV6_VERSION_CLASS_FLOW_OFFSET + 3] = 0;
  b[off + IPV6_HOP_LIMIT_OFFSET] = 0;
  let nh = b[off + IPV6_NEXT_HEADER_OFFSET] ?? 0;
  let p = off + IPV6_HEADER_LENGTH;
  while (p < ahOff) {
    if (p + 2 > ahOff) return false;
    const len = ((b[p + IPV6_EXT_LENGTH_OFFSET] ?? 0) + 1) * IPV6_EXT_LENGTH_UNIT;
    const end = p + len;
    if (end > ahOff) return false;
    if (nh === IpProto.HOPOPT || nh === IpProto.IPV6_OPTS) {
      if (!zeroMutableIpv6Options(b, p, end)) return false;
    } else if (nh === IpProto.IPV6_ROUTE) {
      if (!rearrangeRoutingHeader(b, off, p, end)) return false;
    } else {
      return false;
    }
    nh = b[p + IPV6_EXT_NEXT_HEADER_OFFSET] ?? 0;
    p = end;
  }
  return p === ahOff && nh === IpProto.AH;
}
