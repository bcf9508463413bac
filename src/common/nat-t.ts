/**
 * The UDP ports of IKE and the framing facts of NAT traversal, owned here and nowhere else.
 * RFC 7296 2 (port 500), RFC 3948 2 (port 4500, the non-ESP marker, the NAT-keepalive).
 */

/** RFC 7296 2: IKE messages travel over UDP port 500. */
export const IKE_PORT = 500;
/** RFC 3948 2: UDP port for ESP-in-UDP and for IKE once NAT traversal floated to it. */
export const NAT_T_PORT = 4500;
/**
 * RFC 3948 2.2: on the NAT-T port an IKE message follows four zero bytes (an SPI of 0, which ESP never
 * uses). Only the socket layer (src/io/) adds or removes it; the IKE engine sees plain IKE messages.
 */
export const NON_ESP_MARKER_LENGTH = 4;
/** RFC 3948 2.3: a NAT-keepalive is a single 0xFF byte. */
export const NAT_KEEPALIVE_BYTE = 0xff;
export const NAT_KEEPALIVE_LENGTH = 1;
/** Smallest ESP-in-UDP payload worth handing on: SPI and sequence number (RFC 4303 2). */
const ESP_MIN_PAYLOAD_LENGTH = 8;

export type NatTPayloadKind = 'keepalive' | 'ike' | 'esp' | 'invalid';

/**
 * Classify the UDP payload buf[off, off + len) received on the NAT-T port (RFC 3948 2):
 * - 'keepalive': exactly one 0xFF byte (2.3);
 * - 'ike': the non-ESP marker followed by at least one byte of IKE message (2.2);
 * - 'esp': at least an SPI and a sequence number, the SPI non-zero (2.1);
 * - 'invalid': anything else (too short, a lone marker, a one-byte payload other than 0xFF).
 */
export function classifyNatTPayload(buf: Uint8Array, off: number, len: number): NatTPayloadKind {
  if (len === NAT_KEEPALIVE_LENGTH) return buf[off] === NAT_KEEPALIVE_BYTE ? 'keepalive' : 'invalid';
  if (len < NON_ESP_MARKER_LENGTH) return 'invalid';
  if (buf[off] === 0 && buf[off + 1] === 0 && buf[off + 2] === 0 && buf[off + 3] === 0)
    return len > NON_ESP_MARKER_LENGTH ? 'ike' : 'invalid';
  return len >= ESP_MIN_PAYLOAD_LENGTH ? 'esp' : 'invalid';
}
