/** IKE header codec (RFC 7296 3.1). */
import { ParseError } from '../../common/errors.js';
import { HeaderFlag, IKE_HEADER_LENGTH, IKE_SPI_LENGTH } from './constants.js';
import type { IkeHeader } from './types.js';

/** Byte offsets of the IKE header fields (RFC 7296 3.1). */
export const IKE_SPI_I_OFFSET = 0;
export const IKE_SPI_R_OFFSET = 8;
export const IKE_NEXT_PAYLOAD_OFFSET = 16;
export const IKE_VERSION_OFFSET = 17;
export const IKE_EXCHANGE_TYPE_OFFSET = 18;
export const IKE_FLAGS_OFFSET = 19;
export const IKE_MESSAGE_ID_OFFSET = 20;
export const IKE_LENGTH_OFFSET = 24;

/**
 * Decode the 28-byte header at buf[off]. Checks bounds only (not the version, not the length against the
 * datagram), so the engine can still answer INVALID_MAJOR_VERSION (RFC 7296 2.5).
 */
export function decodeHeader(buf: Buffer, off = 0): IkeHeader {
  if (off < 0 || buf.length - off < IKE_HEADER_LENGTH) throw new ParseError('IKE header: truncated', off);
  const version = buf[off + IKE_VERSION_OFFSET] ?? 0;
  const flags = buf[off + IKE_FLAGS_OFFSET] ?? 0;
  return {
    spiI: buf.subarray(off + IKE_SPI_I_OFFSET, off + IKE_SPI_I_OFFSET + IKE_SPI_LENGTH),
    spiR: buf.subarray(off + IKE_SPI_R_OFFSET, off + IKE_SPI_R_OFFSET + IKE_SPI_LENGTH),
    nextPayload: buf[off + IKE_NEXT_PAYLOAD_OFFSET] ?? 0,
    majorVersion: version >> 4,
    minorVersion: version & 0x0f,
    exchangeType: buf[off + IKE_EXCHANGE_TYPE_OFFSET] ?? 0,
    flags: {
      initiator: (flags & HeaderFlag.INITIATOR) !== 0,
      response: (flags & HeaderFlag.RESPONSE) !== 0,
      version: (flags & HeaderFlag.VERSION) !== 0,
    },
    messageId: buf.readUInt32BE(off + IKE_MESSAGE_ID_OFFSET),
    length: buf.readUInt32BE(off + IKE_LENGTH_OFFSET),
  };
}

/** The flags octet for a header (reserved bits zero). */
export function encodeHeaderFlags(h: IkeHeader): number {
  return (
    (h.flags.initiator ? HeaderFlag.INITIATOR : 0) |
    (h.flags.response ? HeaderFlag.RESPONSE : 0) |
    (h.flags.version ? HeaderFlag.VERSION : 0)
  );
}

/**
 * Write the header at out[off] with the given Next Payload and Length (the header's own `nextPayload` and
 * `length` fields are not used). Throws RangeError for SPIs that are not 8 bytes: a programming error.
 */
export function encodeHeader(h: IkeHeader, nextPayload: number, length: number, out: Buffer, off = 0): number {
  if (h.spiI.length !== IKE_SPI_LENGTH || h.spiR.length !== IKE_SPI_LENGTH) {
    throw new RangeError('IKE SPIs must be 8 bytes');
  }
  out.set(h.spiI, off + IKE_SPI_I_OFFSET);
  out.set(h.spiR, off + IKE_SPI_R_OFFSET);
  out[off + IKE_NEXT_PAYLOAD_OFFSET] = nextPayload;
  out[off + IKE_VERSION_OFFSET] = ((h.majorVersion & 0x0f) << 4) | (h.minorVersion & 0x0f);
  out[off + IKE_EXCHANGE_TYPE_OFFSET] = h.exchangeType;
  out[off + IKE_FLAGS_OFFSET] = encodeHeaderFlags(h);
  out.writeUInt32BE(h.messageId >>> 0, off + IKE_MESSAGE_ID_OFFSET);
  out.writeUInt32BE(length >>> 0, off + IKE_LENGTH_OFFSET);
  return off + IKE_HEADER_LENGTH;
}
