/**
 * EAP packets (RFC 3748 4): Code, Identifier, Length, then for requests and responses a Type and its data.
 * `decodeEapPacket` checks bounds only and throws ParseError; octets after Length are padding and ignored (4.1).
 */
import { ParseError } from '../common/errors.js';
import {
  EAP_CODE_OFFSET,
  EAP_HEADER_LENGTH,
  EAP_IDENTIFIER_OFFSET,
  EAP_LENGTH_OFFSET,
  EAP_TYPE_OFFSET,
  EapCode,
} from './constants.js';

const MAX_EAP_LENGTH = 0xffff;
const EAP_TYPED_HEADER_LENGTH = EAP_HEADER_LENGTH + 1;

export type EapPacket =
  | {
      readonly code: typeof EapCode.Request | typeof EapCode.Response;
      readonly identifier: number;
      /** EapType. */
      readonly type: number;
      readonly data: Buffer;
    }
  | { readonly code: typeof EapCode.Success | typeof EapCode.Failure; readonly identifier: number };

/** Decode one EAP packet (the whole EAP payload of IKEv2, RFC 7296 3.16). */
export function decodeEapPacket(buf: Uint8Array): EapPacket {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < EAP_HEADER_LENGTH) throw new ParseError('EAP packet: truncated header', 0);
  const code = b[EAP_CODE_OFFSET] ?? 0;
  const identifier = b[EAP_IDENTIFIER_OFFSET] ?? 0;
  const length = b.readUInt16BE(EAP_LENGTH_OFFSET);
  if (length < EAP_HEADER_LENGTH || length > b.length)
    throw new ParseError(`EAP packet: Length ${length} outside 4..${b.length}`, EAP_LENGTH_OFFSET);
  switch (code) {
    case EapCode.Request:
    case EapCode.Response:
      if (length < EAP_TYPED_HEADER_LENGTH) throw new ParseError('EAP packet: request or response without Type', 2);
      return { code, identifier, type: b[EAP_TYPE_OFFSET] ?? 0, data: b.subarray(EAP_TYPED_HEADER_LENGTH, length) };
    case EapCode.Success:
    case EapCode.Failure:
      if (length !== EAP_HEADER_LENGTH) throw new ParseError('EAP packet: Success or Failure with data', 2);
      return { code, identifier };
    default:
      throw new ParseError(`EAP packet: unknown Code ${code}`, EAP_CODE_OFFSET);
  }
}

export function encodedLengthEapPacket(p: EapPacket): number {
  return 'type' in p ? EAP_TYPED_HEADER_LENGTH + p.data.length : EAP_HEADER_LENGTH;
}

export function encodeEapPacket(p: EapPacket): Buffer {
  const length = encodedLengthEapPacket(p);
  if (length > MAX_EAP_LENGTH) throw new RangeError('EAP packet longer than 65535 bytes');
  const out = Buffer.alloc(length);
  out[EAP_CODE_OFFSET] = p.code;
  out[EAP_IDENTIFIER_OFFSET] = p.identifier;
  out.writeUInt16BE(length, EAP_LENGTH_OFFSET);
  if ('type' in p) {
    out[EAP_TYPE_OFFSET] = p.type;
    out.set(p.data, EAP_TYPED_HEADER_LENGTH);
  }
  return out;
}
