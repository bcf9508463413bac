/**
 * ESP packet layout (RFC 4303 2, figure 1) and ESP-in-UDP constants (RFC 3948):
 *
 *   SPI (4) | Sequence Number (4) | IV (0/8/16) | Payload Data ... | TFC padding | Padding (0..255)
 *   | Pad Length (1) | Next Header (1) | ICV (0..32)
 *
 * Offsets are relative to the first byte of the ESP header.
 */

import { writeU32 } from '../common/ip.js';

export const ESP_SPI_OFFSET = 0;
export const ESP_SEQ_OFFSET = 4;
/** SPI + sequence number. */
export const ESP_HEADER_LENGTH = 8;
/** Where the IV (and then the payload) starts. */
export const ESP_IV_OFFSET = ESP_HEADER_LENGTH;
/** Pad Length + Next Header (RFC 4303 2.5, 2.6). */
export const ESP_TRAILER_LENGTH = 2;
/** RFC 4303 2.4: the Pad Length and Next Header fields must end on a 4-byte boundary. */
export const ESP_MIN_ALIGN = 4;
/** RFC 4303 2.4: at most 255 bytes of padding. */
export const ESP_MAX_PAD = 255;
/** SPI values 1..255 are reserved by IANA (RFC 4303 2.1); 0 is never used on the wire. */
export const ESP_SPI_RESERVED_MAX = 255;

/** RFC 4303 2.6: next header 59 ("no next header") marks a dummy packet. */
export const ESP_NEXT_HEADER_DUMMY = 59;

export const UDP_HEADER_LENGTH = 8;
export const UDP_SRC_PORT_OFFSET = 0;
export const UDP_DST_PORT_OFFSET = 2;
export const UDP_LENGTH_OFFSET = 4;
export const UDP_CHECKSUM_OFFSET = 6;

/** 2^32, the modulus of the on-the-wire sequence number. */
export const SEQ_MODULUS = 0x1_0000_0000;

/**
 * AEAD additional authenticated data (RFC 4106 5, RFC 4309 5, RFC 4543 3.2, RFC 7634 2.1):
 * SPI || seq (8 bytes), or with ESN SPI || seq high || seq low (12 bytes).
 */
export const ESP_AAD_SPI_OFFSET = 0;
export const ESP_AAD_SEQ_OFFSET = 4;
export const ESP_AAD_ESN_HIGH_OFFSET = 4;
export const ESP_AAD_ESN_LOW_OFFSET = 8;
export const ESP_AAD_LENGTH = 8;
export const ESP_AAD_ESN_LENGTH = 12;
/** RFC 4303 2.2.1: the high 32 bits appended to the ICV input with ESN (not transmitted). */
export const ESP_ESN_HIGH_LENGTH = 4;

/** Fill the AEAD AAD for one packet (aad is ESP_AAD_LENGTH or ESP_AAD_ESN_LENGTH bytes). */
export function writeEspAad(aad: Uint8Array, spi: number, seqHigh: number, seqLow: number, esn: boolean): void {
  writeU32(aad, ESP_AAD_SPI_OFFSET, spi);
  if (esn) {
    writeU32(aad, ESP_AAD_ESN_HIGH_OFFSET, seqHigh);
    writeU32(aad, ESP_AAD_ESN_LOW_OFFSET, seqLow);
  } else {
    writeU32(aad, ESP_AAD_SEQ_OFFSET, seqLow);
  }
}
