/** Random but well-formed IKE messages for round-trip properties and as fuzz seeds. */
import { CpAttr, ExchangeType, PayloadType, TransformType, TsType } from '../../../src/ike/codec/constants.js';
import type {
  IkeMessage,
  Payload,
  Proposal,
  TrafficSelector,
  Transform,
  TransformAttribute,
} from '../../../src/ike/codec/types.js';
import type { Prng } from './prng.js';

const KNOWN = new Set<number>(Object.values(PayloadType));
/** Payload type numbers this codec does not know (0 ends a chain and cannot be a payload). */
export const UNKNOWN_TYPES: readonly number[] = Array.from({ length: 255 }, (_, i) => i + 1).filter(
  (t) => !KNOWN.has(t),
);

function transform(r: Prng): Transform {
  const t: Transform = { type: r.pick(Object.values(TransformType)), id: r.int(0, 0xffff) };
  if (r.bool()) t.keyLength = r.pick([128, 192, 256, r.int(0, 0xffff)]);
  if (r.int(0, 5) === 0) {
    const attrs: TransformAttribute[] = [];
    for (let i = r.int(1, 2); i > 0; i--) {
      const tv = r.bool();
      // Type 14 in TV form is Key Length, which decodes into keyLength.
      const type = r.pick([1, 2, 15, 0x7fff]);
      attrs.push({ type, tv, value: r.bytes(tv ? 2 : r.int(0, 6)) });
    }
    t.unknownAttributes = attrs;
  }
  return t;
}

function proposal(r: Prng, num: number): Proposal {
  const transforms: Transform[] = [];
  for (let i = r.int(0, 6); i > 0; i--) transforms.push(transform(r));
  return { num, protocolId: r.int(1, 3), spi: r.bytes(r.pick([0, 4, 8])), transforms };
}

function selector(r: Prng): TrafficSelector {
  const v6 = r.bool();
  const n = v6 ? 16 : 4;
  return {
    tsType: v6 ? TsType.TS_IPV6_ADDR_RANGE : TsType.TS_IPV4_ADDR_RANGE,
    ipProtocol: r.int(0, 255),
    startPort: r.int(0, 0xffff),
    endPort: r.int(0, 0xffff),
    startAddr: r.bytes(n),
    endAddr: r.bytes(n),
  };
}

/** One random payload that is not SK or SKF. */
export function randomPayload(r: Prng): Payload {
  const small = (): Buffer => r.bytes(r.int(0, 40));
  switch (r.int(0, 15)) {
    case 0: {
      const proposals: Proposal[] = [];
      for (let i = r.int(0, 3); i > 0; i--) proposals.push(proposal(r, proposals.length + 1));
      return { type: PayloadType.SA, proposals };
    }
    case 1:
      return { type: PayloadType.KE, group: r.int(0, 0xffff), data: small() };
    case 2:
      return { type: r.pick([PayloadType.IDi, PayloadType.IDr]), idType: r.int(0, 255), data: small() };
    case 3:
      return { type: PayloadType.CERT, certEncoding: r.int(0, 255), data: small() };
    case 4:
      return { type: PayloadType.CERTREQ, certEncoding: r.int(0, 255), data: small() };
    case 5:
      return { type: PayloadType.AUTH, method: r.int(0, 255), data: small() };
    case 6:
      return { type: PayloadType.NONCE, data: r.bytes(r.int(16, 64)) };
    case 7:
      return {
        type: PayloadType.NOTIFY,
        protocolId: r.int(0, 3),
        spi: r.bytes(r.pick([0, 4, 8])),
        notifyType: r.int(0, 0xffff),
        data: small(),
      };
    case 8: {
      const spiSize = r.pick([0, 4, 8]);
      const spis: Buffer[] = [];
      if (spiSize > 0) for (let i = r.int(0, 4); i > 0; i--) spis.push(r.bytes(spiSize));
      return { type: PayloadType.DELETE, protocolId: r.int(1, 3), spiSize, spis };
    }
    case 9:
      return { type: PayloadType.VENDOR_ID, data: small() };
    case 10: {
      const selectors: TrafficSelector[] = [];
      for (let i = r.int(0, 3); i > 0; i--) selectors.push(selector(r));
      return { type: r.pick([PayloadType.TSi, PayloadType.TSr]), selectors };
    }
    case 11: {
      const attributes = [];
      for (let i = r.int(0, 4); i > 0; i--) {
        attributes.push({ type: r.pick([...Object.values(CpAttr), r.int(0, 0x7fff)]), value: r.bytes(r.int(0, 17)) });
      }
      return { type: PayloadType.CP, cfgType: r.int(1, 4), attributes };
    }
    case 12:
      return { type: PayloadType.EAP, data: small() };
    default:
      return { type: 'unknown', payloadType: r.pick(UNKNOWN_TYPES), critical: r.bool(), data: small() };
  }
}

/** A random message: 0..8 payloads, sometimes ending in SK or SKF. */
export function randomMessage(r: Prng): IkeMessage {
  const payloads: Payload[] = [];
  for (let i = r.int(0, 8); i > 0; i--) payloads.push(randomPayload(r));
  const end = r.int(0, 3);
  if (end === 0) payloads.push({ type: PayloadType.SK, firstPayload: r.int(0, 255), data: r.bytes(r.int(0, 80)) });
  if (end === 1) {
    payloads.push({
      type: PayloadType.SKF,
      firstPayload: r.int(0, 255),
      fragmentNumber: r.int(0, 0xffff),
      totalFragments: r.int(0, 0xffff),
      data: r.bytes(r.int(0, 80)),
    });
  }
  return {
    header: {
      spiI: r.bytes(8),
      spiR: r.bytes(8),
      nextPayload: 0,
      majorVersion: 2,
      minorVersion: r.int(0, 15),
      exchangeType: r.pick([...Object.values(ExchangeType), r.int(0, 255)]),
      flags: { initiator: r.bool(), response: r.bool(), version: r.bool() },
      messageId: r.u32(),
      length: 0,
    },
    payloads,
  };
}
