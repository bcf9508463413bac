import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExchangeType } from '../../src/ike/codec/constants.js';
import { IkeSaState } from '../../src/ike/sa-state.js';
import { Pair, describe } from './exchange-helper.js';

for (const starter of ['i', 'r'] as const) {
  test(`IKE_SA rekey started by the ${starter === 'i' ? 'initiator' : 'responder'}: CHILD_SAs move to the new IKE_SA`, () => {
    const p = new Pair();
    p.initiate();
    p.run();
    const other = starter === 'i' ? 'r' : 'i';
    const engine = starter === 'i' ? p.i : p.r;
    const [old] = p.events(starter, 'ikeSaEstablished');
    assert.ok(old);
    engine.rekeyIke(old.ikeSaId, p.nowMs);
    // HDR, SK { SA(IKE, new SPI), Ni, KEi } -->
    const req = p.deliver(starter);
    assert.equal(describe(req).exchangeType, ExchangeType.CREATE_CHILD_SA);
    // <-- HDR, SK { SA(IKE, new SPI), Nr, KEr }
    p.deliver(other);
    // HDR(old SPIs), SK { D(IKE) } -->
    const del = p.deliver(starter);
    assert.equal(describe(del).exchangeType, ExchangeType.INFORMATIONAL);
    // <-- HDR(old SPIs), SK { }
    p.deliver(other);
    assert.equal(p.wire.length, 0);
    for (const side of ['i', 'r'] as const) {
      const est = p.events(side, 'ikeSaEstablished');
      assert.equal(est.length, 2, side);
      const deleted = p.events(side, 'ikeSaDeleted');
      assert.equal(deleted.length, 1);
      assert.equal(deleted[0]?.ikeSaId, est[0]?.ikeSaId);
      assert.equal(p.events(side, 'childSaDeleted').length, 0, 'CHILD_SAs survive the IKE rekey');
      const sas = (side === 'i' ? p.i : p.r).ikeSas();
      assert.equal(sas.length, 1);
      assert.equal(sas[0]?.state, IkeSaState.ESTABLISHED);
      assert.equal(sas[0]?.children.length, 1);
    }
    const ni = p.events(starter, 'ikeSaEstablished')[1];
    const nr = p.events(other, 'ikeSaEstablished')[1];
    assert.ok(ni && nr);
    assert.equal(ni.rekeyOf, old.ikeSaId);
    assert.deepEqual(ni.childSaIds, [p.events(starter, 'childSaInstalled')[0]?.child.id]);
    assert.deepEqual(ni.spiI, nr.spiI);
    assert.deepEqual(ni.spiR, nr.spiR);
    assert.equal(ni.initiator, true, 'the rekey initiator is the new IKE_SA initiator (RFC 7296 2.18)');
    // The new IKE_SA works: a CHILD_SA rekey over it succeeds.
    const child = p.events('i', 'childSaInstalled')[0];
    assert.ok(child);
    p.i.rekeyChild(child.child.id, p.nowMs);
    p.run();
    assert.equal(p.events('i', 'childSaInstalled').length, 2);
    assert.equal(p.events('r', 'childSaInstalled').length, 2);
  });
}

test('IKE_SA rekey by lifetime with rand_time jitter, and hard expiry when rekeying fails', () => {
  const conn = { rekeyTimeSec: 600, overTimeSec: 60, randTimeSec: 60 };
  // strongSwan's schedule, whose give-up (165 s) comes after over_time.
  const retransmit = { timeoutSec: 4, base: 1.8, tries: 5, limitSec: 0 };
  const p = new Pair({ conn, engine: { retransmit } }, { conn: { rekeyTimeSec: 0 } });
  p.initiate();
  p.run();
  const t0 = p.nowMs;
  const next = p.i.nextTimerMs();
  assert.ok(next !== undefined && next - t0 >= 540_000 && next - t0 <= 600_000);
  p.advance(600_000);
  // HDR, SK { SA, Ni, KEi } --> (dropped, and every retransmit too)
  let drops = 0;
  while (p.events('i', 'ikeSaDeleted').length === 0 && drops < 20) {
    while (p.wire.length > 0) {
      p.drop();
      drops++;
    }
    const n = p.i.nextTimerMs();
    if (n === undefined) break;
    p.advance(n - p.nowMs);
  }
  assert.equal(p.events('i', 'ikeSaDeleted').length, 1);
  // rekey_time + over_time = 660 s comes before the retransmissions give up (4 + 7.2 + 12.96 + 23.3 + 42 + 75.6 s).
  assert.equal(p.events('i', 'ikeSaDeleted')[0]?.reason, 'IKE_SA hard lifetime expired');
  assert.equal(p.nowMs - t0, 660_000);
  assert.equal(p.events('i', 'childSaDeleted').length, 1);
});
