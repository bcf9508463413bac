/**
 * INITIAL_CONTACT (RFC 7296 2.4): sent in the first IKE_AUTH to a peer only; on receipt, every older IKE_SA
 * between the same two identities goes, with its CHILD_SAs, as events the daemon acts on (no DELETE is sent:
 * the peer forgot them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair } from './exchange-helper.js';

test('a restarted initiator sends INITIAL_CONTACT; the responder drops the old IKE_SA and its CHILD_SA', () => {
  const p = new Pair();
  p.initiate();
  p.run();
  const [old] = p.events('r', 'ikeSaEstablished');
  const [oldChild] = p.events('r', 'childSaInstalled');
  assert.ok(old && oldChild);
  // The initiator restarts and connects again: it has no IKE_SA with the peer, so this is first contact.
  p.restart('i');
  p.initiate();
  p.run();
  assert.equal(p.r.ikeSas().length, 1, 'only the new IKE_SA is left on the responder');
  const ikeGone = p.events('r', 'ikeSaDeleted');
  assert.deepEqual(
    ikeGone.map((e) => e.ikeSaId),
    [old.ikeSaId],
  );
  assert.match(ikeGone[0]?.reason ?? '', /INITIAL_CONTACT/);
  const childGone = p.events('r', 'childSaDeleted');
  assert.deepEqual(
    childGone.map((e) => [e.childSaId, e.spiIn]),
    [[oldChild.child.id, oldChild.child.spiIn]],
    'the daemon is told to remove the old CHILD_SA',
  );
  assert.equal(p.events('r', 'childSaInstalled').length, 2);
  assert.equal(p.wire.length, 0, 'no DELETE for the forgotten IKE_SA');
});

test('a second IKE_SA to a peer we are connected to carries no INITIAL_CONTACT: both stay', () => {
  const p = new Pair();
  p.initiate();
  p.run();
  p.initiate();
  p.run();
  assert.equal(p.events('r', 'ikeSaEstablished').length, 2);
  assert.equal(p.r.ikeSas().length, 2, 'the first IKE_SA survives the second');
  assert.equal(p.i.ikeSas().length, 2);
  assert.equal(p.events('r', 'ikeSaDeleted').length, 0);
});

test('INITIAL_CONTACT leaves IKE_SAs with other identities alone', () => {
  // A responder for any identity; a second initiator identity (another road warrior) connects with INITIAL_CONTACT.
  const other = { type: 'fqdn' as const, value: 'venus.example.org' };
  const q = new Pair({}, { conn: { remoteId: { type: 'any' } } });
  q.initiate();
  q.run();
  q.restart('i', { conn: { localId: other } });
  q.initiate();
  q.run();
  assert.equal(q.r.ikeSas().filter((s) => s.state === 'ESTABLISHED').length, 2, 'both peers keep their IKE_SA');
  assert.equal(q.events('r', 'ikeSaDeleted').length, 0);
});
