/** IKE header and whole-message codec: fixed bytes, rejections, and the re-encoding property. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../../src/common/errors.js';
import {
  ExchangeType,
  PayloadType,
  decodeHeader,
  decodeMessage,
  encodeMessage,
  encodedLengthMessage,
} from '../../../src/ike/codec/index.js';
import type { IkeMessage } from '../../../src/ike/codec/index.js';
import { hex } from '../../helpers/vectors.js';
import { randomMessage } from './generate.js';
import { Prng } from './prng.js';

// An INFORMATIONAL request: SPIs, Next Payload SK, version 2.0, exchange 37, flags I, message ID 9, length 40,
// then an SK payload (Next Payload Notify) with 8 opaque bytes.
const INFO = hex('0011223344556677 8899aabbccddeeff 2e 20 25 08 00000009 00000028' + '2900000c 0102030405060708');

test('header: fields of a hand-assembled header', () => {
  const h = decodeHeader(INFO);
  assert.deepStrictEqual(h, {
    spiI: hex('0011223344556677'),
    spiR: hex('8899aabbccddeeff'),
    nextPayload: PayloadType.SK,
    majorVersion: 2,
    minorVersion: 0,
    exchangeType: ExchangeType.INFORMATIONAL,
    flags: { initiator: true, response: false, version: false },
    messageId: 9,
    length: 40,
  });
});

test('header: each flag bit, reserved bits ignored, unsigned message ID', () => {
  const b = Buffer.from(INFO);
  b[19] = 0x20 | 0x10 | 0x47; // R, V and all reserved bits
  b.writeUInt32BE(0xfffffffe, 20);
  const h = decodeHeader(b);
  assert.deepStrictEqual(h.flags, { initiator: false, response: true, version: true });
  assert.equal(h.messageId, 0xfffffffe);
  // Re-encoding clears the reserved bits.
  const re = encodeMessage(decodeMessage(b));
  assert.equal(re[19], 0x30);
});

test('header: offset and truncation', () => {
  const padded = Buffer.concat([hex('ffff'), INFO]);
  assert.deepStrictEqual(decodeHeader(padded, 2), decodeHeader(INFO));
  assert.throws(() => decodeHeader(INFO.subarray(0, 27)), ParseError);
  assert.throws(() => decodeHeader(padded, 2 + 13), ParseError);
});

test('message: decode and encode a hand-assembled message', () => {
  const m = decodeMessage(INFO);
  assert.deepStrictEqual(m.payloads, [
    { type: PayloadType.SK, firstPayload: PayloadType.NOTIFY, data: hex('0102030405060708') },
  ]);
  assert.equal(encodeMessage(m).toString('hex'), INFO.toString('hex'));
});

test('message: encodeMessage recomputes Next Payload and Length', () => {
  const m = decodeMessage(INFO);
  const changed: IkeMessage = {
    header: { ...m.header, nextPayload: 0, length: 1 },
    payloads: [{ type: PayloadType.NONCE, data: hex('00112233445566778899aabbccddeeff') }],
  };
  const out = encodeMessage(changed);
  assert.equal(out.length, 28 + 4 + 16);
  assert.equal(out[16], PayloadType.NONCE);
  assert.equal(out.readUInt32BE(24), 48);
  assert.equal(out.subarray(28, 32).toString('hex'), '00000014');
});

test('message: rejects a Length that disagrees with the datagram, version 3, and trailing bytes', () => {
  assert.throws(() => decodeMessage(Buffer.concat([INFO, hex('00')])), ParseError);
  assert.throws(() => decodeMessage(INFO.subarray(0, 39)), ParseError);
  const v3 = Buffer.from(INFO);
  v3[17] = 0x30;
  assert.throws(() => decodeMessage(v3), { name: 'ParseError', message: /major version 3/ });
  // The header alone still decodes, so the engine can answer INVALID_MAJOR_VERSION.
  assert.equal(decodeHeader(v3).majorVersion, 3);
  const noPayloads = Buffer.from(INFO.subarray(0, 28));
  noPayloads[16] = 0;
  noPayloads.writeUInt32BE(28, 24);
  assert.deepStrictEqual(decodeMessage(noPayloads).payloads, []);
  const dangling = Buffer.from(noPayloads);
  dangling[16] = PayloadType.NONCE;
  assert.throws(() => decodeMessage(dangling), ParseError);
});

test('message: encode then decode gives the message back, and re-encoding gives the same bytes (2,000 generated)', () => {
  const r = new Prng(0x1c0de);
  for (let i = 0; i < 2000; i++) {
    const msg = randomMessage(r);
    const bytes = encodeMessage(msg);
    assert.equal(bytes.length, encodedLengthMessage(msg));
    const decoded = decodeMessage(bytes);
    const first = msg.payloads[0];
    const firstType = first === undefined ? 0 : first.type === 'unknown' ? first.payloadType : first.type;
    assert.deepStrictEqual(decoded, {
      header: { ...msg.header, nextPayload: firstType, length: bytes.length },
      payloads: msg.payloads,
    });
    assert.ok(encodeMessage(decoded).equals(bytes), `message ${i} re-encodes differently`);
  }
});
