/**
 * Payload body codecs, one table row per payload type (RFC 7296 3.3-3.16, RFC 7383 2.5). Each row decodes
 * the body after the 4-byte generic header with bounds checks only, gives its encoded length, and writes it.
 */
import { ParseError } from '../../common/errors.js';
import { PayloadType, TsType } from './constants.js';
import { need } from './bounds.js';
import { decodeSaBody, encodeSaBody, encodedLengthSaBody } from './payload-sa.js';
import type { CpAttribute, Payload, TrafficSelector } from './types.js';

/** Payload types with a decoder here (everything else becomes an UnknownPayload). */
export type KnownPayloadType = Exclude<Payload['type'], 'unknown'>;
/** The payload interface whose `type` admits K (IDi and IDr share IdPayload, TSi and TSr TsPayload). */
export type PayloadOf<K extends KnownPayloadType, P = Payload> = P extends { type: infer T }
  ? K extends T
    ? P
    : never
  : never;

/** Decoder, length and encoder of one payload body. */
export interface BodyCodec<P extends Payload> {
  /** Decode body buf[start, end); `type` is the payload type from the chain. */
  decode(buf: Buffer, start: number, end: number, type: number): P;
  /** Encoded body length in bytes. */
  length(p: P): number;
  /** Write the body at out[off]; returns the offset after it. */
  encode(p: P, out: Buffer, off: number): number;
}

const MAX_U8 = 0xff;
const MAX_U16 = 0xffff;

/** Fixed part lengths of the bodies (RFC 7296 3.4-3.15, RFC 7383 2.5). */
const KE_FIXED = 4; // DH Group Num(2) RESERVED(2)
const ID_FIXED = 4; // ID Type(1) RESERVED(3)
const CERT_FIXED = 1; // Cert Encoding(1)
const AUTH_FIXED = 4; // Auth Method(1) RESERVED(3)
const NOTIFY_FIXED = 4; // Protocol ID(1) SPI Size(1) Notify Message Type(2)
const DELETE_FIXED = 4; // Protocol ID(1) SPI Size(1) Num of SPIs(2)
const TS_FIXED = 4; // Number of TSs(1) RESERVED(3)
const TS_SELECTOR_FIXED = 8; // TS Type(1) IP Protocol ID(1) Selector Length(2) Start Port(2) End Port(2)
const CP_FIXED = 4; // CFG Type(1) RESERVED(3)
const CP_ATTR_FIXED = 4; // R|Attribute Type(2) Length(2)
const CP_ATTR_TYPE_MASK = 0x7fff;
const SKF_FIXED = 4; // Fragment Number(2) Total Fragments(2)
/** Field offsets inside bodies and substructures. */
const NOTIFY_PROTOCOL_OFFSET = 0;
const NOTIFY_SPI_SIZE_OFFSET = 1;
const NOTIFY_TYPE_OFFSET = 2;
const DELETE_PROTOCOL_OFFSET = 0;
const DELETE_SPI_SIZE_OFFSET = 1;
const DELETE_COUNT_OFFSET = 2;
const TS_COUNT_OFFSET = 0;
const SEL_TYPE_OFFSET = 0;
const SEL_PROTOCOL_OFFSET = 1;
const SEL_LENGTH_OFFSET = 2;
const SEL_START_PORT_OFFSET = 4;
const SEL_END_PORT_OFFSET = 6;
const CP_TYPE_OFFSET = 0;
const CP_ATTR_LENGTH_OFFSET = 2;
const SKF_NUMBER_OFFSET = 0;
const SKF_TOTAL_OFFSET = 2;
/** Address bytes of each selector type (RFC 7296 3.13.1). */
const TS_ADDR_LENGTH: Readonly<Record<number, number>> = {
  [TsType.TS_IPV4_ADDR_RANGE]: 4,
  [TsType.TS_IPV6_ADDR_RANGE]: 16,
};

function fixedThenData<P extends Payload>(
  fixed: number,
  what: string,
  read: (buf: Buffer, start: number, data: Buffer, type: number) => P,
  write: (p: P, out: Buffer, off: number) => void,
  data: (p: P) => Buffer,
): BodyCodec<P> {
  return {
    decode(buf, start, end, type) {
      need(buf, start, fixed, end, what);
      return read(buf, start, buf.subarray(start + fixed, end), type);
    },
    length: (p) => fixed + data(p).length,
    encode(p, out, off) {
      out.fill(0, off, off + fixed);
      write(p, out, off);
      const d = data(p);
      out.set(d, off + fixed);
      return off + fixed + d.length;
    },
  };
}

