/**
 * Requests for IKE_SAs the receiver does not know (RFC 7296 2.21.4): answered with an unprotected
 * INVALID_IKE_SPI (SPIs and Message ID copied, Response flag set), rate-limited; responses and IKE_SA_INIT
 * are never answered; a received INVALID_IKE_SPI changes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExchangeType, NotifyType, PayloadType } from '../../src/ike/codec/constants.js';
import { decodeHeader } from '../../src/ike/codec/header.js';
import { decodeMessage } from '../../src/ike/codec/message.js';
import { IkeSaState } from '../../src/ike/sa-state.js';
import { TokenBucket, encodeInvalidSpiAnswer } from '../../src/ike/invalid-spi.js';
import { ADDR_I, ADDR_R, Pair } from './exchange-helper.js';
import type { InFlight } from './exchange-helper.js';

function established(): Pair {
  const p = new Pair();
  p.initiate();
  p.run();
  assert.equal(p.events('i', 'ikeSaEstablished').length, 1);
  return p;
}

/** The initiator's next request (a liveness check), taken off the wire, not delivered. */
function nextRequest(p: Pair): InFlight {
  const sa = p.i.ikeSas()[0];
  assert.ok(sa);
  p.i.checkLiveness(sa.id, p.nowMs);
  return p.take('i');
}

test('a request for an unknown IKE_SA gets an unprotected INVALID_IKE_SPI with SPIs and Message ID copied', () => {
  const p = established();
  p.restart('r'); // the responder lost every IKE_SA
  // HDR(SPIi, SPIr, INFORMATIONAL, id 2), SK {} -->
  const req = nextRequest(p);
  const reqHeader = decodeHeader(req.bytes);
  p.deliverDatagram(req);
  // <-- HDR(SPIi, SPIr, INFORMATIONAL, id 2, R), N(INVALID_IKE_SPI)   (no SK)
  const answer = p.take('r');
  assert.deepEqual([answer.from, answer.to], [req.to, req.from], 'sent back where the request came from');
  const msg = decodeMessage(answer.bytes);
  assert.ok(msg.header.spiI.equals(reqHeader.spiI) && msg.header.spiR.equals(reqHeader.spiR), 'SPIs copied');
  assert.equal(msg.header.messageId, reqHeader.messageId);
  assert.equal(msg.header.exchangeType, ExchangeType.INFORMATIONAL);
  assert.deepEqual(msg.header.flags, { initiator: false, response: true, version: false });
  assert.equal(msg.payloads.length, 1);
  const n = msg.payloads[0];
  assert.ok(n?.type === PayloadType.NOTIFY && n.notifyType === NotifyType.INVALID_IKE_SPI);
  assert.equal(p.r.invalidSpi.sent, 1);
  assert.equal(p.r.drops.unknownSpi, 1);

  // The initiator must not change any state for an unauthenticated notify (2.21.4): it keeps retransmitting.
  p.deliverDatagram(answer);
  const sa = p.i.ikeSas()[0];
  assert.equal(sa?.state, IkeSaState.ESTABLISHED);
  assert.ok(sa.active, 'the liveness check is still outstanding');
  assert.equal(p.events('i', 'ikeSaDeleted').length, 0);
  assert.equal(p.wire.length, 0, 'nothing sent in reply to INVALID_IKE_SPI');
});

test('responses and IKE_SA_INIT requests for unknown IKE_SAs are never answered', () => {
  const p = established();
  const sa = p.i.ikeSas()[0];
  assert.ok(sa);
  // A request from the responder to the initiator, whose answer (a response) goes to a restarted responder.
  const rsa = p.r.ikeSas()[0];
  assert.ok(rsa);
  p.r.checkLiveness(rsa.id, p.nowMs);
  const req = p.take('r');
  p.deliverDatagram(req);
  const resp = p.take('i');
  p.restart('r');
  p.deliverDatagram(resp);
  assert.equal(p.wire.length, 0);
  assert.equal(p.r.invalidSpi.sent, 0);
  assert.equal(p.r.drops.unknownSpi, 1);
  // IKE_SA_INIT with a non-zero SPIr for an unknown IKE_SA: dropped, not answered.
  p.restart('i');
  p.initiate();
  const init = p.take('i');
  const bytes = Buffer.from(init.bytes);
  bytes.fill(0x42, 8, 16);
  p.deliverDatagram({ ...init, bytes });
  assert.equal(p.wire.length, 0);
  assert.equal(p.r.invalidSpi.sent, 0);
});

