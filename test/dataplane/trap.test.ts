/** Trap policies (RFC 4301 5.1): acquire once, bounded queue, nothing in the clear, release on SA install. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_A, HOST_B, REQID, makePeers, nextWrites, settle } from './two-peers.js';
import { ICMP_ECHO_REQUEST, icmpEcho, ipv4, udp } from '../spd/packets.js';
import { TrapQueue } from '../../src/dataplane/trap-queue.js';

test('first packet raises one acquire; packets wait (bounded) and are never sent in the clear', async () => {
  let now = 1000;
  const p = await makePeers({ installSas: false, nowMs: () => now });
  const onWire: number[] = [];
  p.net.drop = (_pkt, protocol) => {
    onWire.push(protocol);
    return false;
  };
  try {
    const sent: Buffer[] = [];
    for (let i = 0; i < 10; i++) sent.push(ipv4(HOST_A, HOST_B, 17, udp(5000 + i, 53)));
    for (const s of sent) p.a.tun.inject(s);
    await settle();
    assert.equal(p.a.upcalls.acquires.length, 1, 'one acquire for the reqid');
    const acq = p.a.upcalls.acquires[0]!;
    assert.equal(acq.reqid, REQID);
    assert.deepEqual(acq.packet, { src: HOST_A, dst: HOST_B, protocol: 17, srcPort: 5000, dstPort: 53 });
    assert.equal(typeof acq.policyId, 'number');
    assert.equal(p.a.dp.stats.drops.trapQueued, 4, 'queue bound per reqid');
    assert.equal(p.a.dp.stats.drops.trapQueueFull, 6);
    assert.deepEqual(onWire, [], 'nothing left peer A');
    assert.equal(p.b.tun.stats.txPackets, 0);

    // Still no SA a little later: no second acquire; after the retry interval: one more.
    now += 1000;
    p.a.tun.inject(sent[0]!);
    await settle();
    assert.equal(p.a.upcalls.acquires.length, 1);
    now += 10_000;
    p.a.tun.inject(sent[0]!);
    await settle();
    assert.equal(p.a.upcalls.acquires.length, 2);
    assert.deepEqual(onWire, []);

    // IKE finishes: the SAs are installed and the queued packets go out, in order, through ESP.
    const atB = nextWrites(p.b.tun, 4);
    await p.installSas();
    assert.deepEqual(await atB, sent.slice(0, 4));
    assert.ok(onWire.length === 4 && onWire.every((proto) => proto === 50), 'only ESP on the wire');

    // From now on packets flow directly.
    const more = ipv4(HOST_A, HOST_B, 1, icmpEcho(ICMP_ECHO_REQUEST, 1, 1, new Uint8Array(8)));
    const atB2 = nextWrites(p.b.tun, 1);
    p.a.tun.inject(more);
    assert.deepEqual(await atB2, [more]);
    assert.equal(p.a.upcalls.acquires.length, 2);
  } finally {
    await p.close();
  }
});

test('deleting the trap policy drops what waited', async () => {
  const p = await makePeers({ installSas: false });
  try {
    p.a.tun.inject(ipv4(HOST_A, HOST_B, 17, udp(1, 2)));
    await settle();
    assert.equal(p.a.dp.stats.drops.trapQueued, 1);
    for (const pol of p.a.dp.spd.all()) await p.a.dp.delPolicy(pol.id);
    assert.equal(p.a.dp.stats.drops.trapDiscarded, 1);
    const atB = nextWrites(p.b.tun, 1, 200);
    await p.installSas();
    await assert.rejects(atB, /0 of 1/);
  } finally {
    await p.close();
  }
});

test('TrapQueue bounds: per reqid, in total, and by packet size', () => {
  const q = new TrapQueue({ perReqid: 2, total: 3, maxPacket: 100 });
  const pkt = new Uint8Array(50);
  assert.deepEqual(q.enqueue(1, pkt, 0, 50, 0), { kept: true, acquire: true });
  assert.deepEqual(q.enqueue(1, pkt, 0, 50, 1), { kept: true, acquire: false });
  assert.deepEqual(q.enqueue(1, pkt, 0, 50, 2), { kept: false, acquire: false });
  assert.deepEqual(q.enqueue(2, pkt, 0, 50, 3), { kept: true, acquire: true });
  assert.deepEqual(q.enqueue(3, pkt, 0, 50, 4), { kept: false, acquire: true }, 'pool exhausted');
  assert.deepEqual(q.enqueue(4, new Uint8Array(101), 0, 101, 5), { kept: false, acquire: true }, 'too big');
  const order: number[] = [];
  assert.equal(
    q.flush(1, (b) => order.push(b.len)),
    2,
  );
  assert.deepEqual(order, [50, 50]);
  assert.equal(q.isPending(1), false);
  assert.equal(q.discard(2), 1);
  assert.equal(q.queued(2), 0);
});
