/**
 * Payload codecs against hand-assembled bytes laid out from the RFC 7296 section 3 figures: each case
 * decodes to the expected structure and encodes back to the same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../../src/common/errors.js';
import {
  AuthMethod,
  CfgType,
  CpAttr,
  IdType,
  NotifyType,
  PayloadType,
  ProtocolId,
  TransformType,
  TsType,
} from '../../../src/ike/codec/index.js';
import { decodePayloads, encodedLengthPayloads, encodePayloads } from '../../../src/ike/codec/index.js';
import type { Payload } from '../../../src/ike/codec/index.js';
import { EncrId, IntegId, KeGroup, PrfId } from '../../../src/crypto/ids.js';
import { hex } from '../../helpers/vectors.js';

interface Case {
  name: string;
  first: number;
  bytes: string;
  payloads: Payload[];
}

const cases: Case[] = [
  {
    name: 'SA: one IKE proposal, AES-CBC-128 / PRF-SHA256 / SHA256-128 / ECP-256',
    first: PayloadType.SA,
    bytes:
      '00000030' + // generic header, length 48
      '0000002c 01010004' + // proposal: last, length 44, #1, IKE, SPI size 0, 4 transforms
      '0300000c 0100000c 800e0080' + // ENCR AES_CBC, Key Length (TV) 128
      '03000008 02000005' + // PRF HMAC_SHA2_256
      '03000008 0300000c' + // INTEG HMAC_SHA2_256_128
      '00000008 04000013', // KE 19, last transform
    payloads: [
      {
        type: PayloadType.SA,
        proposals: [
          {
            num: 1,
            protocolId: ProtocolId.IKE,
            spi: Buffer.alloc(0),
            transforms: [
              { type: TransformType.ENCR, id: EncrId.ENCR_AES_CBC, keyLength: 128 },
              { type: TransformType.PRF, id: PrfId.PRF_HMAC_SHA2_256 },
              { type: TransformType.INTEG, id: IntegId.AUTH_HMAC_SHA2_256_128 },
              { type: TransformType.KE, id: KeGroup.ECP_256 },
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'SA: two ESP proposals with SPIs, ESN and an unknown TLV attribute',
    first: PayloadType.SA,
    bytes:
      '0000003e' +
      '0200001a 01030401 c0000201' + // more proposals, length 26, #1, ESP, SPI size 4, 1 transform, SPI
      '0000000e 05000001 00020002 abcd' + // ESN on, unknown TLV attribute type 2 with a 2-byte value
      '00000020 02030402 c0000202' + // last proposal, length 32, #2, ESP, 2 transforms
      '03000008 01000014' + // ENCR AES_GCM_16
      '0000000c 05000000 80010007', // ESN off, unknown TV attribute type 1 value 7
    payloads: [
      {
        type: PayloadType.SA,
        proposals: [
          {
            num: 1,
            protocolId: ProtocolId.ESP,
            spi: hex('c0000201'),
            transforms: [
              {
                type: TransformType.ESN,
                id: 1,
                unknownAttributes: [{ type: 2, tv: false, value: hex('abcd') }],
              },
            ],
          },
          {
            num: 2,
            protocolId: ProtocolId.ESP,
            spi: hex('c0000202'),
            transforms: [
              { type: TransformType.ENCR, id: EncrId.ENCR_AES_GCM_16 },
              { type: TransformType.ESN, id: 0, unknownAttributes: [{ type: 1, tv: true, value: hex('0007') }] },
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'KE, Nonce, Vendor ID chain',
    first: PayloadType.KE,
    bytes:
      '2800000c 001f0000 01020304' + // KE group 31, 4 bytes, next Nonce
      '2b000014 000102030405060708090a0b0c0d0e0f' + // Nonce 16 bytes, next Vendor ID
      '00000007 616263', // Vendor ID "abc"
    payloads: [
      { type: PayloadType.KE, group: KeGroup.CURVE25519, data: hex('01020304') },
      { type: PayloadType.NONCE, data: hex('000102030405060708090a0b0c0d0e0f') },
      { type: PayloadType.VENDOR_ID, data: Buffer.from('abc') },
    ],
  },
  {
    name: 'IDi FQDN, AUTH PSK, IDr IPv4',
    first: PayloadType.IDi,
    bytes:
      '2700000c 02000000 77657374' + // IDi ID_FQDN "west", next AUTH
      '2400000c 02000000 aabbccdd' + // AUTH shared key, next IDr
      '0000000c 01000000 c0000201', // IDr ID_IPV4_ADDR 192.0.2.1
    payloads: [
      { type: PayloadType.IDi, idType: IdType.ID_FQDN, data: Buffer.from('west') },
      { type: PayloadType.AUTH, method: AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE, data: hex('aabbccdd') },
      { type: PayloadType.IDr, idType: IdType.ID_IPV4_ADDR, data: hex('c0000201') },
    ],
  },
  {
    name: 'CERT and CERTREQ',
    first: PayloadType.CERT,
    bytes: '26000008 04308201' + '00000009 04112233 44',
    payloads: [
      { type: PayloadType.CERT, certEncoding: 4, data: hex('308201') },
      { type: PayloadType.CERTREQ, certEncoding: 4, data: hex('11223344') },
    ],
  },
  {
    name: 'Notify REKEY_SA with an ESP SPI, then status notify without SPI carrying data',
    first: PayloadType.NOTIFY,
    bytes:
      '2900000c 03044009 11223344' + // ESP, SPI size 4, REKEY_SA, SPI
      '0000000c 00004001 0000000a', // SET_WINDOW_SIZE 10
    payloads: [
      {
        type: PayloadType.NOTIFY,
        protocolId: ProtocolId.ESP,
        spi: hex('11223344'),
        notifyType: NotifyType.REKEY_SA,
        data: Buffer.alloc(0),
      },
      {
        type: PayloadType.NOTIFY,
        protocolId: 0,
        spi: Buffer.alloc(0),
        notifyType: NotifyType.SET_WINDOW_SIZE,
        data: hex('0000000a'),
      },
    ],
  },
  {
    name: 'Delete: two ESP SPIs, then IKE SA delete',
    first: PayloadType.DELETE,
    bytes: '2a000010 03040002 aabbccdd 11223344' + '00000008 01000000',
    payloads: [
      { type: PayloadType.DELETE, protocolId: ProtocolId.ESP, spiSize: 4, spis: [hex('aabbccdd'), hex('11223344')] },
      { type: PayloadType.DELETE, protocolId: ProtocolId.IKE, spiSize: 0, spis: [] },
    ],
  },
  {
    name: 'TSi IPv4 range, TSr IPv6 range with TCP port 443',
    first: PayloadType.TSi,
    bytes:
      '2d000018 01000000 07000010 0000ffff c0000200 c00002ff' +
      '00000030 01000000 08060028 01bb01bb' +
      '20010db8000000000000000000000000 20010db8ffffffffffffffffffffffff',
    payloads: [
      {
        type: PayloadType.TSi,
        selectors: [
          {
            tsType: TsType.TS_IPV4_ADDR_RANGE,
            ipProtocol: 0,
            startPort: 0,
            endPort: 0xffff,
            startAddr: hex('c0000200'),
            endAddr: hex('c00002ff'),
          },
        ],
      },
      {
        type: PayloadType.TSr,
        selectors: [
          {
            tsType: TsType.TS_IPV6_ADDR_RANGE,
            ipProtocol: 6,
            startPort: 443,
            endPort: 443,
            startAddr: hex('20010db8000000000000000000000000'),
            endAddr: hex('20010db8ffffffffffffffffffffffff'),
          },
        ],
      },
    ],
  },
  {
    name: 'CP request for an address, DNS and the application version',
    first: PayloadType.CP,
    bytes: '00000015 01000000 00010000 00030000 00070001 61',
    payloads: [
      {
        type: PayloadType.CP,
        cfgType: CfgType.CFG_REQUEST,
        attributes: [
          { type: CpAttr.INTERNAL_IP4_ADDRESS, value: Buffer.alloc(0) },
          { type: CpAttr.INTERNAL_IP4_DNS, value: Buffer.alloc(0) },
          { type: CpAttr.APPLICATION_VERSION, value: Buffer.from('a') },
        ],
      },
    ],
  },
  {
    name: 'EAP (Identity request) is kept whole',
    first: PayloadType.EAP,
    bytes: '00000009 0101000501',
    payloads: [{ type: PayloadType.EAP, data: hex('0101000501') }],
  },
  {
    name: 'unknown payloads: non-critical then critical, then SK naming its first inner payload',
    first: 200,
    bytes: 'c9000006 beef' + '2e800004' + '29000008 01020304',
    payloads: [
      { type: 'unknown', payloadType: 200, critical: false, data: hex('beef') },
      { type: 'unknown', payloadType: 201, critical: true, data: Buffer.alloc(0) },
      { type: PayloadType.SK, firstPayload: PayloadType.NOTIFY, data: hex('01020304') },
    ],
  },
  {
    name: 'SKF fragment 1 of 2',
    first: PayloadType.SKF,
    bytes: '2300000c 00010002 aabbccdd',
    payloads: [
      {
        type: PayloadType.SKF,
        firstPayload: PayloadType.IDi,
        fragmentNumber: 1,
        totalFragments: 2,
        data: hex('aabbccdd'),
      },
    ],
  },
];

for (const c of cases) {
  test(`payloads: ${c.name}`, () => {
    const bytes = hex(c.bytes);
    assert.deepStrictEqual(decodePayloads(bytes, c.first, 0, bytes.length), c.payloads);
    assert.equal(encodedLengthPayloads(c.payloads), bytes.length);
    const out = Buffer.alloc(bytes.length);
    assert.equal(encodePayloads(c.payloads, out, 0), bytes.length);
    assert.equal(out.toString('hex'), bytes.toString('hex'));
  });
}

const bad: { name: string; first: number; bytes: string; offset?: number }[] = [
  { name: 'payload header truncated', first: PayloadType.NONCE, bytes: '000000' },
  { name: 'payload length below 4', first: PayloadType.NONCE, bytes: '00000003 00' },
  { name: 'payload length past the end', first: PayloadType.NONCE, bytes: '0000000a 0001020304' },
  { name: 'chain ends but bytes remain', first: PayloadType.NONCE, bytes: '00000005 01 ff' },
  { name: 'chain names a next payload past the end', first: PayloadType.NONCE, bytes: '28000005 01' },
  { name: 'SK not last', first: PayloadType.SK, bytes: '29000004 28000004' },
  { name: 'KE shorter than its fixed part', first: PayloadType.KE, bytes: '00000007 001300' },
  { name: 'Notify SPI past the end', first: PayloadType.NOTIFY, bytes: '0000000a 03044009 1122' },
  { name: 'Delete count disagrees with length', first: PayloadType.DELETE, bytes: '0000000c 03040002 aabbccdd' },
  { name: 'Delete SPIs of size 0', first: PayloadType.DELETE, bytes: '00000008 01000001' },
  {
    name: 'TS selector length wrong',
    first: PayloadType.TSi,
    bytes: '00000018 01000000 0700000f 0000ffff c0000200 c00002',
  },
  { name: 'TS unknown type', first: PayloadType.TSi, bytes: '00000018 01000000 09000010 0000ffff c0000200 c00002ff' },
  {
    name: 'TS count larger than selectors',
    first: PayloadType.TSi,
    bytes: '00000018 02000000 07000010 0000ffff c0000200 c00002ff',
  },
  { name: 'TS bytes after selectors', first: PayloadType.TSi, bytes: '0000000a 00000000 0000' },
  { name: 'CP attribute past the end', first: PayloadType.CP, bytes: '0000000c 01000000 00010004' },
  { name: 'SKF shorter than its fields', first: PayloadType.SKF, bytes: '00000007 000100' },
  {
    name: 'proposal marked last but another follows',
    first: PayloadType.SA,
    bytes: '00000014 00000008 01010000 00000008 02010000',
  },
  { name: 'proposal marked more but none follows', first: PayloadType.SA, bytes: '0000000c 02000008 01010000' },
  { name: 'proposal Last Substruc invalid', first: PayloadType.SA, bytes: '0000000c 03000008 01010000' },
  { name: 'proposal length below 8', first: PayloadType.SA, bytes: '0000000c 00000007 01010000' },
  { name: 'proposal SPI past its length', first: PayloadType.SA, bytes: '0000000c 00000008 01010400' },
  {
    name: 'transform count says 2, one present',
    first: PayloadType.SA,
    bytes: '00000014 00000010 01010002 00000008 01000014',
  },
  {
    name: 'transform marked more but is the last one',
    first: PayloadType.SA,
    bytes: '00000014 00000010 01010001 03000008 01000014',
  },
  {
    name: 'proposal longer than its transforms',
    first: PayloadType.SA,
    bytes: '00000018 00000014 01010001 00000008 01000014 00000000',
  },
  {
    name: 'transform attribute truncated',
    first: PayloadType.SA,
    bytes: '00000016 00000012 01010001 0000000a 0100000c 800e',
  },
  {
    name: 'TLV attribute value past the transform',
    first: PayloadType.SA,
    bytes: '00000018 00000014 01010001 0000000c 0100000c 00020009',
  },
];

for (const b of bad) {
  test(`payloads reject: ${b.name}`, () => {
    const bytes = hex(b.bytes);
    assert.throws(() => decodePayloads(bytes, b.first, 0, bytes.length), ParseError);
  });
}