test('INVALID_IKE_SPI answers are rate-limited by a token bucket on the engine clock', () => {
  const p = established();
  const req = nextRequest(p);
  p.restart('r', { engine: { invalidSpiPerSec: 5, invalidSpiBurst: 3 } });
  for (let k = 0; k < 50; k++) p.deliverDatagram(req);
  assert.equal(p.r.invalidSpi.sent, 3, 'the burst');
  assert.equal(p.r.invalidSpi.limited, 47);
  p.nowMs += 1000;
  for (let k = 0; k < 50; k++) p.deliverDatagram(req);
  assert.equal(p.r.invalidSpi.sent, 6, 'refilled at 5/s, capped at the burst');
  p.nowMs += 200;
  for (let k = 0; k < 10; k++) p.deliverDatagram(req);
  assert.equal(p.r.invalidSpi.sent, 7, 'one token per 200 ms');
  assert.equal(p.wire.filter((d) => d.sender === 'r').length, 7);
});

test('invalidSpiPerSec 0 turns the answers off', () => {
  const p = established();
  const req = nextRequest(p);
  p.restart('r', { engine: { invalidSpiPerSec: 0 } });
  p.deliverDatagram(req);
  assert.equal(p.r.invalidSpi.sent, 0);
  assert.equal(p.wire.length, 0);
});

test('token bucket: refills with time, never above the burst, ignores a clock going back', () => {
  const b = new TokenBucket(2, 2);
  assert.deepEqual([b.take(0), b.take(0), b.take(0)], [true, true, false]);
  assert.equal(b.take(499), false);
  assert.equal(b.take(500), true);
  assert.equal(b.take(100), false, 'no tokens from a clock going back');
  assert.deepEqual([b.take(100_000), b.take(100_000), b.take(100_000)], [true, true, false]);
});

test('DELETE whose answer was lost: the retransmission is answered from the closed IKE_SA cached response', () => {
  const p = established();
  const sa = p.i.ikeSas()[0];
  assert.ok(sa);
  p.i.terminate(sa.id, p.nowMs);
  // HDR, SK { D(IKE) } -->        the responder deletes and answers; the answer is lost
  p.deliver('i');
  const lost = p.drop('r');
  assert.equal(p.r.ikeSas().length, 0);
  assert.equal(p.i.ikeSas()[0]?.state, IkeSaState.DELETING);
  // The retransmitted DELETE gets the same answer again (RFC 7296 2.1), though the IKE_SA is gone.
  p.advance(p.i.nextTimerMs()! - p.nowMs);
  p.deliver('i');
  const again = p.take('r');
  assert.ok(again.bytes.equals(lost.bytes), 'bitwise the lost response');
  assert.equal(p.r.invalidSpi.sent, 0);
  p.deliverDatagram(again);
  assert.equal(p.i.ikeSas().length, 0);
  assert.equal(p.events('i', 'ikeSaDeleted').length, 1);
  assert.equal(p.wire.length, 0);
  // A forged request under the closed IKE_SA's SPI and Message ID is not answered from the cache.
  const forged = Buffer.from(nextRequestBytes(lost.bytes));
  p.r.receiveDatagram(forged, ADDR_I, ADDR_R, p.nowMs);
  p.pump();
  assert.ok(
    p.wire.every((d) => !d.bytes.equals(lost.bytes)),
    'no cached answer to an unauthenticated request',
  );
});

/** A request with the header of `response` (flags flipped to a request) and a garbage SK payload. */
function nextRequestBytes(response: Buffer): Buffer {
  const b = Buffer.from(response);
  b[19] = 0x08; // flags: initiator, request
  b[b.length - 1] = (b[b.length - 1] ?? 0) ^ 0xff; // break the ICV
  return b;
}

test('DELETE to a restarted peer: INVALID_IKE_SPI changes nothing; the deletion ends when retransmission gives up', () => {
  const p = established();
  const sa = p.i.ikeSas()[0];
  assert.ok(sa);
  p.i.terminate(sa.id, p.nowMs);
  // HDR, SK { D(IKE) } -->   lost; the responder restarts and knows no IKE_SA
  p.drop('i');
  p.restart('r');
  p.advance(p.i.nextTimerMs()! - p.nowMs);
  p.deliver('i');
  assert.equal(p.r.invalidSpi.sent, 1);
  p.deliver('r'); // <-- N(INVALID_IKE_SPI): unauthenticated, it proves nothing
  assert.equal(p.i.ikeSas()[0]?.state, IkeSaState.DELETING);
  for (let n = 0; n < 40 && p.i.ikeSas().length > 0; n++) {
    p.wire.splice(0);
    p.advance(p.i.nextTimerMs()! - p.nowMs);
  }
  assert.equal(p.i.ikeSas().length, 0, 'gone after the last retransmission');
  assert.equal(p.events('i', 'ikeSaDeleted').length, 1);
});

