/**
 * ESP-in-UDP (RFC 3948 2.1): the UDP header in front of an ESP packet. Classifying what arrives on the NAT-T
 * port is `classifyNatTPayload` (src/common/nat-t.ts); the non-ESP marker belongs to the socket layer.
 */

import {
  UDP_CHECKSUM_OFFSET,
  UDP_DST_PORT_OFFSET,
  UDP_HEADER_LENGTH,
  UDP_LENGTH_OFFSET,
  UDP_SRC_PORT_OFFSET,
} from './constants.js';
import { writeU16 } from '../common/ip.js';

/**
 * Write an 8-byte UDP header at `off` for a payload of `payloadLength` bytes. The checksum is left 0, as
 * RFC 3948 3.1 says for ESP-in-UDP over IPv4; over IPv6 the caller must fill it (see `udpChecksumIpv6`).
 */
export function writeUdpHeader(buf: Uint8Array, off: number, srcPort: number, dstPort: number, payloadLength: number) {
  writeU16(buf, off + UDP_SRC_PORT_OFFSET, srcPort);
  writeU16(buf, off + UDP_DST_PORT_OFFSET, dstPort);
  writeU16(buf, off + UDP_LENGTH_OFFSET, UDP_HEADER_LENGTH + payloadLength);
  writeU16(buf, off + UDP_CHECKSUM_OFFSET, 0);
}
