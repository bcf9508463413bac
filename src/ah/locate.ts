/**
 * Find the AH in a received IP datagram, so the data plane can read its SPI, pick the inbound SA and call
 * `AhInboundSa.open(pkt)`: after the IPv4 header (protocol 51) or after the IPv6 hop-by-hop, routing and
 * destination options headers (next header 51, RFC 4302 3.1.1). Fragments are not located (RFC 4302 3.4.1:
 * AH is processed after reassembly).
 */

import { IpProto, locateUpperLayer, newUpperLayer, readU32 } from '../common/ip.js';
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

const upper = newUpperLayer();

/**
 * Locate the AH of the IP datagram at buf[off, end). Returns false for anything that is not an unfragmented
 * datagram whose headers lead to at least the fixed part of an AH.
 */
export function locateAh(buf: Uint8Array, off: number, end: number, out: AhLocation): boolean {
  if (!locateUpperLayer(buf, off, end, upper) || upper.protocol !== IpProto.AH) return false;
  if (upper.offset + AH_FIXED_LENGTH > upper.end) return false;
  out.ahOff = upper.offset;
  out.spi = readU32(buf, upper.offset + AH_SPI_OFFSET);
  out.end = upper.end;
  return true;
}
