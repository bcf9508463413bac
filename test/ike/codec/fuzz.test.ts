/**
 * Hostile input: random bytes and mutated valid messages into every decoder. The only exception allowed
 * is ParseError; whatever decodes must re-encode and decode to the same structure. Deterministic seeds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../../src/common/errors.js';
import {
  PayloadType,
  decodeHeader,
  decodeMessage,
  decodePayloadBody,
  decodePayloads,
  encodeMessage,
  validateMessageRules,
} from '../../../src/ike/codec/index.js';
import { hex, loadVectors } from '../../helpers/vectors.js';
import { randomMessage } from './generate.js';
import { ikeMessagesFromPcap } from './ike-pcap.js';
import { Prng } from './prng.js';

function seeds(): Buffer[] {
  const r = new Prng(7);
  const generated = Array.from({ length: 40 }, () => encodeMessage(randomMessage(r)));
  const v = loadVectors<{ ikev2_example: { ike_message: string } }>('rfc7634.json');
  return [
    ...ikeMessagesFromPcap('ikev2four.pcap'),
    ...ikeMessagesFromPcap('ikev2pI2.pcap'),
    hex(v.ikev2_example.ike_message),
    ...generated,
  ];
}

/** Run fn; a ParseError counts as a rejection, anything else fails the test. */
function guarded<T>(what: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ParseError) return undefined;
    assert.fail(`${what}: threw ${String(e)}`);
  }
}

function mutate(r: Prng, seed: Buffer): Buffer {
  let b = Buffer.from(seed);
  for (let n = r.int(1, 4); n > 0; n--) {
    const at = b.length === 0 ? 0 : r.int(0, b.length - 1);
    switch (r.int(0, 6)) {
      case 0:
        if (b.length > 0) b[at] = (b[at] ?? 0) ^ (1 << r.int(0, 7));
        break;
      case 1:
        if (b.length > 0) b[at] = r.pick([0, 1, 0x7f, 0x80, 0xff, r.int(0, 255)]);
        break;
      case 2:
        if (b.length > 1)
          b.writeUInt16BE(r.pick([0, 1, 3, 4, 5, 8, 0xffff, r.int(0, 600)]), Math.min(at, b.length - 2));
        break;
      case 3:
        b = b.subarray(0, r.int(0, b.length));
        break;
      case 4:
        b = Buffer.concat([b, r.bytes(r.int(1, 16))]);
        break;
      case 5: {
        const from = r.int(0, b.length);
        const to = r.int(from, Math.min(b.length, from + 24));
        b = Buffer.concat([b.subarray(0, at), b.subarray(from, to), b.subarray(at)]);
        break;
      }
      default:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + r.int(1, 8)))]);
    }
  }
  // Mostly keep the header Length consistent so mutations reach the payload decoders.
  if (b.length >= 28 && r.int(0, 9) < 8) b.writeUInt32BE(b.length, 24);
  return b;
}

test('fuzz: 40,000 mutated messages only ever give ParseError; accepted ones re-encode stably', () => {
  const r = new Prng(0xf022);
  const corpus = seeds();
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 40000; i++) {
    const input = mutate(r, r.pick(corpus));
    const m = guarded(`mutation ${i}`, () => decodeMessage(input));
    if (m === undefined) {
      rejected++;
      continue;
    }
    accepted++;
    // The rules check never throws either.
    validateMessageRules(m);
    const once = encodeMessage(m);
    assert.ok(encodeMessage(decodeMessage(once)).equals(once), `mutation ${i} is not stable`);
  }
  assert.ok(accepted > 2000 && rejected > 2000, `accepted ${accepted}, rejected ${rejected}`);
});

test('fuzz: 6,000 random datagrams into decodeHeader and decodeMessage', () => {
  const r = new Prng(0xbad);
  let rejected = 0;
  for (let i = 0; i < 6000; i++) {
    const b = r.bytes(r.int(0, 160));
    if (b.length >= 28 && r.bool()) {
      b[17] = 0x20;
      b.writeUInt32BE(b.length, 24);
      b[16] = r.pick([...Object.values(PayloadType), r.int(0, 255)]);
    }
    guarded(`random header ${i}`, () => decodeHeader(b));
    if (guarded(`random message ${i}`, () => decodeMessage(b)) === undefined) rejected++;
  }
  assert.ok(rejected > 3000, `rejected ${rejected}`);
});

test('fuzz: 12,000 random bodies into each payload decoder and chain walker', () => {
  const r = new Prng(0xb0d1);
  const types = [...Object.values(PayloadType).filter((t) => t !== 0), 1, 200];
  let accepted = 0;
  for (let i = 0; i < 12000; i++) {
    const type = types[i % types.length] ?? 0;
    const body = r.bytes(r.int(0, 64));
    // Give structured bodies a plausible count/length byte now and then.
    if (body.length > 4 && r.bool()) body[0] = r.int(0, 3);
    if (guarded(`body ${type} #${i}`, () => decodePayloadBody(type, r.bool(), body)) !== undefined) accepted++;
    guarded(`chain ${type} #${i}`, () => decodePayloads(body, type, 0, body.length));
  }
  assert.ok(accepted > 3000, `accepted ${accepted}`);
});
