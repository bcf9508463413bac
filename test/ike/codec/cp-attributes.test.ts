/**
 * Configuration attributes (RFC 7296 3.15.1): each type's valid lengths and meaning, round trips, and hostile input
 * (random CP payload bodies and attribute values only ever give ParseError; what decodes re-encodes to its bytes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../../src/common/errors.js';
import { CfgType, CpAttr, PayloadType } from '../../../src/ike/codec/constants.js';
import {
  decodeConfigAttribute,
  decodeConfigAttributes,
  encodeConfigAttribute,
} from '../../../src/ike/codec/cp-attributes.js';
import type { ConfigAttribute } from '../../../src/ike/codec/cp-attributes.js';
import { decodePayloadBody, encodePayload, encodedLengthPayload } from '../../../src/ike/codec/message.js';
import type { CpPayload } from '../../../src/ike/codec/types.js';
import { Prng } from './prng.js';

const h = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex');

test('attribute values: addresses, IPv6 address with prefix, subnets, requests, supported types', () => {
  const cases: [number, string, ConfigAttribute][] = [
    [CpAttr.INTERNAL_IP4_ADDRESS, 'c6336481', { kind: 'address', type: 1, address: '198.51.100.129' }],
    [CpAttr.INTERNAL_IP4_ADDRESS, '', { kind: 'address', type: 1 }],
    [CpAttr.INTERNAL_IP4_NETMASK, 'ffffff80', { kind: 'address', type: 2, address: '255.255.255.128' }],
    [CpAttr.INTERNAL_IP4_DNS, 'c6336435', { kind: 'address', type: 3, address: '198.51.100.53' }],
    [
      CpAttr.INTERNAL_IP6_ADDRESS,
      '20010db8000100000000000000000001 40',
      { kind: 'address6', type: 8, address: '2001:db8:1::1', prefix: 64 },
    ],
    [CpAttr.INTERNAL_IP6_ADDRESS, '', { kind: 'address6', type: 8 }],
    [
      CpAttr.INTERNAL_IP6_DNS,
      '20010db8000200000000000000000053',
      { kind: 'address', type: 10, address: '2001:db8:2::53' },
    ],
    [CpAttr.INTERNAL_IP4_SUBNET, 'cb007100 ffffff00', { kind: 'subnet', type: 13, subnet: '203.0.113.0/24' }],
    [
      CpAttr.INTERNAL_IP6_SUBNET,
      '20010db8000200000000000000000000 30',
      { kind: 'subnet', type: 15, subnet: '2001:db8:2::/48' },
    ],
    [CpAttr.SUPPORTED_ATTRIBUTES, '0001 0003 000d', { kind: 'types', type: 14, types: [1, 3, 13] }],
    [CpAttr.APPLICATION_VERSION, '7473', { kind: 'raw', type: 7, value: Buffer.from('ts') }],
    [28674, '6162', { kind: 'raw', type: 28674, value: Buffer.from('ab') }],
  ];
  for (const [type, value, want] of cases) {
    const got = decodeConfigAttribute({ type, value: h(value) });
    assert.deepEqual(got, want, `type ${type}`);
    assert.deepEqual(encodeConfigAttribute(got), { type, value: h(value) }, `type ${type} re-encodes`);
  }
});

test('attribute values of a wrong length or meaning are ParseErrors', () => {
  const bad: [number, string][] = [
    [CpAttr.INTERNAL_IP4_ADDRESS, 'c63364'],
    [CpAttr.INTERNAL_IP4_DNS, 'c633643500'],
    [CpAttr.INTERNAL_IP6_ADDRESS, '20010db8000100000000000000000001'],
    [CpAttr.INTERNAL_IP6_ADDRESS, '20010db8000100000000000000000001 81'],
    [CpAttr.INTERNAL_IP6_DNS, '20010db8'],
    [CpAttr.INTERNAL_IP4_SUBNET, 'cb007100 ff00ff00'],
    [CpAttr.INTERNAL_IP4_SUBNET, 'cb007100'],
    [CpAttr.INTERNAL_IP6_SUBNET, '20010db8000200000000000000000000 ff'],
    [CpAttr.SUPPORTED_ATTRIBUTES, '000100'],
  ];
  for (const [type, value] of bad)
    assert.throws(() => decodeConfigAttribute({ type, value: h(value) }), ParseError, `${type} ${value}`);
});

test('a CP payload round trip through the payload codec', () => {
  const p: CpPayload = {
    type: PayloadType.CP,
    cfgType: CfgType.CFG_REPLY,
    attributes: [
      encodeConfigAttribute({ kind: 'address', type: CpAttr.INTERNAL_IP4_ADDRESS, address: '198.51.100.129' }),
      encodeConfigAttribute({ kind: 'subnet', type: CpAttr.INTERNAL_IP4_SUBNET, subnet: '203.0.113.0/24' }),
    ],
  };
  const wire = Buffer.alloc(encodedLengthPayload(p));
  assert.equal(encodePayload(p, 0, wire, 0), wire.length);
  assert.deepEqual(
    wire,
    h('00 00 001c 02000000 0001 0004 c6336481 000d 0008 cb007100 ffffff00'),
    'generic header, CFG_REPLY, two attributes (RFC 7296 3.15)',
  );
  const back = decodePayloadBody(PayloadType.CP, false, wire, 4);
  assert.equal(back.type, PayloadType.CP);
  assert.deepEqual(decodeConfigAttributes(back.type === PayloadType.CP ? back.attributes : []), [
    { kind: 'address', type: 1, address: '198.51.100.129' },
    { kind: 'subnet', type: 13, subnet: '203.0.113.0/24' },
  ]);
});

test('hostile input: random CP bodies and attribute values give ParseError only; decoded values re-encode', () => {
  const r = new Prng(1315);
  const types = [1, 2, 3, 4, 6, 7, 8, 10, 12, 13, 14, 15, 17, 18, 20, 21, 0, 0x7fff];
  let decoded = 0;
  for (let n = 0; n < 20_000; n++) {
    const lengths = [0, 4, 8, 16, 17, r.int(0, 40)];
    const value = r.bytes(r.pick(lengths));
    const type = r.pick(types);
    let got: ConfigAttribute | undefined;
    try {
      got = decodeConfigAttribute({ type, value });
    } catch (e) {
      if (!(e instanceof ParseError)) assert.fail(`type ${type} ${value.toString('hex')}: ${String(e)}`);
    }
    if (got === undefined) continue;
    decoded++;
    if (got.kind !== 'types')
      assert.deepEqual(encodeConfigAttribute(got).value, value, `${type} ${value.toString('hex')}`);
  }
  assert.ok(decoded > 5000);
  for (let n = 0; n < 5000; n++) {
    const body = r.bytes(r.int(0, 60));
    if (r.bool() && body.length > 8) body.writeUInt16BE(r.int(0, body.length), 6);
    try {
      const p = decodePayloadBody(PayloadType.CP, false, body);
      if (p.type === PayloadType.CP) decodeConfigAttributes(p.attributes);
    } catch (e) {
      if (!(e instanceof ParseError)) assert.fail(`${body.toString('hex')}: ${String(e)}`);
    }
  }
});
