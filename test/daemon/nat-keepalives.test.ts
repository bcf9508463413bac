/** NAT-keepalives (RFC 3948 2.3): who gets them, when, and the earliest deadline as IKE_SAs come and go. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NatKeepalives } from '../../src/daemon/nat-keepalives.js';

const US = { address: '192.0.2.1', port: 4500 };
const peer = (i: number): { address: string; port: number } => ({ address: `198.51.100.${i}`, port: 4500 });

test('only IKE_SAs behind a NAT; the earliest deadline follows additions, deletions and sends', () => {
  const k = new NatKeepalives(1000);
  assert.equal(k.nextDeadlineMs(), undefined);
  k.established(1, false, US, peer(1), 0);
  assert.equal(k.nextDeadlineMs(), undefined, 'not behind a NAT: none');
  k.established(2, true, US, peer(2), 100);
  k.established(3, true, US, peer(3), 50);
  k.established(4, true, US, peer(4), 300);
  assert.equal(k.nextDeadlineMs(), 1050);
  assert.deepEqual(k.due(1049), []);
  k.deleted(3);
  assert.equal(k.nextDeadlineMs(), 1100, 'the earliest went');
  k.deleted(99);
  assert.equal(k.nextDeadlineMs(), 1100);
  assert.deepEqual(k.due(1100), [{ from: US, to: peer(2) }]);
  assert.equal(k.nextDeadlineMs(), 1300, 'the one sent is re-armed an interval later');
  assert.deepEqual(
    k.due(2100).map((d) => d.to.address),
    ['198.51.100.2', '198.51.100.4'],
  );
  assert.equal(k.nextDeadlineMs(), 3100);
  k.deleted(2);
  k.deleted(4);
  assert.equal(k.nextDeadlineMs(), undefined);
});
