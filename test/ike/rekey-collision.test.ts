/**
 * Simultaneous rekeys (RFC 7296 2.8.1, 2.8.2): both peers start a rekey of the same SA; both exchanges
 * complete; the SA created with the lowest of the four nonces is deleted by the peer that created it, the
 * other peer deletes the old SA. The expected survivor is computed here from the nonces; the seeds are
 * chosen so that each side wins at least once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExchangeType } from '../../src/ike/codec/constants.js';
import { IkeSaState } from '../../src/ike/sa-state.js';
import { Pair, describe } from './exchange-helper.js';

const SEEDS = ['a', 'd', 'e', 'j'];

function lowest(a: { nonceI: Buffer; nonceR: Buffer }): Buffer {
  return Buffer.compare(a.nonceI, a.nonceR) <= 0 ? a.nonceI : a.nonceR;
}

const childWinners = new Set<string>();
const ikeWinners = new Set<string>();

for (const seed of SEEDS) {
  test(`CHILD_SA rekey collision (seed ${seed}): the replacement with the lowest nonce goes`, () => {
    const p = new Pair({ seed: `i-${seed}` }, { seed: `r-${seed}` });
    p.initiate();
    p.run();
    const ci = p.events('i', 'childSaInstalled')[0];
    const cr = p.events('r', 'childSaInstalled')[0];
    assert.ok(ci && cr);
    p.i.rekeyChild(ci.child.id, p.nowMs);
    p.r.rekeyChild(cr.child.id, p.nowMs);
    p.pump();
    // HDR, SK { N(REKEY_SA), SA, Ni1, TSi, TSr } -->   crossing   <-- HDR, SK { N(REKEY_SA), SA, Ni2, TSi, TSr }
    const a = p.take('i');
    const b = p.take('r');
    assert.equal(describe(a).exchangeType, ExchangeType.CREATE_CHILD_SA);
    assert.equal(describe(b).exchangeType, ExchangeType.CREATE_CHILD_SA);
    p.deliverDatagram(a);
    p.deliverDatagram(b);
    // <-- HDR, SK { SA, Nr1, TSi, TSr }   and   HDR, SK { SA, Nr2, TSi, TSr } -->
    p.deliver('r');
    p.deliver('i');
    // Now the initiator holds the old CHILD_SA and both replacements.
    const held = p.i.ikeSas()[0]?.children ?? [];
    const byI = held.find((c) => c.createdAsInitiator && c.rekeyOf !== undefined);
    const byR = held.find((c) => !c.createdAsInitiator && c.rekeyOf !== undefined);
    assert.ok(byI && byR);
    const survivorSpi = Buffer.compare(lowest(byI), lowest(byR)) < 0 ? byR.spiIn : byI.spiIn;
    childWinners.add(Buffer.compare(lowest(byI), lowest(byR)) < 0 ? 'responder' : 'initiator');
    // HDR, SK { D(ESP, old or redundant) } -->  <--  and the answers
    p.run();
    assert.equal(p.wire.length, 0);
    for (const side of ['i', 'r'] as const) {
      const sas = (side === 'i' ? p.i : p.r).ikeSas();
      assert.equal(sas.length, 1);
      assert.equal(sas[0]?.children.length, 1, `${side} keeps one CHILD_SA`);
      // 3 installed (original + two replacements), 2 deleted (old + redundant).
      assert.equal(p.events(side, 'childSaInstalled').length, 3);
      assert.equal(p.events(side, 'childSaDeleted').length, 2);
    }
    const left = p.i.ikeSas()[0]?.children[0];
    const right = p.r.ikeSas()[0]?.children[0];
    assert.ok(left && right);
    assert.deepEqual(left.spiIn, survivorSpi);
    assert.deepEqual(left.spiIn, right.spiOut);
    assert.deepEqual(left.spiOut, right.spiIn);
  });

  test(`IKE_SA rekey collision (seed ${seed}): the new IKE_SA with the lowest nonce goes, CHILD_SAs follow the survivor`, () => {
    const p = new Pair({ seed: `i-${seed}` }, { seed: `r-${seed}` });
    p.initiate();
    p.run();
    const ei = p.events('i', 'ikeSaEstablished')[0];
    const er = p.events('r', 'ikeSaEstablished')[0];
    assert.ok(ei && er);
    p.i.rekeyIke(ei.ikeSaId, p.nowMs);
    p.r.rekeyIke(er.ikeSaId, p.nowMs);
    p.pump();
    // HDR, SK { SA, Ni1, KEi1 } -->   crossing   <-- HDR, SK { SA, Ni2, KEi2 }
    p.deliverDatagram(p.take('i'));
    p.deliverDatagram(p.take('r'));
    // <-- HDR, SK { SA, Nr1, KEr1 }   and   HDR, SK { SA, Nr2, KEr2 } -->
    p.deliver('r');
    p.deliver('i');
    const held = p.i.ikeSas().filter((s) => s.rekeyOf !== undefined);
    const byI = held.find((s) => s.initiator);
    const byR = held.find((s) => !s.initiator);
    assert.ok(byI && byR);
    const iLoses = Buffer.compare(lowest(byI), lowest(byR)) < 0;
    const survivor = iLoses ? byR : byI;
    ikeWinners.add(iLoses ? 'responder' : 'initiator');
    // The loser deletes its redundant IKE_SA, the winner the old one: INFORMATIONAL { D(IKE) } each.
    p.run();
    assert.equal(p.wire.length, 0);
    for (const side of ['i', 'r'] as const) {
      const sas = (side === 'i' ? p.i : p.r).ikeSas();
      assert.equal(sas.length, 1, `${side} keeps one IKE_SA`);
      assert.equal(sas[0]?.state, IkeSaState.ESTABLISHED);
      assert.equal(sas[0]?.children.length, 1);
      assert.equal(p.events(side, 'childSaDeleted').length, 0);
    }
    const si = p.i.ikeSas()[0];
    const sr = p.r.ikeSas()[0];
    assert.ok(si && sr);
    assert.equal(si, survivor);
    assert.deepEqual(si.spiI, sr.spiI);
    assert.deepEqual(si.spiR, sr.spiR);
    // The survivor works.
    p.i.checkLiveness(si.id, p.nowMs);
    p.run();
    assert.equal(p.i.ikeSas()[0]?.state, IkeSaState.ESTABLISHED);
  });
}

test('collision seeds cover both outcomes', () => {
  assert.deepEqual([...childWinners].sort(), ['initiator', 'responder']);
  assert.deepEqual([...ikeWinners].sort(), ['initiator', 'responder']);
});
