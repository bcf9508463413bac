/**
 * DSCP and ECN across a tunnel (RFC 4301 5.1.2.1, RFC 6040 normal mode), for tunnel-mode ESP.
 *
 * Encapsulation: the outer header gets the inner DSCP (RFC 4301 5.1.2.1 allows copying it) and the inner ECN
 * field unchanged (RFC 6040 4.1, normal mode), so congestion marks on the way are seen at the far end.
 * Decapsulation (RFC 6040 4.2, Figure 4): the inner ECN field is combined with the outer one; the inner DSCP
 * is kept.
 *
 *   inner \ outer   Not-ECT   ECT(0)    ECT(1)    CE
 *   Not-ECT         Not-ECT   Not-ECT   Not-ECT   drop
 *   ECT(0)          ECT(0)    ECT(0)    ECT(1)    CE
 *   ECT(1)          ECT(1)    ECT(1)    ECT(1)    CE
 *   CE              CE        CE        CE        CE
 *
 * Pure functions over header bytes; an IPv4 inner header gets its checksum updated incrementally (RFC 1624).
 */
import {
  IPV4_CHECKSUM_OFFSET,
  IPV4_TOS_OFFSET,
  IPV6_VERSION_CLASS_FLOW_OFFSET,
  readU16,
  writeU16,
} from '../common/ip.js';

/** ECN codepoints (RFC 3168 5): the two low bits of the IPv4 TOS / IPv6 Traffic Class. */
export const Ecn = { NOT_ECT: 0, ECT_1: 1, ECT_0: 2, CE: 3 } as const;
export const ECN_MASK = 0x03;

/** The TOS (IPv4) or Traffic Class (IPv6) of the IP packet at `off`; 0 for anything else. */
export function readTrafficClass(buf: Uint8Array, off: number, len: number): number {
  if (len < 2) return 0;
  const version = (buf[off] ?? 0) >> 4;
  if (version === 4) return buf[off + IPV4_TOS_OFFSET] ?? 0;
  if (version === 6) return (readU16(buf, off + IPV6_VERSION_CLASS_FLOW_OFFSET) >> 4) & 0xff;
  return 0;
}

/** Set the TOS / Traffic Class of the IP packet at `off` (IPv4: header checksum updated incrementally). */
export function writeTrafficClass(buf: Uint8Array, off: number, tc: number): void {
  const version = (buf[off] ?? 0) >> 4;
  if (version === 4) {
    const old = readU16(buf, off); // version/IHL and TOS share one 16-bit word of the checksum
    buf[off + IPV4_TOS_OFFSET] = tc & 0xff;
    const now = readU16(buf, off);
    // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')
    let sum = (~readU16(buf, off + IPV4_CHECKSUM_OFFSET) & 0xffff) + (~old & 0xffff) + now;
    sum = (sum & 0xffff) + (sum >>> 16);
    sum = (sum & 0xffff) + (sum >>> 16);
    writeU16(buf, off + IPV4_CHECKSUM_OFFSET, ~sum & 0xffff);
  } else if (version === 6) {
    const w = readU16(buf, off + IPV6_VERSION_CLASS_FLOW_OFFSET);
    writeU16(buf, off + IPV6_VERSION_CLASS_FLOW_OFFSET, (w & 0xf00f) | ((tc & 0xff) << 4));
  }
}

/** The outer TOS / Traffic Class for an inner one: DSCP copied, ECN copied (RFC 6040 normal mode). */
export function outerTrafficClass(innerTc: number): number {
  return innerTc & 0xff;
}

/** The inner ECN field after decapsulation (RFC 6040 Figure 4), or -1 when the packet must be dropped. */
export function decapsulatedEcn(outerEcn: number, innerEcn: number): number {
  const outer = outerEcn & ECN_MASK;
  const inner = innerEcn & ECN_MASK;
  if (inner === Ecn.NOT_ECT) return outer === Ecn.CE ? -1 : Ecn.NOT_ECT;
  if (outer === Ecn.CE || inner === Ecn.CE) return Ecn.CE;
  if (outer === Ecn.ECT_1) return Ecn.ECT_1;
  return inner;
}

/**
 * Apply RFC 6040 decapsulation to the inner packet at `off` given the outer TOS / Traffic Class. False when
 * the combination says drop (outer CE over a Not-ECT inner packet: the congestion mark cannot be passed on).
 */
export function decapsulateEcn(buf: Uint8Array, off: number, len: number, outerTc: number): boolean {
  const tc = readTrafficClass(buf, off, len);
  const ecn = decapsulatedEcn(outerTc, tc);
  if (ecn < 0) return false;
  if (ecn !== (tc & ECN_MASK)) writeTrafficClass(buf, off, (tc & ~ECN_MASK) | ecn);
  return true;
}
