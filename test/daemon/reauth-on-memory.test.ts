/**
 * reauth_time on two daemons (memory I/O, fake clocks): the initiator sets up a new IKE_SA and CHILD_SA
 * before it deletes the old ones; both sides keep the CHILD_SA's reqid (its policies and routes stay, traffic
 * moves to the new SA); the responder's `unique = replace` waits for the peer's DELETE, and its
 * `close_action` does not fire for an IKE_SA the peer replaced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conf, settle, TwoDaemons } from './memory-daemons.js';
import type { Host } from './memory-daemons.js';

async function listing(h: Host): Promise<{ ike: number[]; reqids: number[]; spis: string[]; spisOut: string[] }> {
  const sas = (await h.daemon.sas()).ikeSas;
  return {
    ike: sas.map((s) => s.uniqueId),
    reqids: sas.flatMap((s) => s.children.map((c) => c.reqid)),
    spis: sas.flatMap((s) => s.children.map((c) => c.spiIn)),
    spisOut: sas.flatMap((s) => s.children.map((c) => c.spiOut)),
  };
}

/** SPIs (hex) of the ESP packets `from` sent since wire index `since`. */
function espSpis(t: TwoDaemons, from: string, since: number): Set<string> {
  const spis = t.wire
    .slice(since)
    .filter((w) => w.protocol === 50 && w.packet.srcAddr === from)
    .map((w) =>
      w.packet.bytes
        .subarray(w.packet.ipv4Header === true ? 20 : 0)
        .subarray(0, 4)
        .toString('hex'),
    );
  return new Set(spis);
}

test('reauth_time: new IKE_SA and CHILD_SA first, old ones deleted after; reqids kept; no close_action', async () => {
  const t = await TwoDaemons.start(
    conf('left', { conn: 'rekey_time = 0\n    reauth_time = 60s\n    over_time = 30s\n    rand_time = 0' }),
    conf('right', { conn: 'unique = replace', child: 'close_action = start' }),
  );
  try {
    await t.left.daemon.up('net', 10);
    await settle();
    const before = { left: await listing(t.left), right: await listing(t.right) };
    assert.equal(before.left.ike.length, 1);
    assert.equal((await t.ping(t.left, t.right, 1)).reply?.type, 0);
    await t.advance(61_000);
    const after = { left: await listing(t.left), right: await listing(t.right) };
    assert.equal(after.left.ike.length, 1, 'the old IKE_SA is gone');
    assert.notDeepEqual(after.left.ike, before.left.ike, 'a new IKE_SA');
    assert.equal(after.right.ike.length, 1);
    assert.notDeepEqual(after.left.spis, before.left.spis, 'a new CHILD_SA');
    assert.deepEqual(after.left.reqids, before.left.reqids, 'the initiator kept the reqid');
    assert.deepEqual(after.right.reqids, before.right.reqids, 'the responder kept the reqid');
    assert.equal((await t.ping(t.left, t.right, 2)).reply?.type, 0);
    assert.equal((await t.ping(t.right, t.left, 3)).reply?.type, 0);
    const left = t.left.logs.join('\n');
    const right = t.right.logs.join('\n');
    assert.match(left, /reauthenticating, make-before-break, as lab\[\d+\]/);
    assert.match(left, /lab\[\d+\] and its CHILD_SAs are up: deleting lab\[\d+\]/);
    assert.match(right, /unique = replace: .* a reauthentication\? lab\[\d+\] left to the peer/);
    assert.doesNotMatch(right, /close_action/);
    assert.doesNotMatch(right, /still up after/);
    // Another reauthentication 60 s later: the deadline was armed on the new IKE_SA.
    await t.advance(60_000);
    const again = await listing(t.left);
    assert.equal(again.ike.length, 1);
    assert.notDeepEqual(again.ike, after.left.ike);
    assert.deepEqual(again.reqids, before.left.reqids);
  } finally {
    await t.stop();
  }
});

test('reauth while traffic flows: with both IKE_SAs up (the DELETE held back) every ping is answered both ways; the responder sends on the old SA until the DELETE', async () => {
  const t = await TwoDaemons.start(
    conf('left', { conn: 'rekey_time = 0\n    reauth_time = 60s\n    over_time = 30s\n    rand_time = 0' }),
    conf('right'),
  );
  try {
    await t.left.daemon.up('net', 10);
    await settle();
    const old = await listing(t.right);
    // Hold back the initiator's DELETE (INFORMATIONAL, the one after the new IKE_SA is up) for a moment.
    let held = 0;
    t.lose = (p) => p.dstPort === 500 && p.srcAddr === '192.0.2.1' && p.bytes[18] === 37 && held++ < 3;
    await t.advance(60_000);
    assert.ok(held >= 1, 'the DELETE was held back');
    assert.equal((await listing(t.right)).ike.length, 2, 'both IKE_SAs up on the responder');
    // The initiator sends on its new SA, the responder still on the old one (the peer may not have installed the
    // new one yet when the responder installs it); both directions work.
    const since = t.wire.length;
    for (let seq = 10; seq < 14; seq++) {
      assert.equal((await t.ping(t.left, t.right, seq)).reply?.type, 0, `ping ${seq} during the handover`);
      assert.equal((await t.ping(t.right, t.left, seq + 10)).reply?.type, 0, `ping ${seq + 10} during the handover`);
    }
    assert.deepEqual([...espSpis(t, '192.0.2.2', since)], old.spisOut, 'the responder kept its old outbound SA');
    const initiatorOut = [...espSpis(t, '192.0.2.1', since)];
    assert.equal(initiatorOut.length, 1);
    assert.ok(!old.spis.includes(initiatorOut[0] ?? ''), 'the initiator moved to its new outbound SA');
    t.lose = undefined;
    await t.advance(10_000);
    const after = t.wire.length;
    assert.equal((await t.ping(t.right, t.left, 30)).reply?.type, 0);
    const now = await listing(t.right);
    assert.deepEqual([...espSpis(t, '192.0.2.2', after)], now.spisOut, 'after the DELETE: the new outbound SA');
    assert.notDeepEqual(now.spisOut, old.spisOut);
    assert.equal(now.ike.length, 1, 'the retransmitted DELETE arrived');
    assert.deepEqual(now.reqids, old.reqids);
  } finally {
    await t.stop();
  }
});
