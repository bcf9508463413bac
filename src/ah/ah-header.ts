/**
 * The Authentication Header (RFC 4302 2): layout, lengths and a bounds-checked codec.
 *
 *    0                   1                   2                   3
 *   +---------------+---------------+-------------------------------+
 *   | Next Header   |  Payload Len  |          RESERVED             |
 *   +---------------+---------------+-------------------------------+
 *   |                 Security Parameters Index (SPI)               |
 *   +---------------------------------------------------------------+
 *   |                    Sequence Number Field                      |
 *   +---------------------------------------------------------------+
 *   |                Integrity Check Value-ICV (variable)           |
 *   +---------------------------------------------------------------+
 *
 * The ICV field holds, in order: the per-packet IV when the algorithm has one (AES-GMAC, RFC 4543: 8 bytes
 * right after the Sequence Number), the truncated ICV, and padding up to a multiple of 4 bytes (IPv4) or 8
 * bytes (IPv6) of the whole AH (RFC 4302 2.6, 3.3.3.2.1). For the ICV computation the IV and the ICV are
 * zero while the padding is included as sent ("these padding bytes are included in the ICV calculation").
 *
 * Placing the AES-GMAC IV at the start of the ICV field and zeroing it for the computation (it enters GMAC as
 * part of the nonce) follows RFC 4543 as implemented by illumos; Linux has no AH-GMAC to compare with.
 */

import { ParseError } from '../common/errors.js';
import { readU32, writeU16, writeU32 } from '../common/ip.js';

export const AH_NEXT_HEADER_OFFSET = 0;
export const AH_PAYLOAD_LENGTH_OFFSET = 1;
export const AH_RESERVED_OFFSET = 2;
export const AH_SPI_OFFSET = 4;
export const AH_SEQ_OFFSET = 8;
/** First byte of the ICV field (IV, ICV and padding). */
export const AH_ICV_FIELD_OFFSET = 12;
/** Next Header, Payload Len, Reserved, SPI and Sequence Number. */
export const AH_FIXED_LENGTH = 12;
/** RFC 4302 2.2: the length of AH in 32-bit words, minus 2. */
export const AH_PAYLOAD_LENGTH_UNIT = 4;
export const AH_PAYLOAD_LENGTH_BIAS = 2;
/** RFC 4302 2.6: AH is a multiple of 32 bits for IPv4 and of 64 bits for IPv6. */
export const AH_ALIGN_IPV4 = 4;
export const AH_ALIGN_IPV6 = 8;
/** Largest AH the Payload Len field can describe: (255 + 2) * 4. */
export const AH_MAX_LENGTH = (0xff + AH_PAYLOAD_LENGTH_BIAS) * AH_PAYLOAD_LENGTH_UNIT;

/** Alignment of the whole AH for an IP version (RFC 4302 2.6). */
export function ahAlignment(ipVersion: 4 | 6): number {
  return ipVersion === 6 ? AH_ALIGN_IPV6 : AH_ALIGN_IPV4;
}

/**
 * Total AH length for an integrity algorithm with `ivLength` bytes of per-packet IV and `icvLength` bytes
 * of ICV, padded with only as many bytes as the IP version's alignment needs (RFC 4302 2.6, 3.3.3.2.1).
 */
export function ahLength(ivLength: number, icvLength: number, ipVersion: 4 | 6): number {
  const raw = AH_FIXED_LENGTH + ivLength + icvLength;
  const align = ahAlignment(ipVersion);
  return Math.ceil(raw / align) * align;
}

/** Payload Len for an AH of `length` bytes (RFC 4302 2.2). */
export function ahPayloadLength(length: number): number {
  return length / AH_PAYLOAD_LENGTH_UNIT - AH_PAYLOAD_LENGTH_BIAS;
}

/** AH length in bytes described by a Payload Len value (RFC 4302 2.2). */
export function ahLengthFromPayloadLength(payloadLength: number): number {
  return (payloadLength + AH_PAYLOAD_LENGTH_BIAS) * AH_PAYLOAD_LENGTH_UNIT;
}

/**
 * Write an AH of `length` bytes at `off`: the fixed part, the IV (if any) at the start of the ICV field,
 * and zeros for the rest of the ICV field (the ICV is then computed and written in place; the padding
 * stays zero).
 */
export function writeAhHeader(
  buf: Uint8Array,
  off: number,
  length: number,
  nextHeader: number,
  spi: number,
  seqLow: number,
  iv: Uint8Array | undefined,
): void {
  buf[off + AH_NEXT_HEADER_OFFSET] = nextHeader;
  buf[off + AH_PAYLOAD_LENGTH_OFFSET] = ahPayloadLength(length);
  writeU16(buf, off + AH_RESERVED_OFFSET, 0);
  writeU32(buf, off + AH_SPI_OFFSET, spi);
  writeU32(buf, off + AH_SEQ_OFFSET, seqLow);
  let p = off + AH_ICV_FIELD_OFFSET;
  if (iv !== undefined && iv.length > 0) {
    buf.set(iv, p);
    p += iv.length;
  }
  buf.fill(0, p, off + length);
}

/** A decoded AH (for diagnostics and tests; the per-packet path reads fields in place). */
export interface AhHeader {
  nextHeader: number;
  /** Payload Len as carried. */
  payloadLength: number;
  /** Total AH length in bytes, (payloadLength + 2) * 4. */
  length: number;
  reserved: number;
  spi: number;
  seq: number;
  /** The ICV field: IV (if any), ICV and padding. A view into the input. */
  icvField: Uint8Array;
}

/**
 * Decode an AH at `off` (RFC 4302 2). Throws ParseError when the fixed part or the length the Payload Len
 * field claims runs past `end`, or the length is shorter than the fixed part.
 */
export function decodeAhHeader(buf: Uint8Array, off: number, end: number = buf.length): AhHeader {
  if (off < 0 || off + AH_FIXED_LENGTH > end) throw new ParseError('AH fixed header truncated', off);
  const payloadLength = buf[off + AH_PAYLOAD_LENGTH_OFFSET] ?? 0;
  const length = ahLengthFromPayloadLength(payloadLength);
  if (length < AH_FIXED_LENGTH) throw new ParseError('AH Payload Len below the fixed header', off + 1);
  if (off + length > end) throw new ParseError('AH length runs past the packet', off + 1);
  return {
    nextHeader: buf[off + AH_NEXT_HEADER_OFFSET] ?? 0,
    payloadLength,
    length,
    reserved: ((buf[off + AH_RESERVED_OFFSET] ?? 0) << 8) | (buf[off + AH_RESERVED_OFFSET + 1] ?? 0),
    spi: readU32(buf, off + AH_SPI_OFFSET),
    seq: readU32(buf, off + AH_SEQ_OFFSET),
    icvField: buf.subarray(off + AH_ICV_FIELD_OFFSET, off + length),
  };
}
