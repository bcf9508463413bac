/**
 * Reauthentication, make-before-break (reauth.ts): at reauth_time a new IKE_SA is set up from scratch with
 * CHILD_SAs of the same configurations and no INITIAL_CONTACT; the old IKE_SA is deleted only once they are
 * all up, so its CHILD_SAs carry traffic until then. The deadline survives IKE rekeys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExchangeType } from '../../src/ike/codec/constants.js';
import { childConfig, DEFAULT_CHILD_LIFETIMES } from '../../src/ike/config.js';
import { IkeSaState } from '../../src/ike/sa-state.js';
import { describe, Pair } from './exchange-helper.js';

const NO_CHILD_REKEY = { ...DEFAULT_CHILD_LIFETIMES, rekeyTimeSec: 0, lifeTimeSec: 0, randTimeSec: 0 };
const conn = { rekeyTimeSec: 0, reauthTimeSec: 60, overTimeSec: 30, randTimeSec: 0 };
const second = childConfig({
  name: 'web',
  proposals: ['aes128gcm16'],
  localTs: ['198.51.100.0/24[tcp/80]'],
  remoteTs: ['203.0.113.0/24'],
  lifetimes: NO_CHILD_REKEY,
});
const secondR = childConfig({
  name: 'web',
  proposals: ['aes128gcm16'],
  localTs: ['203.0.113.0/24'],
  remoteTs: ['198.51.100.0/24[tcp/80]'],
  lifetimes: NO_CHILD_REKEY,
});

function twoChildren(): Pair {
  const net = (l: string, r: string) =>
    childConfig({ name: 'net', proposals: ['aes128gcm16'], localTs: [l], remoteTs: [r], lifetimes: NO_CHILD_REKEY });
  return new Pair(
    { conn: { ...conn, children: [net('198.51.100.0/24', '203.0.113.0/24'), second] } },
    { conn: { children: [net('203.0.113.0/24', '198.51.100.0/24'), secondR] } },
  );
}

test('reauth_time: a new IKE_SA and its CHILD_SAs come up before the old IKE_SA is deleted', () => {
  const p = new Pair({ conn, child: { lifetimes: NO_CHILD_REKEY } }, { child: { lifetimes: NO_CHILD_REKEY } });
  p.initiate();
  p.run();
  const [oldIke] = p.events('i', 'ikeSaEstablished');
  const [oldChild] = p.events('i', 'childSaInstalled');
  assert.ok(oldIke && oldChild);
  p.advance(59_000);
  assert.equal(p.wire.length, 0, 'nothing before reauth_time');
  p.advance(1_000);
  // HDR, SAi1, KEi, Ni --> (a new IKE_SA: SPIr zero)
  const init = p.take('i');
  assert.equal(describe(init).exchangeType, ExchangeType.IKE_SA_INIT);
  p.deliverDatagram(init);
  p.deliver('r');
  // HDR, SK { IDi, AUTH, SA, TSi, TSr } --> without INITIAL_CONTACT (the old IKE_SA is a live contact)
  const auth = p.take('i');
  assert.equal(describe(auth).exchangeType, ExchangeType.IKE_AUTH);
  p.deliverDatagram(auth);
  assert.equal(p.r.ikeSas().length, 2, 'the responder keeps the old IKE_SA: no INITIAL_CONTACT');
  assert.equal(p.events('r', 'ikeSaDeleted').length, 0);
  p.deliver('r');
  const established = p.events('i', 'ikeSaEstablished');
  assert.equal(established.length, 2);
  assert.equal(established[1]?.reauthOf, oldIke.ikeSaId);
  const installed = p.events('i', 'childSaInstalled');
  assert.equal(installed.length, 2, 'the new CHILD_SA is installed');
  assert.equal(installed[1]?.child.name, 'net');
  assert.notEqual(installed[1]?.child.spiIn, oldChild.child.spiIn);
  assert.equal(p.events('i', 'childSaDeleted').length, 0, 'the old CHILD_SA is still there');
  // HDR, SK { D(IKE) } --> on the old IKE_SA
  const del = p.take('i');
  assert.equal(describe(del).exchangeType, ExchangeType.INFORMATIONAL);
  assert.equal(del.bytes.subarray(0, 8).toString('hex'), oldIke.spiI.toString('hex'));
  p.deliverDatagram(del);
  p.run();
  const gone = p.events('i', 'ikeSaDeleted');
  assert.deepEqual(
    gone.map((e) => [e.ikeSaId, e.cause]),
    [[oldIke.ikeSaId, 'replaced']],
  );
  assert.match(gone[0]?.reason ?? '', /reauthenticated as gw\[\d+\]/);
  assert.deepEqual(
    p.events('r', 'ikeSaDeleted').map((e) => e.cause),
    ['peerDeleted'],
  );
  assert.equal(p.i.ikeSas().length, 1);
  assert.equal(p.r.ikeSas().length, 1);
  assert.equal(p.r.ikeSas()[0]?.children.length, 1);
  // The new IKE_SA reauthenticates in its turn.
  p.advance(60_000);
  assert.equal(describe(p.take('i')).exchangeType, ExchangeType.IKE_SA_INIT);
  assert.equal(p.i.drops.internal + p.r.drops.internal, 0);
});

test('reauth: every CHILD_SA configuration in use is set up again, the old IKE_SA goes after the last', () => {
  const p = twoChildren();
  p.initiate();
  p.run();
  assert.equal(p.events('i', 'childSaInstalled').length, 2);
  const [oldIke] = p.events('i', 'ikeSaEstablished');
  p.advance(60_000);
  p.deliver('i'); // IKE_SA_INIT
  p.deliver('r');
  p.deliver('i'); // IKE_AUTH with the first child
  p.deliver('r');
  assert.equal(p.events('i', 'ikeSaDeleted').length, 0);
  const next = p.take('i');
  assert.equal(describe(next).exchangeType, ExchangeType.CREATE_CHILD_SA, 'the second child before the DELETE');
  p.deliverDatagram(next);
  p.deliver('r');
  p.run();
  const names = p.events('i', 'childSaInstalled').map((e) => e.child.name);
  assert.deepEqual(names, ['net', 'web', 'net', 'web']);
  assert.deepEqual(
    p.events('i', 'ikeSaDeleted').map((e) => e.ikeSaId),
    [oldIke?.ikeSaId],
  );
  assert.equal(p.i.ikeSas()[0]?.children.length, 2);
});

test('reauth deadline survives IKE rekeys: rekey every 20 s, reauthenticate at 50 s', () => {
  const p = new Pair(
    { conn: { ...conn, rekeyTimeSec: 20, reauthTimeSec: 50 }, child: { lifetimes: NO_CHILD_REKEY } },
    { child: { lifetimes: NO_CHILD_REKEY } },
  );
  p.initiate();
  p.run();
  for (let s = 0; s < 49; s++) {
    p.advance(1_000);
    p.run();
  }
  const rekeyed = p.events('i', 'ikeSaEstablished').filter((e) => e.rekeyOf !== undefined);
  assert.equal(rekeyed.length, 2, 'rekeyed at 20 s and 40 s');
  assert.equal(p.events('i', 'ikeSaEstablished').filter((e) => e.reauthOf !== undefined).length, 0);
  p.advance(1_000);
  p.run();
  const reauth = p.events('i', 'ikeSaEstablished').filter((e) => e.reauthOf !== undefined);
  assert.equal(reauth.length, 1, 'reauthenticated at 50 s, not 50 s after the last rekey');
  assert.equal(p.i.ikeSas().length, 1);
  assert.equal(p.i.ikeSas()[0]?.state, IkeSaState.ESTABLISHED);
  assert.equal(p.r.ikeSas().length, 1);
});

test('a failed reauthentication leaves the old IKE_SA up and is tried again', () => {
  const retransmit = { timeoutSec: 1, base: 1, tries: 1, limitSec: 0 };
  const p = new Pair(
    { conn, child: { lifetimes: NO_CHILD_REKEY }, engine: { retransmit } },
    { child: { lifetimes: NO_CHILD_REKEY } },
  );
  p.initiate();
  p.run();
  p.advance(60_000);
  p.drop('i'); // IKE_SA_INIT lost, twice: the new IKE_SA fails
  p.advance(1_000);
  p.drop('i');
  p.advance(1_000);
  assert.equal(p.i.ikeSas().length, 1, 'the old IKE_SA stays');
  assert.equal(p.events('i', 'childSaDeleted').length, 0);
  p.advance(10_000);
  p.run();
  assert.equal(p.events('i', 'ikeSaEstablished').filter((e) => e.reauthOf !== undefined).length, 1);
  assert.equal(p.i.ikeSas().length, 1);
});

test('over_time counts from the earlier of rekey_time and reauth_time', () => {
  const p = new Pair(
    { conn: { ...conn, rekeyTimeSec: 0, reauthTimeSec: 60, overTimeSec: 10 } },
    { child: { lifetimes: NO_CHILD_REKEY } },
  );
  p.initiate();
  p.run();
  const [sa] = p.i.ikeSas();
  assert.ok(sa);
  assert.equal(sa.expireAtMs - sa.establishedAtMs, 70_000);
});

test('an original responder with reauth_time reauthenticates actively, towards where the IKE_SA came from', () => {
  const p = new Pair({ child: { lifetimes: NO_CHILD_REKEY } }, { conn, child: { lifetimes: NO_CHILD_REKEY } });
  p.initiate();
  p.run();
  const [oldR] = p.events('r', 'ikeSaEstablished');
  p.advance(60_000);
  const init = p.take('r');
  assert.equal(describe(init).exchangeType, ExchangeType.IKE_SA_INIT);
  assert.deepEqual(init.to, { address: '192.0.2.1', port: 500 }, 'to the address and port IKE_SA_INIT came from');
  p.deliverDatagram(init);
  p.run();
  const fresh = p.events('r', 'ikeSaEstablished').find((e) => e.reauthOf !== undefined);
  assert.equal(fresh?.reauthOf, oldR?.ikeSaId);
  assert.equal(fresh?.initiator, true);
  assert.equal(p.r.ikeSas().length, 1);
  assert.equal(p.i.ikeSas().length, 1);
  assert.equal(p.i.ikeSas()[0]?.children.length, 1);
});
