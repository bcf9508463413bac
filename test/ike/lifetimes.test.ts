/** Lifetimes and half-open state: CHILD_SA hard expiry, IKE_SA half-open timeout, PFS INVALID_KE in CREATE_CHILD_SA. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotifyType } from '../../src/ike/codec/constants.js';
import { DEFAULT_CHILD_LIFETIMES } from '../../src/ike/config.js';
import { Pair } from './exchange-helper.js';

test('CHILD_SA volume limits: drawn by the engine for the data plane; its hard expiry deletes the CHILD_SA', () => {
  const lifetimes = {
    ...DEFAULT_CHILD_LIFETIMES,
    rekeyTimeSec: 0,
    lifeTimeSec: 0,
    randTimeSec: 0,
    rekeyPackets: 80,
    randPackets: 10,
    lifePackets: 100,
  };
  const p = new Pair({ child: { lifetimes } });
  p.initiate();
  p.run();
  const [c] = p.events('i', 'childSaInstalled');
  assert.ok(c);
  assert.equal(c.child.lifePackets, 100);
  assert.ok(c.child.rekeyPackets >= 70 && c.child.rekeyPackets <= 80, `rand_packets jitter: ${c.child.rekeyPackets}`);
  // The data plane reached the hard packet limit.
  p.i.expireChild(c.child.id, p.nowMs);
  // HDR, SK { D(ESP, spi) } -->
  p.run();
  const [gone] = p.events('i', 'childSaDeleted');
  assert.equal(gone?.reason, 'hard lifetime expired');
  assert.equal(gone?.cause, 'expired');
  assert.equal(p.events('r', 'childSaDeleted')[0]?.cause, 'peerDeleted');
});

test('CHILD_SA hard expiry by time when the rekey never completes', () => {
  const lifetimes = { ...DEFAULT_CHILD_LIFETIMES, rekeyTimeSec: 60, lifeTimeSec: 90, randTimeSec: 0 };
  const retransmit = { timeoutSec: 100, base: 1, tries: 0, limitSec: 0 };
  const p = new Pair({ child: { lifetimes }, engine: { retransmit } });
  p.initiate();
  p.run();
  p.advance(60_000);
  p.drop('i'); // the rekey request is lost, and the retransmission timer is longer than the lifetime
  p.advance(30_000);
  const deleted = p.events('i', 'childSaDeleted');
  assert.equal(deleted.length, 1);
  assert.equal(deleted[0]?.reason, 'hard lifetime expired');
  assert.equal(p.i.ikeSas()[0]?.children.length, 0);
  assert.equal(p.i.drops.internal, 0);
});

test('half-open IKE_SA on the responder is dropped after half_open_timeout', () => {
  const p = new Pair({}, { engine: { halfOpenTimeoutSec: 30 } });
  p.initiate();
  p.deliver('i');
  assert.equal(p.r.halfOpenCount(), 1);
  p.drop('r');
  p.advance(30_000);
  assert.equal(p.r.halfOpenCount(), 0);
  assert.equal(p.r.ikeSas().length, 0);
});

test('CREATE_CHILD_SA with PFS: INVALID_KE_PAYLOAD then retry with the group the responder wants', () => {
  const p = new Pair(
    { child: { proposals: ['aes128gcm16-x25519-ecp256'] } },
    { child: { proposals: ['aes128gcm16-ecp256'] } },
  );
  p.initiate();
  p.run();
  const [c] = p.events('i', 'childSaInstalled');
  assert.ok(c);
  p.i.rekeyChild(c.child.id, p.nowMs);
  // HDR, SK { N(REKEY_SA), SA, Ni, KEi(x25519), TSi, TSr } -->
  p.deliver('i');
  // <-- HDR, SK { N(INVALID_KE_PAYLOAD, 19) }
  p.deliver('r');
  // HDR, SK { N(REKEY_SA), SA, Ni, KEi(ecp256), TSi, TSr } -->
  p.run();
  assert.equal(p.events('i', 'childSaInstalled').length, 2);
  assert.equal(p.events('r', 'childSaInstalled').length, 2);
  assert.equal(p.events('i', 'childSaFailed').length, 0);
  void NotifyType;
});
