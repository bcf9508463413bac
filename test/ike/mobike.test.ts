/**
 * MOBIKE (RFC 4555): MOBIKE_SUPPORTED in IKE_AUTH both ways, then the initiator's address update moving the IKE_SA
 * and its CHILD_SAs on both sides without a new IKE_SA; NAT detection in the update; no MOBIKE without both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EapType } from '../../src/eap/constants.js';
import { ExchangeType } from '../../src/ike/codec/constants.js';
import { ADDR_R, Pair, describe } from './exchange-helper.js';

const MOBIKE = { conn: { mobike: true } };
const NEW_ADDRESS = '192.0.2.77';

function established(p: Pair): number {
  const id = p.initiate();
  p.run();
  assert.equal(p.events('i', 'ikeSaEstablished').length, 1);
  assert.equal(p.events('r', 'childSaInstalled').length, 1);
  return id;
}

test('both announce MOBIKE_SUPPORTED: the address update moves IKE_SA and CHILD_SAs, same SPIs, no new IKE_SA', () => {
  const p = new Pair(MOBIKE, MOBIKE);
  const id = established(p);
  const [sai] = p.i.ikeSas();
  const [sar] = p.r.ikeSas();
  assert.ok(sai && sar);
  assert.equal(sai.mobike, true);
  assert.equal(sar.mobike, true);
  const spis = [sai.spiI.toString('hex'), sai.spiR.toString('hex')];
  const childIds = p.events('r', 'childSaInstalled').map((e) => e.child.id);

  assert.equal(p.i.updateAddresses(id, NEW_ADDRESS, p.nowMs), true);
  // HDR, SK { N(UPDATE_SA_ADDRESSES), N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP), N(COOKIE2) } -->
  const req = p.take('i');
  assert.deepEqual(describe(req), { exchangeType: ExchangeType.INFORMATIONAL, messageId: 2, response: false });
  assert.deepEqual(req.from, { address: NEW_ADDRESS, port: 500 });
  p.deliverDatagram(req);
  const [movedR] = p.events('r', 'ikeSaMoved');
  assert.ok(movedR, 'the responder moved on the authenticated update');
  assert.deepEqual(movedR.remote, { address: NEW_ADDRESS, port: 500 });
  assert.deepEqual(movedR.childSaIds, childIds);
  assert.equal(movedR.natRemote, false);
  // <-- HDR, SK { N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP), N(COOKIE2) }
  const resp = p.take('r');
  assert.deepEqual(resp.to, { address: NEW_ADDRESS, port: 500 });
  p.deliverDatagram(resp);
  const [movedI] = p.events('i', 'ikeSaMoved');
  assert.ok(movedI, 'the initiator moved once answered');
  assert.deepEqual(movedI.local, { address: NEW_ADDRESS, port: 500 });
  assert.equal(movedI.natLocal, false);
  assert.equal(p.events('i', 'ikeSaEstablished').length, 1, 'no new IKE_SA');
  assert.deepEqual([sai.spiI.toString('hex'), sai.spiR.toString('hex')], spis);
  // The responder's own requests now go to the new address.
  p.r.checkLiveness(sar.id, p.nowMs);
  assert.deepEqual(p.take('r').to, { address: NEW_ADDRESS, port: 500 });
});

test('the update crosses a NAT: both detect it, IKE continues on port 4500', () => {
  const p = new Pair(MOBIKE, MOBIKE);
  const id = established(p);
  const natted = { address: '203.0.113.9', port: 40000 };
  p.i.updateAddresses(id, NEW_ADDRESS, p.nowMs);
  const req = p.take('i');
  p.r.receiveDatagram(req.bytes, natted, req.to, p.nowMs);
  p.pump();
  const [movedR] = p.events('r', 'ikeSaMoved');
  assert.equal(movedR?.natRemote, true);
  assert.deepEqual(movedR?.remote, natted);
  const resp = p.take('r');
  assert.deepEqual(resp.to, natted);
  p.i.receiveDatagram(resp.bytes, resp.from, { address: NEW_ADDRESS, port: 500 }, p.nowMs);
  p.pump();
  const [movedI] = p.events('i', 'ikeSaMoved');
  assert.equal(movedI?.natLocal, true);
  assert.deepEqual(movedI?.remote, { address: ADDR_R.address, port: 4500 });
  assert.deepEqual(movedI?.local, { address: NEW_ADDRESS, port: 4500 });
  // A second update from port 4500 (through the NAT's 4500 mapping) moves the responder there too.
  const natted4500 = { address: '203.0.113.9', port: 40001 };
  const again = p.take('i');
  assert.deepEqual([again.from.port, again.to.port], [4500, 4500]);
  p.r.receiveDatagram(again.bytes, natted4500, again.to, p.nowMs);
  p.pump();
  assert.deepEqual(p.events('r', 'ikeSaMoved')[1]?.remote, natted4500);
  const resp2 = p.take('r');
  p.i.receiveDatagram(resp2.bytes, resp2.from, { address: NEW_ADDRESS, port: 4500 }, p.nowMs);
  p.pump();
  assert.equal(p.events('i', 'ikeSaMoved').length, 2);
  assert.equal(p.wire.length, 0, 'no third update');
});

test('MOBIKE on one side only: not agreed, no update, nothing moves', () => {
  const p = new Pair(MOBIKE, {});
  const id = established(p);
  assert.equal(p.i.ikeSas()[0]?.mobike, false);
  assert.equal(p.r.ikeSas()[0]?.mobike, false);
  assert.equal(p.i.updateAddresses(id, NEW_ADDRESS, p.nowMs), false);
  p.pump();
  assert.equal(p.wire.length, 0);
});

test('the responder does not start updates, and an UPDATE_SA_ADDRESSES without MOBIKE agreed is ignored', () => {
  const p = new Pair(MOBIKE, MOBIKE);
  established(p);
  const sar = p.r.ikeSas()[0];
  assert.ok(sar);
  assert.equal(p.r.updateAddresses(sar.id, '198.51.100.99', p.nowMs), false);
  // A peer that never announced MOBIKE sends an update anyway: answered, the IKE_SA stays.
  const q = new Pair(MOBIKE, {});
  const id = established(q);
  const sa = q.i.ikeSas()[0];
  assert.ok(sa);
  sa.mobike = true; // as a peer that ignores the negotiation would behave
  assert.equal(q.i.updateAddresses(id, NEW_ADDRESS, q.nowMs), true);
  q.run();
  assert.equal(q.events('r', 'ikeSaMoved').length, 0);
  assert.deepEqual(q.r.ikeSas()[0]?.remote.address, '192.0.2.1');
});

test('MOBIKE_SUPPORTED travels in IKE_AUTH only when configured', () => {
  for (const [conf, expected] of [
    [MOBIKE, true],
    [{}, false],
  ] as const) {
    const p = new Pair(conf, MOBIKE);
    p.initiate();
    p.deliver('i'); // IKE_SA_INIT
    p.deliver('r');
    const auth = p.take('i');
    p.deliverDatagram(auth);
    const sar = p.r.ikeSas()[0];
    assert.equal(sar?.mobike, expected, `initiator config ${JSON.stringify(conf)}`);
  }
});

test('behind a NAT whose mapping changes: the liveness check shows it, the address update moves the responder', () => {
  const p = new Pair(MOBIKE, MOBIKE);
  const nat = { address: '203.0.113.7', port: 31000 };
  let nat4500 = { address: '203.0.113.7', port: 31001 };
  const fromI = (): void => {
    const d = p.take('i');
    p.r.receiveDatagram(d.bytes, d.from.port === 500 ? nat : nat4500, d.to, p.nowMs);
    p.pump();
  };
  const toI = (): void => {
    const d = p.take('r');
    p.i.receiveDatagram(d.bytes, d.from, { address: '192.0.2.1', port: d.to.port === 31000 ? 500 : 4500 }, p.nowMs);
    p.pump();
  };
  const id = p.initiate();
  for (let n = 0; n < 2; n++) {
    fromI(); // IKE_SA_INIT, IKE_AUTH -->
    toI(); // <-- IKE_SA_INIT, IKE_AUTH
  }
  const [sai] = p.i.ikeSas();
  const [sar] = p.r.ikeSas();
  assert.ok(sai?.mobike && sai.natLocal && sar?.natRemote);
  assert.deepEqual(sar.remote, nat4500);

  nat4500 = { address: '203.0.113.7', port: 31002 }; // the NAT forgot the mapping and made a new one
  p.i.checkLiveness(id, p.nowMs);
  fromI(); // HDR, SK { N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP) } -->
  assert.deepEqual(sar.remote, { address: '203.0.113.7', port: 31001 }, 'with MOBIKE no implicit move');
  toI(); // <-- HDR, SK { N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP) } (seen: the new port)
  assert.equal(p.events('r', 'ikeSaMoved').length, 0);
  fromI(); // HDR, SK { N(UPDATE_SA_ADDRESSES), N(NAT_DETECTION_*), N(COOKIE2) } -->
  const [moved] = p.events('r', 'ikeSaMoved');
  assert.deepEqual(moved?.remote, nat4500, 'the responder follows the new mapping');
  assert.equal(moved?.natRemote, true);
  toI();
  assert.equal(p.events('i', 'ikeSaMoved').length, 1);
  // The next check shows no change: no further update.
  p.i.checkLiveness(id, p.nowMs);
  fromI();
  toI();
  p.pump();
  assert.equal(p.wire.length, 0);
  assert.equal(p.events('r', 'ikeSaMoved').length, 1);
  // Nor after an IKE rekey (new SPIs, so new NAT detection hashes for the same mapping).
  p.i.rekeyIke(id, p.nowMs);
  fromI(); // CREATE_CHILD_SA { SA, Ni, KEi } -->
  toI();
  fromI(); // INFORMATIONAL { D(IKE) } -->
  toI();
  const rekeyed = p.events('i', 'ikeSaEstablished').find((e) => e.rekeyOf === id);
  assert.ok(rekeyed);
  p.i.checkLiveness(rekeyed.ikeSaId, p.nowMs);
  fromI();
  toI();
  p.pump();
  assert.equal(p.wire.length, 0, 'no update after the rekey');
});

test('with EAP (several IKE_AUTH rounds): MOBIKE agreed once authenticated, the update works', () => {
  const password = (id: string): string | undefined => (id === 'carol' ? 'carol-eap-secret' : undefined);
  const p = new Pair(
    { conn: { mobike: true, eapClient: { identity: 'carol' } }, engine: { eapPassword: password } },
    {
      conn: {
        mobike: true,
        eapServer: { methods: [EapType['EAP-MSCHAP-V2']], askIdentity: true },
        remoteId: { type: 'any' },
      },
      engine: { eapPassword: password },
    },
  );
  const id = established(p);
  assert.equal(p.i.ikeSas()[0]?.mobike, true);
  assert.equal(p.r.ikeSas()[0]?.mobike, true);
  assert.equal(p.i.updateAddresses(id, NEW_ADDRESS, p.nowMs), true);
  p.run();
  assert.equal(p.events('r', 'ikeSaMoved')[0]?.remote.address, NEW_ADDRESS);
  assert.equal(p.events('i', 'ikeSaMoved').length, 1);
});

test('an IKE rekey keeps MOBIKE: the new IKE_SA moves with its CHILD_SAs', () => {
  const p = new Pair(MOBIKE, MOBIKE);
  const id = established(p);
  p.i.rekeyIke(id, p.nowMs);
  p.run();
  const rekeyed = p.events('i', 'ikeSaEstablished').find((e) => e.rekeyOf === id);
  assert.ok(rekeyed, 'rekeyed');
  assert.equal(p.i.updateAddresses(rekeyed.ikeSaId, NEW_ADDRESS, p.nowMs), true);
  p.run();
  const [moved] = p.events('r', 'ikeSaMoved');
  assert.equal(moved?.remote.address, NEW_ADDRESS);
  assert.equal(moved?.childSaIds.length, 1, 'the CHILD_SA moved to the new IKE_SA and moves with it');
});
