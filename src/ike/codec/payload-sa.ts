/**
 * Security Association payload body (RFC 7296 3.3): proposals (3.3.1), transforms (3.3.2) and transform
 * attributes (3.3.5). Bounds and structural consistency only; proposal selection is the engine's job.
 */
import { ParseError } from '../../common/errors.js';
import { LastSubstruc, PayloadType, TRANSFORM_ATTR_TV_FLAG, TransformAttr } from './constants.js';
import { need } from './bounds.js';
import type { Proposal, SaPayload, Transform, TransformAttribute } from './types.js';

/** Proposal substructure header: Last(1) RESERVED(1) Length(2) Num(1) Protocol(1) SPI Size(1) #Transforms(1). */
const PROPOSAL_HEADER_LENGTH = 8;
const PROPOSAL_LAST_OFFSET = 0;
const PROPOSAL_RESERVED_OFFSET = 1;
const PROPOSAL_LENGTH_OFFSET = 2;
const PROPOSAL_NUM_OFFSET = 4;
const PROPOSAL_PROTOCOL_OFFSET = 5;
const PROPOSAL_SPI_SIZE_OFFSET = 6;
const PROPOSAL_TRANSFORM_COUNT_OFFSET = 7;
/** Transform substructure header: Last(1) RESERVED(1) Length(2) Type(1) RESERVED(1) ID(2). */
const TRANSFORM_HEADER_LENGTH = 8;
const TRANSFORM_LAST_OFFSET = 0;
const TRANSFORM_RESERVED_OFFSET = 1;
const TRANSFORM_LENGTH_OFFSET = 2;
const TRANSFORM_TYPE_OFFSET = 4;
const TRANSFORM_RESERVED2_OFFSET = 5;
const TRANSFORM_ID_OFFSET = 6;
/** Attribute header: AF|Type(2) then a 2-byte value (TV) or 2-byte length (TLV). */
const ATTR_HEADER_LENGTH = 4;
/** Where the TV value, or the TLV length, sits in an attribute. */
const ATTR_VALUE_OFFSET = 2;
const MAX_U8 = 0xff;
const MAX_U16 = 0xffff;

function decodeAttributes(buf: Buffer, start: number, end: number, t: Transform): void {
  let off = start;
  while (off < end) {
    need(buf, off, ATTR_HEADER_LENGTH, end, 'transform attribute');
    const word = buf.readUInt16BE(off);
    const type = word & ~TRANSFORM_ATTR_TV_FLAG;
    const tv = (word & TRANSFORM_ATTR_TV_FLAG) !== 0;
    if (tv) {
      if (type === TransformAttr.KEY_LENGTH && t.keyLength === undefined) {
        t.keyLength = buf.readUInt16BE(off + ATTR_VALUE_OFFSET);
      } else {
        (t.unknownAttributes ??= []).push({
          type,
          tv,
          value: buf.subarray(off + ATTR_VALUE_OFFSET, off + ATTR_HEADER_LENGTH),
        });
      }
      off += ATTR_HEADER_LENGTH;
    } else {
      const len = buf.readUInt16BE(off + ATTR_VALUE_OFFSET);
      need(buf, off + ATTR_HEADER_LENGTH, len, end, 'transform attribute value');
      const valueStart = off + ATTR_HEADER_LENGTH;
      (t.unknownAttributes ??= []).push({ type, tv, value: buf.subarray(valueStart, valueStart + len) });
      off = valueStart + len;
    }
  }
}

function decodeTransform(buf: Buffer, off: number, end: number): { t: Transform; last: number; next: number } {
  need(buf, off, TRANSFORM_HEADER_LENGTH, end, 'transform');
  const last = buf[off + TRANSFORM_LAST_OFFSET] ?? 0;
  const len = buf.readUInt16BE(off + TRANSFORM_LENGTH_OFFSET);
  if (len < TRANSFORM_HEADER_LENGTH) throw new ParseError('transform: length below header size', off);
  need(buf, off, len, end, 'transform');
  if (last !== LastSubstruc.LAST && last !== LastSubstruc.MORE_TRANSFORMS) {
    throw new ParseError(`transform: bad Last Substruc ${last}`, off);
  }
  const t: Transform = {
    type: buf[off + TRANSFORM_TYPE_OFFSET] ?? 0,
    id: buf.readUInt16BE(off + TRANSFORM_ID_OFFSET),
  };
  decodeAttributes(buf, off + TRANSFORM_HEADER_LENGTH, off + len, t);
  return { t, last, next: off + len };
}

function decodeProposal(buf: Buffer, off: number, end: number): { p: Proposal; last: number; next: number } {
  need(buf, off, PROPOSAL_HEADER_LENGTH, end, 'proposal');
  const last = buf[off + PROPOSAL_LAST_OFFSET] ?? 0;
  const len = buf.readUInt16BE(off + PROPOSAL_LENGTH_OFFSET);
  if (len < PROPOSAL_HEADER_LENGTH) throw new ParseError('proposal: length below header size', off);
  need(buf, off, len, end, 'proposal');
  if (last !== LastSubstruc.LAST && last !== LastSubstruc.MORE_PROPOSALS) {
    throw new ParseError(`proposal: bad Last Substruc ${last}`, off);
  }
  const spiSize = buf[off + PROPOSAL_SPI_SIZE_OFFSET] ?? 0;
  const count = buf[off + PROPOSAL_TRANSFORM_COUNT_OFFSET] ?? 0;
  const propEnd = off + len;
  need(buf, off + PROPOSAL_HEADER_LENGTH, spiSize, propEnd, 'proposal SPI');
  const spiStart = off + PROPOSAL_HEADER_LENGTH;
  const p: Proposal = {
    num: buf[off + PROPOSAL_NUM_OFFSET] ?? 0,
    protocolId: buf[off + PROPOSAL_PROTOCOL_OFFSET] ?? 0,
    spi: buf.subarray(spiStart, spiStart + spiSize),
    transforms: [],
  };
  let pos = spiStart + spiSize;
  for (let i = 0; i < count; i++) {
    const { t, last: tLast, next } = decodeTransform(buf, pos, propEnd);
    const isLast = i === count - 1;
    if ((tLast === LastSubstruc.LAST) !== isLast) {
      throw new ParseError('transform: Last Substruc disagrees with the transform count', pos);
    }
    p.transforms.push(t);
    pos = next;
  }
  if (pos !== propEnd) throw new ParseError('proposal: length disagrees with its transforms', pos);
  return { p, last, next: propEnd };
}

