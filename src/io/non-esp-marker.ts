/**
 * Demultiplexing UDP datagrams on the NAT-T port, RFC 3948 section 2:
 * - a single 0xFF byte is a NAT-keepalive (2.3);
 * - four zero bytes (the non-ESP marker, where an SPI of 0 can never occur) precede an IKE message (2.2);
 * - anything else is ESP-in-UDP, starting with the SPI (2.1).
 */
import { DatagramKind } from './types.js';

export const NON_ESP_MARKER_BYTES = 4;
export const NAT_KEEPALIVE_BYTE = 0xff;
export const NAT_KEEPALIVE_BYTES = 1;
/** Smallest ESP-in-UDP payload worth handing on: SPI and sequence number (RFC 4303 2). */
export const ESP_MIN_HEADER_BYTES = 8;

/** Classify a datagram received on a NAT-T port. */
export function classifyNatTDatagram(buf: Uint8Array, offset: number, length: number): DatagramKind {
  if (length === NAT_KEEPALIVE_BYTES) {
    return buf[offset] === NAT_KEEPALIVE_BYTE ? DatagramKind.KEEPALIVE : DatagramKind.INVALID;
  }
  if (length < NON_ESP_MARKER_BYTES) return DatagramKind.INVALID;
  if (buf[offset] === 0 && buf[offset + 1] === 0 && buf[offset + 2] === 0 && buf[offset + 3] === 0) {
    return length > NON_ESP_MARKER_BYTES ? DatagramKind.IKE : DatagramKind.INVALID;
  }
  return length >= ESP_MIN_HEADER_BYTES ? DatagramKind.ESP : DatagramKind.INVALID;
}