function rawData<P extends Payload & { data: Buffer }>(make: (data: Buffer) => P): BodyCodec<P> {
  return {
    decode: (buf, start, end) => make(buf.subarray(start, end)),
    length: (p) => p.data.length,
    encode(p, out, off) {
      out.set(p.data, off);
      return off + p.data.length;
    },
  };
}

const idCodec = fixedThenData<PayloadOf<typeof PayloadType.IDi | typeof PayloadType.IDr>>(
  ID_FIXED,
  'ID payload',
  (buf, start, data, type) => ({
    type: type as typeof PayloadType.IDi | typeof PayloadType.IDr,
    idType: buf[start] ?? 0,
    data,
  }),
  (p, out, off) => {
    out[off] = p.idType;
  },
  (p) => p.data,
);

function decodeSelectors(buf: Buffer, start: number, end: number): TrafficSelector[] {
  need(buf, start, TS_FIXED, end, 'TS payload');
  const count = buf[start + TS_COUNT_OFFSET] ?? 0;
  const selectors: TrafficSelector[] = [];
  let off = start + TS_FIXED;
  for (let i = 0; i < count; i++) {
    need(buf, off, TS_SELECTOR_FIXED, end, 'traffic selector');
    const tsType = buf[off + SEL_TYPE_OFFSET] ?? 0;
    const len = buf.readUInt16BE(off + SEL_LENGTH_OFFSET);
    const addrLen = TS_ADDR_LENGTH[tsType];
    if (addrLen === undefined) throw new ParseError(`traffic selector: unsupported TS type ${tsType}`, off);
    if (len !== TS_SELECTOR_FIXED + 2 * addrLen)
      throw new ParseError('traffic selector: bad length', off + SEL_LENGTH_OFFSET);
    need(buf, off, len, end, 'traffic selector');
    const a = off + TS_SELECTOR_FIXED;
    selectors.push({
      tsType,
      ipProtocol: buf[off + SEL_PROTOCOL_OFFSET] ?? 0,
      startPort: buf.readUInt16BE(off + SEL_START_PORT_OFFSET),
      endPort: buf.readUInt16BE(off + SEL_END_PORT_OFFSET),
      startAddr: buf.subarray(a, a + addrLen),
      endAddr: buf.subarray(a + addrLen, a + 2 * addrLen),
    });
    off += len;
  }
  if (off !== end) throw new ParseError('TS payload: bytes after the last selector', off);
  return selectors;
}

function selectorLength(s: TrafficSelector): number {
  return TS_SELECTOR_FIXED + s.startAddr.length + s.endAddr.length;
}

const tsCodec: BodyCodec<PayloadOf<typeof PayloadType.TSi | typeof PayloadType.TSr>> = {
  decode: (buf, start, end, type) => ({
    type: type as typeof PayloadType.TSi | typeof PayloadType.TSr,
    selectors: decodeSelectors(buf, start, end),
  }),
  length: (p) => p.selectors.reduce((n, s) => n + selectorLength(s), TS_FIXED),
  encode(p, out, off) {
    if (p.selectors.length > MAX_U8) throw new RangeError('too many traffic selectors');
    out.fill(0, off, off + TS_FIXED);
    out[off + TS_COUNT_OFFSET] = p.selectors.length;
    let pos = off + TS_FIXED;
    for (const s of p.selectors) {
      if (s.startAddr.length !== s.endAddr.length) throw new RangeError('selector address lengths differ');
      out[pos + SEL_TYPE_OFFSET] = s.tsType;
      out[pos + SEL_PROTOCOL_OFFSET] = s.ipProtocol;
      out.writeUInt16BE(selectorLength(s), pos + SEL_LENGTH_OFFSET);
      out.writeUInt16BE(s.startPort, pos + SEL_START_PORT_OFFSET);
      out.writeUInt16BE(s.endPort, pos + SEL_END_PORT_OFFSET);
      out.set(s.startAddr, pos + TS_SELECTOR_FIXED);
      out.set(s.endAddr, pos + TS_SELECTOR_FIXED + s.startAddr.length);
      pos += selectorLength(s);
    }
    return pos;
  },
};