/** Decode an SA payload body buf[start, end). */
export function decodeSaBody(buf: Buffer, start: number, end: number): SaPayload {
  const proposals: Proposal[] = [];
  let off = start;
  while (off < end) {
    const { p, last, next } = decodeProposal(buf, off, end);
    proposals.push(p);
    const isLast = next === end;
    if ((last === LastSubstruc.LAST) !== isLast) {
      throw new ParseError('proposal: Last Substruc disagrees with the payload length', off);
    }
    off = next;
  }
  return { type: PayloadType.SA, proposals };
}

function attributeLength(a: TransformAttribute): number {
  return a.tv ? ATTR_HEADER_LENGTH : ATTR_HEADER_LENGTH + a.value.length;
}

function transformLength(t: Transform): number {
  let n = TRANSFORM_HEADER_LENGTH + (t.keyLength === undefined ? 0 : ATTR_HEADER_LENGTH);
  for (const a of t.unknownAttributes ?? []) n += attributeLength(a);
  return n;
}

function proposalLength(p: Proposal): number {
  let n = PROPOSAL_HEADER_LENGTH + p.spi.length;
  for (const t of p.transforms) n += transformLength(t);
  return n;
}

/** Bytes of an SA payload body. */
export function encodedLengthSaBody(sa: SaPayload): number {
  let n = 0;
  for (const p of sa.proposals) n += proposalLength(p);
  return n;
}

function encodeTransform(t: Transform, isLast: boolean, out: Buffer, off: number): number {
  const len = transformLength(t);
  if (len > MAX_U16) throw new RangeError('transform too long');
  out[off + TRANSFORM_LAST_OFFSET] = isLast ? LastSubstruc.LAST : LastSubstruc.MORE_TRANSFORMS;
  out[off + TRANSFORM_RESERVED_OFFSET] = 0;
  out.writeUInt16BE(len, off + TRANSFORM_LENGTH_OFFSET);
  out[off + TRANSFORM_TYPE_OFFSET] = t.type;
  out[off + TRANSFORM_RESERVED2_OFFSET] = 0;
  out.writeUInt16BE(t.id, off + TRANSFORM_ID_OFFSET);
  let pos = off + TRANSFORM_HEADER_LENGTH;
  if (t.keyLength !== undefined) {
    out.writeUInt16BE(TRANSFORM_ATTR_TV_FLAG | TransformAttr.KEY_LENGTH, pos);
    out.writeUInt16BE(t.keyLength, pos + ATTR_VALUE_OFFSET);
    pos += ATTR_HEADER_LENGTH;
  }
  for (const a of t.unknownAttributes ?? []) {
    out.writeUInt16BE((a.tv ? TRANSFORM_ATTR_TV_FLAG : 0) | (a.type & ~TRANSFORM_ATTR_TV_FLAG), pos);
    if (a.tv) {
      if (a.value.length !== 2) throw new RangeError('TV attribute value must be 2 bytes');
      out.set(a.value, pos + ATTR_VALUE_OFFSET);
      pos += ATTR_HEADER_LENGTH;
    } else {
      out.writeUInt16BE(a.value.length, pos + ATTR_VALUE_OFFSET);
      out.set(a.value, pos + ATTR_HEADER_LENGTH);
      pos += ATTR_HEADER_LENGTH + a.value.length;
    }
  }
  return pos;
}

/** Write an SA payload body at out[off]; returns the offset after it. */
export function encodeSaBody(sa: SaPayload, out: Buffer, off: number): number {
  let pos = off;
  sa.proposals.forEach((p, i) => {
    const len = proposalLength(p);
    if (len > MAX_U16 || p.transforms.length > MAX_U8 || p.spi.length > MAX_U8) {
      throw new RangeError('proposal too large');
    }
    out[pos + PROPOSAL_LAST_OFFSET] = i === sa.proposals.length - 1 ? LastSubstruc.LAST : LastSubstruc.MORE_PROPOSALS;
    out[pos + PROPOSAL_RESERVED_OFFSET] = 0;
    out.writeUInt16BE(len, pos + PROPOSAL_LENGTH_OFFSET);
    out[pos + PROPOSAL_NUM_OFFSET] = p.num;
    out[pos + PROPOSAL_PROTOCOL_OFFSET] = p.protocolId;
    out[pos + PROPOSAL_SPI_SIZE_OFFSET] = p.spi.length;
    out[pos + PROPOSAL_TRANSFORM_COUNT_OFFSET] = p.transforms.length;
    out.set(p.spi, pos + PROPOSAL_HEADER_LENGTH);
    let tpos = pos + PROPOSAL_HEADER_LENGTH + p.spi.length;
    p.transforms.forEach((t, j) => {
      tpos = encodeTransform(t, j === p.transforms.length - 1, out, tpos);
    });
    pos = tpos;
  });
  return pos;
}
