/** Retransmission (RFC 7296 2.1): exponential back-off, give-up, cached responses, old requests ignored. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExchangeType } from '../../src/ike/codec/constants.js';
import { Pair, describe } from './exchange-helper.js';

const retransmit = { timeoutSec: 4, base: 1.8, tries: 3, limitSec: 0 };

test('retransmission: a lost IKE_SA_INIT request is resent after 4 s with the same bytes', () => {
  const p = new Pair({ engine: { retransmit } });
  p.initiate();
  // HDR, SAi1, KEi, Ni -->   (lost)
  const lost = p.drop('i');
  assert.equal(p.i.nextTimerMs(), p.nowMs + 4000);
  p.advance(4000);
  // HDR, SAi1, KEi, Ni -->   (retransmit, identical)
  const again = p.take('i');
  assert.deepEqual(again.bytes, lost.bytes);
  p.deliverDatagram(again);
  p.run();
  assert.equal(p.events('i', 'ikeSaEstablished').length, 1);
});

test('retransmission: a lost response is answered from the responder cache, not processed twice', () => {
  const p = new Pair({ engine: { retransmit } });
  p.initiate();
  p.deliver('i');
  p.deliver('r');
  // HDR, SK { IDi, AUTH, SAi2, TSi, TSr } -->
  const auth = p.deliver('i');
  // <-- HDR, SK { IDr, AUTH, SAr2, TSi, TSr }   (lost)
  const lost = p.drop('r');
  p.advance(4000);
  // HDR, SK { IDi, AUTH, ... } -->   (retransmit)
  const again = p.deliver('i');
  assert.deepEqual(again.bytes, auth.bytes);
  // <-- the cached response, byte for byte
  const cached = p.take('r');
  assert.deepEqual(cached.bytes, lost.bytes);
  p.deliverDatagram(cached);
  assert.equal(p.events('r', 'ikeSaEstablished').length, 1, 'the responder processed the request once');
  assert.equal(p.events('r', 'childSaInstalled').length, 1);
  assert.equal(p.events('i', 'childSaInstalled').length, 1);
  // An old request (message ID 0 again, IKE_SA_INIT) arriving late is answered from its own cache or ignored.
  const before = p.r.ikeSas()[0]?.state;
  p.r.receiveDatagram(auth.bytes, auth.from, auth.to, p.nowMs);
  p.pump();
  assert.equal(p.r.ikeSas()[0]?.state, before);
});

test('retransmission: exponential back-off 4, 7.2, 12.96 s then give up after the last timeout', () => {
  const p = new Pair({ engine: { retransmit } });
  p.initiate();
  p.run();
  const [sa] = p.events('i', 'ikeSaEstablished');
  assert.ok(sa);
  p.i.checkLiveness(sa.ikeSaId, p.nowMs);
  p.pump();
  // HDR, SK { } -->   (each one lost)
  const start = p.nowMs;
  const sendTimes: number[] = [];
  for (;;) {
    while (p.wire.length > 0) {
      assert.equal(describe(p.drop('i')).exchangeType, ExchangeType.INFORMATIONAL);
      sendTimes.push(p.nowMs - start);
    }
    const next = p.i.nextTimerMs();
    if (next === undefined || p.events('i', 'ikeSaDeleted').length > 0) break;
    p.advance(next - p.nowMs);
  }
  assert.deepEqual(
    sendTimes.map((t) => Math.round(t)),
    [0, 4000, 4000 + 7200, 4000 + 7200 + 12960],
  );
  const [gone] = p.events('i', 'ikeSaDeleted');
  assert.equal(gone?.reason, 'peer not responding');
  assert.equal(Math.round(p.nowMs - start), 4000 + 7200 + 12960 + 23328);
  assert.equal(p.events('i', 'childSaDeleted').length, 1);
  assert.equal(p.i.ikeSas().length, 0);
});

test('retransmission: duplicated and reordered datagrams do not disturb the exchange', () => {
  const p = new Pair();
  p.initiate();
  const init = p.take('i');
  p.deliverDatagram(init);
  p.deliverDatagram(init); // duplicate IKE_SA_INIT: answered again from the half-open SA
  const r1 = p.take('r');
  const r2 = p.take('r');
  assert.deepEqual(r1.bytes, r2.bytes);
  p.deliverDatagram(r2);
  p.deliverDatagram(r1); // late duplicate response: ignored
  p.run();
  assert.equal(p.events('i', 'ikeSaEstablished').length, 1);
  assert.equal(p.events('r', 'ikeSaEstablished').length, 1);
  assert.equal(p.r.ikeSas().length, 1);
  assert.ok(p.i.drops.notExpected >= 1);
});

test('old requests (message ID below the last answered one) are ignored without an answer', () => {
  const p = new Pair();
  p.initiate();
  p.deliver('i');
  p.deliver('r');
  const auth = p.deliver('i'); // message ID 1
  p.deliver('r');
  const [e] = p.events('i', 'ikeSaEstablished');
  assert.ok(e);
  p.i.checkLiveness(e.ikeSaId, p.nowMs); // message ID 2
  p.run();
  const before = p.r.drops.notExpected;
  // HDR(message ID 1), SK { IDi, AUTH, ... } -->   replayed after ID 2 was answered
  p.r.receiveDatagram(auth.bytes, auth.from, auth.to, p.nowMs);
  p.pump();
  assert.equal(p.wire.length, 0, 'no answer');
  assert.equal(p.r.drops.notExpected, before + 1);
});