function decodeCpAttributes(buf: Buffer, start: number, end: number): CpAttribute[] {
  const attributes: CpAttribute[] = [];
  let off = start;
  while (off < end) {
    need(buf, off, CP_ATTR_FIXED, end, 'configuration attribute');
    const len = buf.readUInt16BE(off + CP_ATTR_LENGTH_OFFSET);
    need(buf, off + CP_ATTR_FIXED, len, end, 'configuration attribute value');
    const v = off + CP_ATTR_FIXED;
    attributes.push({ type: buf.readUInt16BE(off) & CP_ATTR_TYPE_MASK, value: buf.subarray(v, v + len) });
    off = v + len;
  }
  return attributes;
}

/** The body codecs, keyed by payload type. */
export const bodyCodecs: { readonly [K in KnownPayloadType]: BodyCodec<PayloadOf<K>> } = {
  [PayloadType.SA]: {
    decode: (buf, start, end) => decodeSaBody(buf, start, end),
    length: encodedLengthSaBody,
    encode: encodeSaBody,
  },
  [PayloadType.KE]: fixedThenData<PayloadOf<typeof PayloadType.KE>>(
    KE_FIXED,
    'KE payload',
    (buf, start, data) => ({ type: PayloadType.KE, group: buf.readUInt16BE(start), data }),
    (p, out, off) => {
      out.writeUInt16BE(p.group, off);
    },
    (p) => p.data,
  ),
  [PayloadType.IDi]: idCodec,
  [PayloadType.IDr]: idCodec,
  [PayloadType.CERT]: fixedThenData<PayloadOf<typeof PayloadType.CERT>>(
    CERT_FIXED,
    'CERT payload',
    (buf, start, data) => ({ type: PayloadType.CERT, certEncoding: buf[start] ?? 0, data }),
    (p, out, off) => {
      out[off] = p.certEncoding;
    },
    (p) => p.data,
  ),
  [PayloadType.CERTREQ]: fixedThenData<PayloadOf<typeof PayloadType.CERTREQ>>(
    CERT_FIXED,
    'CERTREQ payload',
    (buf, start, data) => ({ type: PayloadType.CERTREQ, certEncoding: buf[start] ?? 0, data }),
    (p, out, off) => {
      out[off] = p.certEncoding;
    },
    (p) => p.data,
  ),
  [PayloadType.AUTH]: fixedThenData<PayloadOf<typeof PayloadType.AUTH>>(
    AUTH_FIXED,
    'AUTH payload',
    (buf, start, data) => ({ type: PayloadType.AUTH, method: buf[start] ?? 0, data }),
    (p, out, off) => {
      out[off] = p.method;
    },
    (p) => p.data,
  ),
  [PayloadType.NONCE]: rawData((data) => ({ type: PayloadType.NONCE, data })),
  [PayloadType.NOTIFY]: {
    decode(buf, start, end) {
      need(buf, start, NOTIFY_FIXED, end, 'Notify payload');
      const spiSize = buf[start + NOTIFY_SPI_SIZE_OFFSET] ?? 0;
      const s = start + NOTIFY_FIXED;
      need(buf, s, spiSize, end, 'Notify SPI');
      return {
        type: PayloadType.NOTIFY,
        protocolId: buf[start + NOTIFY_PROTOCOL_OFFSET] ?? 0,
        spi: buf.subarray(s, s + spiSize),
        notifyType: buf.readUInt16BE(start + NOTIFY_TYPE_OFFSET),
        data: buf.subarray(s + spiSize, end),
      };
    },
    length: (p) => NOTIFY_FIXED + p.spi.length + p.data.length,
    encode(p, out, off) {
      if (p.spi.length > MAX_U8) throw new RangeError('notify SPI too long');
      out[off + NOTIFY_PROTOCOL_OFFSET] = p.protocolId;
      out[off + NOTIFY_SPI_SIZE_OFFSET] = p.spi.length;
      out.writeUInt16BE(p.notifyType, off + NOTIFY_TYPE_OFFSET);
      out.set(p.spi, off + NOTIFY_FIXED);
      out.set(p.data, off + NOTIFY_FIXED + p.spi.length);
      return off + NOTIFY_FIXED + p.spi.length + p.data.length;
    },
  },
  [PayloadType.DELETE]: {
    decode(buf, start, end) {
      need(buf, start, DELETE_FIXED, end, 'Delete payload');
      const spiSize = buf[start + DELETE_SPI_SIZE_OFFSET] ?? 0;
      const count = buf.readUInt16BE(start + DELETE_COUNT_OFFSET);
      const s = start + DELETE_FIXED;
      if (spiSize === 0 && count !== 0)
        throw new ParseError('Delete payload: SPIs of size 0', start + DELETE_COUNT_OFFSET);
      if (end - s !== spiSize * count) throw new ParseError('Delete payload: length disagrees with SPI count', s);
      const spis: Buffer[] = [];
      for (let i = 0; i < count; i++) spis.push(buf.subarray(s + i * spiSize, s + (i + 1) * spiSize));
      return { type: PayloadType.DELETE, protocolId: buf[start + DELETE_PROTOCOL_OFFSET] ?? 0, spiSize, spis };
    },
    length: (p) => DELETE_FIXED + p.spiSize * p.spis.length,
    encode(p, out, off) {
      if (p.spis.length > MAX_U16 || p.spiSize > MAX_U8) throw new RangeError('delete payload too large');
      out[off + DELETE_PROTOCOL_OFFSET] = p.protocolId;
      out[off + DELETE_SPI_SIZE_OFFSET] = p.spiSize;
      out.writeUInt16BE(p.spis.length, off + DELETE_COUNT_OFFSET);
      let pos = off + DELETE_FIXED;
      for (const spi of p.spis) {
        if (spi.length !== p.spiSize) throw new RangeError('delete SPI length differs from spiSize');
        out.set(spi, pos);
        pos += spi.length;
      }
      return pos;
    },
  },
  [PayloadType.VENDOR_ID]: rawData((data) => ({ type: PayloadType.VENDOR_ID, data })),
  [PayloadType.TSi]: tsCodec,
  [PayloadType.TSr]: tsCodec,
  [PayloadType.SK]: {
    // firstPayload comes from the generic header; decodePayloads fills it in.
    decode: (buf, start, end) => ({ type: PayloadType.SK, firstPayload: 0, data: buf.subarray(start, end) }),
    length: (p) => p.data.length,
    encode(p, out, off) {
      out.set(p.data, off);
      return off + p.data.length;
    },
  },
  [PayloadType.SKF]: {
    decode(buf, start, end) {
      need(buf, start, SKF_FIXED, end, 'SKF payload');
      return {
        type: PayloadType.SKF,
        firstPayload: 0,
        fragmentNumber: buf.readUInt16BE(start + SKF_NUMBER_OFFSET),
        totalFragments: buf.readUInt16BE(start + SKF_TOTAL_OFFSET),
        data: buf.subarray(start + SKF_FIXED, end),
      };
    },
    length: (p) => SKF_FIXED + p.data.length,
    encode(p, out, off) {
      out.writeUInt16BE(p.fragmentNumber, off + SKF_NUMBER_OFFSET);
      out.writeUInt16BE(p.totalFragments, off + SKF_TOTAL_OFFSET);
      out.set(p.data, off + SKF_FIXED);
      return off + SKF_FIXED + p.data.length;
    },
  },
  [PayloadType.CP]: {
    decode(buf, start, end) {
      need(buf, start, CP_FIXED, end, 'CP payload');
      return {
        type: PayloadType.CP,
        cfgType: buf[start + CP_TYPE_OFFSET] ?? 0,
        attributes: decodeCpAttributes(buf, start + CP_FIXED, end),
      };
    },
    length: (p) => p.attributes.reduce((n, a) => n + CP_ATTR_FIXED + a.value.length, CP_FIXED),
    encode(p, out, off) {
      out.fill(0, off, off + CP_FIXED);
      out[off + CP_TYPE_OFFSET] = p.cfgType;
      let pos = off + CP_FIXED;
      for (const a of p.attributes) {
        if (a.value.length > MAX_U16) throw new RangeError('configuration attribute too long');
        out.writeUInt16BE(a.type & CP_ATTR_TYPE_MASK, pos);
        out.writeUInt16BE(a.value.length, pos + CP_ATTR_LENGTH_OFFSET);
        out.set(a.value, pos + CP_ATTR_FIXED);
        pos += CP_ATTR_FIXED + a.value.length;
      }
      return pos;
    },
  },
  [PayloadType.EAP]: rawData((data) => ({ type: PayloadType.EAP, data })),
};

/** True when this codec has a decoder for the payload type. */
export function isKnownPayloadType(type: number): type is KnownPayloadType {
  return Object.prototype.hasOwnProperty.call(bodyCodecs, type);
}