test('an INVALID_IKE_SPI, whatever it answers, changes nothing', () => {
  const p = established();
  const sa = p.i.ikeSas()[0];
  assert.ok(sa);
  p.i.terminate(sa.id, p.nowMs);
  const del = p.take('i');
  const h = decodeHeader(del.bytes);
  // Answers to our DELETE (its Message ID and another), and one to a liveness check.
  for (const messageId of [h.messageId, h.messageId + 1])
    p.i.receiveDatagram(encodeInvalidSpiAnswer({ ...h, messageId }), del.to, del.from, p.nowMs);
  assert.equal(p.i.ikeSas()[0]?.state, IkeSaState.DELETING);
  const q = established();
  const qsa = q.i.ikeSas()[0];
  assert.ok(qsa);
  q.i.checkLiveness(qsa.id, q.nowMs);
  const dpd = decodeHeader(q.take('i').bytes);
  q.i.receiveDatagram(encodeInvalidSpiAnswer(dpd), ADDR_R, ADDR_I, q.nowMs);
  assert.equal(q.i.ikeSas()[0]?.state, IkeSaState.ESTABLISHED, 'a liveness check is not ended by it');
  assert.equal(q.events('i', 'ikeSaDeleted').length, 0);
});

test('an unprotected IKE_SA_INIT request naming an established IKE_SA (SPIr set) is dropped without moving its window', () => {
  const p = established();
  const sa = p.i.ikeSas()[0];
  assert.ok(sa);
  const expected = sa.expectedRequestId;
  // HDR(SPIi, SPIr, IKE_SA_INIT, the next Message ID, responder's request) with a payload the rules refuse -->
  const forged = encodeInvalidSpiAnswer({
    spiI: sa.spiI,
    spiR: sa.spiR,
    nextPayload: 0,
    majorVersion: 2,
    minorVersion: 0,
    exchangeType: ExchangeType.IKE_SA_INIT,
    flags: { initiator: true, response: false, version: false },
    messageId: expected,
    length: 0,
  });
  forged[19] = 0x00; // flags: a request from the original responder
  p.i.receiveDatagram(forged, ADDR_R, ADDR_I, p.nowMs);
  p.pump();
  assert.equal(p.wire.length, 0, 'not answered');
  assert.equal(sa.expectedRequestId, expected, 'the request window did not move');
  // The responder's next real request is still answered.
  const rsa = p.r.ikeSas()[0];
  assert.ok(rsa);
  p.r.checkLiveness(rsa.id, p.nowMs);
  p.run();
  assert.equal(rsa.active, undefined, 'liveness check answered');
  assert.equal(p.events('r', 'ikeSaDeleted').length, 0);
});

test('terminating during a peer-initiated IKE_SA rekey whose answer was lost: no DELETE for the replaced IKE_SA', () => {
  const p = established();
  const old = p.i.ikeSas()[0];
  const rsa = p.r.ikeSas()[0];
  assert.ok(old && rsa);
  // HDR, SK { SA, Ni, KEi } (IKE rekey by the responder) -->  answered; the answer is lost.
  p.r.rekeyIke(rsa.id, p.nowMs);
  p.deliver('r');
  p.drop('i');
  const fresh = p.i.ikeSas().find((s) => s !== old && s.state === IkeSaState.ESTABLISHED);
  assert.ok(fresh, 'the new IKE_SA is up on our side');
  assert.equal(old.state, IkeSaState.REKEYED);
  // Tear everything down now (tsipsec down): the replaced IKE_SA is left to the rekey's own DELETE.
  p.i.terminate(old.id, p.nowMs);
  p.i.terminate(fresh.id, p.nowMs);
  p.pump();
  assert.ok(
    p.wire.every((d) => d.sender === 'i' && decodeHeader(d.bytes).spiI.equals(fresh.spiI)),
    'DELETE only for the new IKE_SA',
  );
  // The peer retransmits its rekey, gets the cached answer and deletes the old IKE_SA; our DELETE for the new
  // one, refused with INVALID_IKE_SPI while the peer did not know it yet, is retransmitted until it does.
  for (let n = 0; n < 10 && p.i.ikeSas().length + p.r.ikeSas().length > 0; n++) {
    p.advance(Math.min(p.i.nextTimerMs() ?? Infinity, p.r.nextTimerMs() ?? Infinity) - p.nowMs);
    p.run();
  }
  assert.equal(p.i.ikeSas().length, 0);
  assert.equal(p.r.ikeSas().length, 0, 'the peer kept neither IKE_SA');
  assert.deepEqual(
    p.events('r', 'ikeSaDeleted').map((e) => e.reason),
    ['rekeyed', 'deleted by peer'],
    'the peer completed its rekey, then took our DELETE',
  );
});
