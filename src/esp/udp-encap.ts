/**
 * ESP-in-UDP (RFC 3948): what arrives on UDP port 4500 is a NAT-keepalive (2.3), an IKE message behind the
 * non-ESP marker (2.2), or an ESP packet (2.1, the SPI is never zero). Pure functions over the UDP payload.
 */

import {
  ESP_HEADER_LENGTH,
  NAT_KEEPALIVE_BYTE,
  NON_ESP_MARKER_LENGTH,
  UDP_CHECKSUM_OFFSET,
  UDP_DST_PORT_OFFSET,
  UDP_HEADER_LENGTH,
  UDP_LENGTH_OFFSET,
  UDP_SRC_PORT_OFFSET,
} from './constants.js';
import { writeU16 } from '../common/ip.js';

export type UdpPayloadKind = 'keepalive' | 'ike' | 'esp' | 'invalid';

/**
 * Classify the UDP payload buf[off, off + len) received on port 4500:
 * - 'keepalive': exactly one 0xFF byte (RFC 3948 2.3);
 * - 'ike': starts with the 4-byte non-ESP marker (zero SPI); the IKE message follows it;
 * - 'esp': at least an ESP header with a non-zero SPI;
 * - 'invalid': anything else (too short, empty).
 */
export function classifyUdpPayload(buf: Uint8Array, off: number, len: number): UdpPayloadKind {
  if (len === 1 && buf[off] === NAT_KEEPALIVE_BYTE) return 'keepalive';
  if (len < NON_ESP_MARKER_LENGTH) return 'invalid';
  const zero = buf[off] === 0 && buf[off + 1] === 0 && buf[off + 2] === 0 && buf[off + 3] === 0;
  if (zero) return 'ike';
  return len >= ESP_HEADER_LENGTH ? 'esp' : 'invalid';
}

/** Bytes needed in front of an IKE message sent on port 4500. */
export const IKE_MARKER_LENGTH = NON_ESP_MARKER_LENGTH;

/**
 * Write the non-ESP marker in the 4 bytes before an IKE message at buf[off] (the caller leaves that room)
 * and return the offset where the UDP payload now starts (off - 4).
 */
export function prependNonEspMarker(buf: Uint8Array, off: number): number {
  const start = off - NON_ESP_MARKER_LENGTH;
  if (start < 0) throw new RangeError('no room for the non-ESP marker');
  buf.fill(0, start, off);
  return start;
}

/** A fresh buffer holding marker || ikeMessage (for the IKE side, which is not per-packet hot). */
export function frameIkeForNatT(ikeMessage: Uint8Array): Buffer {
  const out = Buffer.alloc(NON_ESP_MARKER_LENGTH + ikeMessage.length);
  out.set(ikeMessage, NON_ESP_MARKER_LENGTH);
  return out;
}

/** The IKE message inside a UDP/4500 payload classified 'ike' (a view, no copy). */
export function ikeFromNatT(payload: Uint8Array): Uint8Array {
  return payload.subarray(NON_ESP_MARKER_LENGTH);
}

/** The NAT-keepalive payload (RFC 3948 2.3). */
export function natKeepalive(): Buffer {
  return Buffer.from([NAT_KEEPALIVE_BYTE]);
}

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
