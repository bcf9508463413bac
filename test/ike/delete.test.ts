/** INFORMATIONAL: deleting CHILD_SAs and the IKE_SA (RFC 7296 1.4.1), liveness checks (2.4). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExchangeType } from '../../src/ike/codec/constants.js';
import { Pair, describe } from './exchange-helper.js';

test('delete a CHILD_SA: both sides remove it, the IKE_SA stays', () => {
  const p = new Pair();
  p.initiate();
  p.run();
  const [c] = p.events('r', 'childSaInstalled');
  assert.ok(c);
  p.r.terminateChild(c.child.id, p.nowMs);
  // <-- HDR, SK { D(ESP, spi) }
  const d = p.deliver('r');
  assert.equal(describe(d).exchangeType, ExchangeType.INFORMATIONAL);
  // HDR, SK { D(ESP, spi) } -->
  p.deliver('i');
  for (const side of ['i', 'r'] as const) {
    assert.equal(p.events(side, 'childSaDeleted').length, 1);
    assert.equal(p.events(side, 'ikeSaDeleted').length, 0);
  }
  assert.equal(p.i.ikeSas()[0]?.children.length, 0);
});

test('delete the IKE_SA: CHILD_SAs go with it on both sides', () => {
  const p = new Pair();
  p.initiate();
  p.run();
  const [e] = p.events('i', 'ikeSaEstablished');
  assert.ok(e);
  p.i.terminate(e.ikeSaId, p.nowMs);
  // HDR, SK { D(IKE) } -->
  p.deliver('i');
  assert.equal(p.events('r', 'ikeSaDeleted').length, 1);
  // <-- HDR, SK { }
  p.deliver('r');
  for (const side of ['i', 'r'] as const) {
    assert.equal(p.events(side, 'ikeSaDeleted').length, 1);
    assert.equal(p.events(side, 'childSaDeleted').length, 1);
  }
  assert.equal(p.i.ikeSas().length, 0);
  assert.equal(p.r.ikeSas().length, 0);
});

test('liveness: DPD after dpd_delay of silence; a dead peer is detected', () => {
  const retransmit = { timeoutSec: 1, base: 2, tries: 2, limitSec: 0 };
  const p = new Pair({ conn: { dpdDelaySec: 30 }, engine: { retransmit } });
  p.initiate();
  p.run();
  p.advance(30_000);
  // HDR, SK { } -->
  const dpd = p.deliver('i');
  assert.equal(describe(dpd).exchangeType, ExchangeType.INFORMATIONAL);
  // <-- HDR, SK { }
  p.deliver('r');
  assert.equal(p.events('i', 'ikeSaDeleted').length, 0);
  // Now the peer is gone: every DPD is lost.
  p.advance(30_000);
  for (let n = 0; n < 10 && p.events('i', 'ikeSaDeleted').length === 0; n++) {
    p.wire.length = 0;
    const next = p.i.nextTimerMs();
    if (next === undefined) break;
    p.advance(next - p.nowMs);
  }
  assert.equal(p.events('i', 'ikeSaDeleted')[0]?.reason, 'peer not responding');
});

test('simultaneous delete of the same CHILD_SA (RFC 7296 1.4.1): both sides remove it once', () => {
  const p = new Pair();
  p.initiate();
  p.run();
  const [ci] = p.events('i', 'childSaInstalled');
  const [cr] = p.events('r', 'childSaInstalled');
  assert.ok(ci && cr);
  p.i.terminateChild(ci.child.id, p.nowMs);
  p.r.terminateChild(cr.child.id, p.nowMs);
  p.pump();
  // HDR, SK { D(ESP, a) } -->   crossing   <-- HDR, SK { D(ESP, b) }
  const a = p.take('i');
  const b = p.take('r');
  p.deliverDatagram(a);
  p.deliverDatagram(b);
  // Both answer with empty INFORMATIONALs (the SA was already being deleted).
  p.run();
  for (const side of ['i', 'r'] as const) {
    assert.equal(p.events(side, 'childSaDeleted').length, 1, side);
    assert.equal(p.events(side, 'ikeSaDeleted').length, 0);
  }
  assert.equal(p.i.drops.internal + p.r.drops.internal, 0);
});
