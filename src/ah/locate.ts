/**
 * Find the AH in a received IP datagram, so the data plane can read its SPI, pick the inbound SA and call
 * `AhInboundSa.open(pkt)`: after the IPv4 header (protocol 51) or after the IPv6 hop-by-hop, routing and
 * destination options headers (next header 51, RFC 4302 3.1.1). Fragments are not located (RFC 4302 3.4.1:
 * AH is processed after reassembly).
 */

import {
  IPV4_FLAGS_FRAGMENT_OFFSET,
  IPV4_FLAG_MF,
  IPV4_FRAGMENT_OFFSET_MASK,
  IpProto,
  newIpInfo,
  newIpv6Walk,
  parseIpHeader,
  readU16,
  readU32,
  walkIpv6Headers,
} from '../common/ip.js';
import { AH_FIXED_LENGTH, AH_SPI_OFFSET } from './ah-header.js';

/** Where the AH is (reused object: see `locateAh`). */
export interface AhLocation {
  /** Offset of the AH. */
  ahOff: number;
  /** The SPI found there. */
  spi: number;
  /** End of the datagram (IP total length), which may be before the end of the buffer. */
  end: number;
}

export function newAhLocation(): AhLocation {
  return { ahOff: 0, spi: 0, end: 0 };
}

const info = newIpInfo();
const walk = newIpv6Walk();

/**
 * Locate the AH of the IP datagram at buf[off, end). Returns false for anything that is not an unfragmented
 * datagram whose headers lead to at least the fixed part of an AH.
 */
export function locateAh(buf: Uint8Array, off: number, end: number, out: AhLocation): boolean {
  if (!parseIpHeader(buf, off, end, info)) return false;
  const dgramEnd = off + info.totalLength;
  let ahOff: number;
  if (info.version === 4) {
    if ((readU16(buf, off + IPV4_FLAGS_FRAGMENT_OFFSET) & (IPV4_FLAG_MF | IPV4_FRAGMENT_OFFSET_MASK)) !== 0) {
      return false;
    }
    if (info.protocol !== IpProto.AH) return false;
    ahOff = off + info.headerLength;
  } else {
    if (!walkIpv6Headers(buf, off, dgramEnd, walk) || walk.fragment) return false;
    if (walk.upperProtocol !== IpProto.AH) return false;
    ahOff = walk.upperOffset;
  }
  if (ahOff + AH_FIXED_LENGTH > dgramEnd) return false;
  out.ahOff = ahOff;
  out.spi = readU32(buf, ahOff + AH_SPI_OFFSET);
  out.end = dgramEnd;
  return true;
}
