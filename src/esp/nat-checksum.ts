/**
 * Transport mode behind a NAT (RFC 3948 3.1.2): the peer computed its TCP/UDP checksum over a pseudo-header
 * with its own (private) address, but the IP header rebuilt on receipt carries the addresses seen on the wire
 * (the NAT's). The receiver may fix the checksum incrementally from the NAT-OA addresses or recompute it; we
 * recompute it over the rebuilt header (ESP's ICV already vouches for the payload). An IPv4 UDP checksum of 0
 * (none, RFC 768) stays 0. Fragments and other protocols are left alone.
 */
import {
  IPV4_DST_OFFSET,
  IPV4_SRC_OFFSET,
  IPV6_DST_OFFSET,
  IPV6_SRC_OFFSET,
  IpProto,
  locateUpperLayer,
  readU16,
  transportChecksum,
  writeU16,
} from '../common/ip.js';
import type { UpperLayer } from '../common/ip.js';

const TCP_CHECKSUM_OFFSET = 16;
const TCP_MIN_HEADER_LENGTH = 20;
const UDP_CHECKSUM_OFFSET = 6;
const UDP_HEADER_LENGTH = 8;

const upper: UpperLayer = { offset: 0, protocol: 0, end: 0 };

/** Recompute the TCP or UDP checksum of the IP packet at buf[off, off + len) over its own addresses. */
export function fixTransportChecksum(buf: Uint8Array, off: number, len: number): void {
  if (!locateUpperLayer(buf, off, off + len, upper)) return;
  const v4 = (buf[off] ?? 0) >> 4 === 4;
  const l4Len = upper.end - upper.offset;
  let at: number;
  if (upper.protocol === IpProto.TCP && l4Len >= TCP_MIN_HEADER_LENGTH) at = upper.offset + TCP_CHECKSUM_OFFSET;
  else if (upper.protocol === IpProto.UDP && l4Len >= UDP_HEADER_LENGTH) {
    at = upper.offset + UDP_CHECKSUM_OFFSET;
    if (v4 && readU16(buf, at) === 0) return;
  } else return;
  writeU16(buf, at, 0);
  const sum = v4
    ? transportChecksum(buf, off + IPV4_SRC_OFFSET, off + IPV4_DST_OFFSET, 4, upper.protocol, upper.offset, l4Len)
    : transportChecksum(buf, off + IPV6_SRC_OFFSET, off + IPV6_DST_OFFSET, 16, upper.protocol, upper.offset, l4Len);
  writeU16(buf, at, sum);
}
