/**
 * The message rules table applied by the engine (RFC 7296 2.5, 2.21.2): an unknown critical payload in an
 * authenticated request gets UNSUPPORTED_CRITICAL_PAYLOAD, a duplicate payload INVALID_SYNTAX; a broken
 * IKE_SA_INIT request is dropped without state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncrId } from '../../src/crypto/ids.js';
import { NotifyType, PayloadType } from '../../src/ike/codec/constants.js';
import { decodeMessage, encodeMessage } from '../../src/ike/codec/message.js';
import type { Payload } from '../../src/ike/codec/types.js';
import { createSkCrypter } from '../../src/ike/protection/sk-crypter.js';
import type { SkCrypter } from '../../src/ike/protection/sk-crypter.js';
import { createTestRng } from '../../src/crypto/index.js';
import { Pair } from './exchange-helper.js';

function crypters(p: Pair): { i: SkCrypter; r: SkCrypter } {
  const sa = p.i.ikeSas()[0];
  assert.ok(sa?.keys);
  const rng = createTestRng('rules');
  return {
    i: createSkCrypter({ encrId: EncrId.ENCR_AES_GCM_16, skE: sa.keys.skEi }, rng),
    r: createSkCrypter({ encrId: EncrId.ENCR_AES_GCM_16, skE: sa.keys.skEr }, rng),
  };
}

function tamperedAuth(p: Pair, change: (inner: Payload[]) => Payload[]): { notifyTypes: number[] } {
  p.initiate();
  p.deliver('i');
  p.deliver('r');
  const auth = p.take('i');
  const c = crypters(p);
  const opened = c.i.open(auth.bytes);
  assert.ok(opened.ok);
  const resealed = c.i.seal(opened.header, change(opened.payloads));
  p.r.receiveDatagram(resealed, auth.from, auth.to, p.nowMs);
  p.pump();
  const answer = p.take('r');
  const back = c.r.open(answer.bytes);
  assert.ok(back.ok);
  return { notifyTypes: back.payloads.flatMap((x) => (x.type === PayloadType.NOTIFY ? [x.notifyType] : [])) };
}

test('IKE_AUTH request with an unknown critical payload: UNSUPPORTED_CRITICAL_PAYLOAD, nothing established', () => {
  const p = new Pair();
  const r = tamperedAuth(p, (inner) => [
    ...inner,
    { type: 'unknown', payloadType: 200, critical: true, data: Buffer.from('x') },
  ]);
  assert.deepEqual(r.notifyTypes, [NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD]);
  assert.equal(p.events('r', 'ikeSaEstablished').length, 0);
});

test('IKE_AUTH request with an unknown non-critical payload: skipped, the IKE_SA comes up', () => {
  const p = new Pair();
  const r = tamperedAuth(p, (inner) => [
    ...inner,
    { type: 'unknown', payloadType: 200, critical: false, data: Buffer.from('x') },
  ]);
  assert.deepEqual(r.notifyTypes, []);
  assert.equal(p.events('r', 'ikeSaEstablished').length, 1);
});

test('IKE_AUTH request with two AUTH payloads: INVALID_SYNTAX', () => {
  const p = new Pair();
  const r = tamperedAuth(p, (inner) => {
    const auth = inner.find((x) => x.type === PayloadType.AUTH);
    assert.ok(auth);
    return [...inner, auth];
  });
  assert.deepEqual(r.notifyTypes, [NotifyType.INVALID_SYNTAX]);
  assert.equal(p.events('r', 'ikeSaEstablished').length, 0);
});

test('IKE_SA_INIT request with two KE payloads is dropped without state or answer', () => {
  const p = new Pair();
  p.initiate();
  const init = p.take('i');
  const msg = decodeMessage(init.bytes);
  const ke = msg.payloads.find((x) => x.type === PayloadType.KE);
  assert.ok(ke);
  const bad = encodeMessage({ header: msg.header, payloads: [...msg.payloads, ke] });
  p.r.receiveDatagram(bad, init.from, init.to, p.nowMs);
  p.pump();
  assert.equal(p.wire.length, 0);
  assert.equal(p.r.ikeSas().length, 0);
  assert.equal(p.r.drops.malformed, 1);
});

test('a request of major version 3 is answered with INVALID_MAJOR_VERSION (RFC 7296 2.5), without state', () => {
  const p = new Pair();
  p.initiate();
  const init = p.take('i');
  const v3 = Buffer.from(init.bytes);
  v3[17] = 0x30;
  p.r.receiveDatagram(v3, init.from, init.to, p.nowMs);
  p.pump();
  const answer = p.take('r');
  const msg = decodeMessage(answer.bytes);
  assert.equal(msg.header.majorVersion, 2);
  assert.equal(msg.header.flags.response, true);
  const n = msg.payloads[0];
  assert.equal(n?.type === PayloadType.NOTIFY ? n.notifyType : 0, NotifyType.INVALID_MAJOR_VERSION);
  assert.equal(p.r.ikeSas().length, 0);
});
