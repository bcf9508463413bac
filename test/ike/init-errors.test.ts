/** IKE_SA_INIT error paths: INVALID_KE_PAYLOAD retry, COOKIE round, NO_PROPOSAL_CHOSEN (RFC 7296 1.2, 2.6, 2.7). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeGroup } from '../../src/crypto/ids.js';
import { NotifyType, PayloadType } from '../../src/ike/codec/constants.js';
import { decodeMessage } from '../../src/ike/codec/message.js';
import type { NotifyPayload } from '../../src/ike/codec/types.js';
import { Pair } from './exchange-helper.js';

function notifies(bytes: Buffer): NotifyPayload[] {
  return decodeMessage(bytes).payloads.filter((p): p is NotifyPayload => p.type === PayloadType.NOTIFY);
}

test('INVALID_KE_PAYLOAD: the initiator retries with the group the responder asks for', () => {
  const p = new Pair(
    { conn: { proposals: ['aes128gcm16-prfsha256-x25519-ecp256'] } },
    { conn: { proposals: ['aes128gcm16-prfsha256-ecp256'] } },
  );
  p.initiate();
  // HDR, SAi1, KEi(x25519), Ni -->
  const first = p.deliver('i');
  const ke1 = decodeMessage(first.bytes).payloads.find((x) => x.type === PayloadType.KE);
  assert.equal(ke1?.type === PayloadType.KE ? ke1.group : 0, KeGroup.CURVE25519);
  // <-- HDR, N(INVALID_KE_PAYLOAD, 19)
  const refuse = p.deliver('r');
  const n = notifies(refuse.bytes);
  assert.equal(n[0]?.notifyType, NotifyType.INVALID_KE_PAYLOAD);
  assert.equal(n[0]?.data.readUInt16BE(0), KeGroup.ECP_256);
  assert.equal(p.r.ikeSas().length, 0, 'the responder keeps no state');
  // HDR, SAi1, KEi(ecp256), Ni -->
  const second = p.deliver('i');
  const ke2 = decodeMessage(second.bytes).payloads.find((x) => x.type === PayloadType.KE);
  assert.equal(ke2?.type === PayloadType.KE ? ke2.group : 0, KeGroup.ECP_256);
  p.run();
  const [e] = p.events('i', 'ikeSaEstablished');
  assert.match(e?.proposal ?? '', /ECP_256/);
  assert.equal(p.events('r', 'childSaInstalled').length, 1);
});

test('COOKIE: above the half-open threshold the responder answers statelessly with a cookie', () => {
  const p = new Pair({}, { engine: { cookieThreshold: 0 } });
  p.initiate();
  // HDR, SAi1, KEi, Ni -->
  p.deliver('i');
  // <-- HDR, N(COOKIE)
  const c = p.deliver('r');
  const [cookie] = notifies(c.bytes);
  assert.equal(cookie?.notifyType, NotifyType.COOKIE);
  assert.equal(p.r.ikeSas().length, 0);
  // HDR, N(COOKIE), SAi1, KEi, Ni -->
  const retry = p.deliver('i');
  const [echo] = decodeMessage(retry.bytes).payloads;
  assert.equal(echo?.type === PayloadType.NOTIFY ? echo.notifyType : 0, NotifyType.COOKIE);
  assert.deepEqual(echo?.type === PayloadType.NOTIFY ? echo.data : undefined, cookie?.data);
  // <-- HDR, SAr1, KEr, Nr ...
  p.run();
  assert.equal(p.events('i', 'ikeSaEstablished').length, 1);
  assert.equal(p.events('r', 'ikeSaEstablished').length, 1);
});

test('COOKIE: a forged cookie is refused, and the secret rotates (old cookies stay valid one period)', () => {
  const p = new Pair({}, { engine: { cookieThreshold: 0, cookieSecretLifetimeSec: 60 } });
  p.initiate();
  p.deliver('i');
  p.deliver('r');
  const retry = p.take('i');
  const forged = Buffer.from(retry.bytes);
  // Cookie data starts after the IKE header (28), generic header (4) and notify header (4).
  const cookieData = 28 + 4 + 4;
  forged[cookieData + 5] = (forged[cookieData + 5] ?? 0) ^ 0xff;
  p.r.receiveDatagram(forged, retry.from, retry.to, p.nowMs);
  p.pump();
  assert.equal(p.r.ikeSas().length, 0);
  assert.equal(p.r.drops.cookie, 2);
  p.wire.length = 0;
  p.nowMs += 61_000; // one rotation: the real cookie is still accepted
  p.deliverDatagram(retry);
  assert.equal(p.r.ikeSas().length, 1);
});

test('NO_PROPOSAL_CHOSEN: no common IKE proposal ends the attempt on both sides', () => {
  const p = new Pair(
    { conn: { proposals: ['aes256-sha384-ecp384'] } },
    { conn: { proposals: ['chacha20poly1305-prfsha256-x25519'] } },
  );
  p.initiate();
  // HDR, SAi1, KEi, Ni -->
  p.deliver('i');
  // <-- HDR, N(NO_PROPOSAL_CHOSEN)
  const r = p.deliver('r');
  assert.equal(notifies(r.bytes)[0]?.notifyType, NotifyType.NO_PROPOSAL_CHOSEN);
  const [failed] = p.events('i', 'ikeSaFailed');
  assert.equal(failed?.notifyType, NotifyType.NO_PROPOSAL_CHOSEN);
  assert.equal(p.i.ikeSas().length, 0);
  assert.equal(p.r.ikeSas().length, 0);
  assert.equal(p.wire.length, 0);
});
