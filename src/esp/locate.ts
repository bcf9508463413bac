/**
 * Find the ESP header in a received IP datagram: after the IPv4 header (protocol 50), after the IPv6
 * extension headers (next header 50), or behind a UDP header on port 4500 (RFC 3948 2.1). The data plane
 * reads the SPI there to find the SA, then calls `EspInboundSa.open(pkt, espOff)`.
 */

import { IpProto, locateUpperLayer, newUpperLayer, readU16, readU32 } from '../common/ip.js';
import { classifyNatTPayload, NAT_T_PORT } from '../common/nat-t.js';
import { ESP_HEADER_LENGTH, ESP_SPI_OFFSET, UDP_DST_PORT_OFFSET, UDP_HEADER_LENGTH } from './constants.js';

/** Where the ESP header is and how it was carried (reused object: see `locateEsp`). */
export interface EspLocation {
  /** Offset of the ESP header. */
  espOff: number;
  /** The SPI found there. */
  spi: number;
  /** True when it came in UDP (RFC 3948). */
  udp: boolean;
  /** End of the datagram (IP total length), which may be before the end of the buffer. */
  end: number;
}

export function newEspLocation(): EspLocation {
  return { espOff: 0, spi: 0, udp: false, end: 0 };
}

const upper = newUpperLayer();

/**
 * Locate the ESP header of the IP datagram at buf[off, end). Returns false for anything that is not an
 * unfragmented ESP (or ESP-in-UDP to port 4500) datagram: a keepalive, IKE with the non-ESP marker, a
 * fragment, truncated headers.
 */
export function locateEsp(buf: Uint8Array, off: number, end: number, out: EspLocation): boolean {
  if (!locateUpperLayer(buf, off, end, upper)) return false;
  const dgramEnd = upper.end;
  const l4 = upper.offset;
  const proto = upper.protocol;
  let espOff: number;
  let udp = false;
  if (proto === IpProto.ESP) {
    espOff = l4;
  } else if (proto === IpProto.UDP) {
    if (l4 + UDP_HEADER_LENGTH > dgramEnd || readU16(buf, l4 + UDP_DST_PORT_OFFSET) !== NAT_T_PORT) return false;
    espOff = l4 + UDP_HEADER_LENGTH;
    if (classifyNatTPayload(buf, espOff, dgramEnd - espOff) !== 'esp') return false;
    udp = true;
  } else {
    return false;
  }
  if (espOff + ESP_HEADER_LENGTH > dgramEnd) return false;
  out.espOff = espOff;
  out.spi = readU32(buf, espOff + ESP_SPI_OFFSET);
  out.udp = udp;
  out.end = dgramEnd;
  return true;
}
