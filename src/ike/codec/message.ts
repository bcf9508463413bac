/**
 * IKE message codec (RFC 7296 3.1, 3.2): the header and the chain of generic payload headers. Decoding
 * checks bounds only and throws nothing but ParseError; encoding recomputes every Next Payload and Length.
 */
import { ParseError } from '../../common/errors.js';
import {
  IKE_HEADER_LENGTH,
  IKE_MAJOR_VERSION,
  PAYLOAD_CRITICAL_FLAG,
  PAYLOAD_FLAGS_OFFSET,
  PAYLOAD_HEADER_LENGTH,
  PAYLOAD_LENGTH_OFFSET,
  PAYLOAD_NEXT_OFFSET,
  PayloadType,
} from './constants.js';
import { need } from './bounds.js';
import { IKE_LENGTH_OFFSET, IKE_VERSION_OFFSET, decodeHeader, encodeHeader } from './header.js';
import { bodyCodecs, isKnownPayloadType } from './payloads.js';
import type { BodyCodec } from './payloads.js';
import type { IkeMessage, Payload } from './types.js';

const MAX_PAYLOAD_LENGTH = 0xffff;

function codecFor(type: number): BodyCodec<Payload> | undefined {
  return isKnownPayloadType(type) ? (bodyCodecs[type] as BodyCodec<Payload>) : undefined;
}

/** The number that names this payload in a Next Payload field. */
export function payloadTypeOf(p: Payload): number {
  return p.type === 'unknown' ? p.payloadType : p.type;
}

/** Decode one payload body (the bytes after its generic header) of the given type. */
export function decodePayloadBody(type: number, critical: boolean, buf: Buffer, start = 0, end = buf.length): Payload {
  const codec = codecFor(type);
  if (codec === undefined) return { type: 'unknown', payloadType: type, critical, data: buf.subarray(start, end) };
  return codec.decode(buf, start, end, type);
}

/**
 * Decode the payload chain in buf[start, end) that begins with a payload of type firstType. The chain must
 * fill the range exactly. An SK or SKF payload ends the chain (its Next Payload names the first inner
 * payload) and must be last (RFC 7296 3.14, RFC 7383 2.5).
 */
export function decodePayloads(buf: Buffer, firstType: number, start: number, end: number): Payload[] {
  const payloads: Payload[] = [];
  let off = start;
  let type = firstType;
  while (type !== PayloadType.NONE) {
    need(buf, off, PAYLOAD_HEADER_LENGTH, end, 'payload header');
    const nextType = buf[off + PAYLOAD_NEXT_OFFSET] ?? 0;
    const critical = ((buf[off + PAYLOAD_FLAGS_OFFSET] ?? 0) & PAYLOAD_CRITICAL_FLAG) !== 0;
    const len = buf.readUInt16BE(off + PAYLOAD_LENGTH_OFFSET);
    if (len < PAYLOAD_HEADER_LENGTH) throw new ParseError('payload: length below header size', off);
    need(buf, off, len, end, 'payload');
    const p = decodePayloadBody(type, critical, buf, off + PAYLOAD_HEADER_LENGTH, off + len);
    payloads.push(p);
    if (p.type === PayloadType.SK || p.type === PayloadType.SKF) {
      p.firstPayload = nextType;
      if (off + len !== end) throw new ParseError('encrypted payload is not the last payload', off);
      return payloads;
    }
    off += len;
    type = nextType;
  }
  if (off !== end) throw new ParseError('bytes after the last payload', off);
  return payloads;
}

/** Encoded length of one payload, generic header included. */
export function encodedLengthPayload(p: Payload): number {
  if (p.type === 'unknown') return PAYLOAD_HEADER_LENGTH + p.data.length;
  return PAYLOAD_HEADER_LENGTH + (bodyCodecs[p.type] as BodyCodec<Payload>).length(p);
}

/** Encoded length of a payload chain. */
export function encodedLengthPayloads(payloads: readonly Payload[]): number {
  let n = 0;
  for (const p of payloads) n += encodedLengthPayload(p);
  return n;
}

/**
 * Write one payload with its generic header at out[off]; nextType goes in its Next Payload field (for SK
 * and SKF the field is their firstPayload instead). Returns the offset after it. RangeError if it does not
 * fit the 16-bit length: a programming error, not a peer's.
 */
export function encodePayload(p: Payload, nextType: number, out: Buffer, off: number): number {
  const len = encodedLengthPayload(p);
  if (len > MAX_PAYLOAD_LENGTH) throw new RangeError(`payload ${payloadTypeOf(p)} longer than 65535 bytes`);
  const isEncrypted = p.type === PayloadType.SK || p.type === PayloadType.SKF;
  out[off + PAYLOAD_NEXT_OFFSET] = isEncrypted ? p.firstPayload : nextType;
  out[off + PAYLOAD_FLAGS_OFFSET] = p.type === 'unknown' && p.critical ? PAYLOAD_CRITICAL_FLAG : 0;
  out.writeUInt16BE(len, off + PAYLOAD_LENGTH_OFFSET);
  const bodyStart = off + PAYLOAD_HEADER_LENGTH;
  if (p.type === 'unknown') {
    out.set(p.data, bodyStart);
    return bodyStart + p.data.length;
  }
  const end = (bodyCodecs[p.type] as BodyCodec<Payload>).encode(p, out, bodyStart);
  if (end !== off + len) throw new RangeError(`payload ${p.type}: encoder wrote ${end - off} of ${len} bytes`);
  return end;
}

/** Write a payload chain at out[off]; returns the offset after it. An SK/SKF payload may only be last. */
export function encodePayloads(payloads: readonly Payload[], out: Buffer, off: number): number {
  let pos = off;
  payloads.forEach((p, i) => {
    const next = payloads[i + 1];
    if (next !== undefined && (p.type === PayloadType.SK || p.type === PayloadType.SKF)) {
      throw new RangeError('the encrypted payload must be the last payload');
    }
    pos = encodePayload(p, next === undefined ? PayloadType.NONE : payloadTypeOf(next), out, pos);
  });
  return pos;
}

/** Encoded length of a whole message. */
export function encodedLengthMessage(msg: IkeMessage): number {
  return IKE_HEADER_LENGTH + encodedLengthPayloads(msg.payloads);
}

/**
 * Decode a whole IKE message. The header Length must equal the datagram length and the major version
 * must be 2; use decodeHeader alone to answer INVALID_MAJOR_VERSION first.
 */
export function decodeMessage(buf: Buffer): IkeMessage {
  const header = decodeHeader(buf, 0);
  if (header.majorVersion !== IKE_MAJOR_VERSION) {
    throw new ParseError(`IKE header: unsupported major version ${header.majorVersion}`, IKE_VERSION_OFFSET);
  }
  if (header.length !== buf.length) {
    throw new ParseError(`IKE header: Length ${header.length} but ${buf.length} bytes received`, IKE_LENGTH_OFFSET);
  }
  return { header, payloads: decodePayloads(buf, header.nextPayload, IKE_HEADER_LENGTH, buf.length) };
}

/** Encode a message; the header's nextPayload and length are recomputed from the payloads. */
export function encodeMessage(msg: IkeMessage): Buffer {
  const len = encodedLengthMessage(msg);
  const out = Buffer.alloc(len);
  const first = msg.payloads[0];
  encodeHeader(msg.header, first === undefined ? PayloadType.NONE : payloadTypeOf(first), len, out, 0);
  encodePayloads(msg.payloads, out, IKE_HEADER_LENGTH);
  return out;
}
