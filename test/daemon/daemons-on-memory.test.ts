/**
 * Two daemons in one process on memory I/O and fake clocks: no root, no sockets, no waiting. Each test
 * drives the public surface (`up`, `down`, `sas`, `reload`, `stop`) and checks real packets: ICMP through
 * the TUNs, ESP and IKE on the memory wire.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IkeSaInfo } from '../../src/control/schema.js';
import { conf, configOf, LEFT, RIGHT, settle, TwoDaemons } from './memory-daemons.js';

async function sas(t: TwoDaemons): Promise<{ left: IkeSaInfo[]; right: IkeSaInfo[] }> {
  return { left: (await t.left.daemon.sas()).ikeSas, right: (await t.right.daemon.sas()).ikeSas };
}

test('up: IKE_SA and CHILD_SA on both sides, a ping through ESP, listings that agree', async () => {
  const t = await TwoDaemons.start(conf('left'), conf('right'));
  try {
    const up = await t.left.daemon.up('net', 10);
    assert.equal(up.children.length, 1);
    await settle();
    const s = await sas(t);
    assert.equal(s.left.length, 1);
    assert.equal(s.right.length, 1);
    const [l, r] = [s.left[0], s.right[0]];
    assert.ok(l && r);
    assert.equal(l.state, 'ESTABLISHED');
    assert.equal(r.state, 'ESTABLISHED');
    assert.equal(l.initiator, true);
    assert.equal(r.initiator, false);
    assert.deepEqual([l.spiI, l.spiR], [r.spiI, r.spiR]);
    assert.deepEqual([l.localId, l.remoteId], [LEFT.id, RIGHT.id]);
    const [lc, rc] = [l.children[0], r.children[0]];
    assert.ok(lc && rc);
    assert.deepEqual([lc.spiIn, lc.spiOut], [rc.spiOut, rc.spiIn], 'the SPIs pair up');
    assert.deepEqual(lc.localTs, [`${LEFT.inner}/32`]);
    assert.deepEqual(lc.remoteTs, [`${RIGHT.inner}/32`]);
    assert.equal(
      t.left.io.routes.get(`${RIGHT.inner}/32`),
      LEFT.inner,
      'route into the TUN, source the one local host',
    );
    assert.equal(t.right.io.routes.get(`${LEFT.inner}/32`), RIGHT.inner);

    const wireBefore = t.wire.length;
    const p = await t.ping(t.left, t.right, 1);
    assert.equal(p.request?.src, LEFT.inner);
    assert.equal(p.request?.dst, RIGHT.inner);
    assert.equal(p.reply?.type, 0, 'the echo reply came back');
    assert.equal(p.reply?.seq, 1);
    assert.equal(t.espSince(wireBefore), 2, 'request and reply crossed as ESP');
    const after = await sas(t);
    assert.equal(after.left[0]?.children[0]?.out.packets, 1);
    assert.equal(after.left[0]?.children[0]?.in.packets, 1);
    const stats = await t.left.daemon.stats();
    assert.equal(stats.ikeSas, 1);
    assert.equal(stats.childSas, 1);
    assert.ok(stats.ikeOut >= 2 && stats.ikeIn >= 2, 'IKE_SA_INIT and IKE_AUTH each way');
  } finally {
    await t.stop();
  }
});

test('up of an unknown name is refused; a peer that never answers times out on the clock', async () => {
  const t = await TwoDaemons.start(conf('left'), conf('right'));
  try {
    await assert.rejects(t.left.daemon.up('nope', 5), /no connection or child named 'nope'/);
    t.lose = () => true;
    const up = t.left.daemon.up('lab', 3);
    let settled = false;
    up.then(
      () => (settled = true),
      () => (settled = true),
    );
    await t.advance(2_900);
    assert.equal(settled, false, 'still waiting before the deadline');
    await t.advance(200);
    await assert.rejects(up, /no CHILD_SA for 'lab' after 3 s/);
  } finally {
    await t.stop();
  }
});

test('DELETE: down on one side removes the SAs, policies and routes on both', async () => {
  const t = await TwoDaemons.start(conf('left'), conf('right'));
  try {
    await t.left.daemon.up('net', 10);
    await settle();
    assert.equal((await t.ping(t.left, t.right, 1)).reply?.type, 0);
    const { deleted } = t.right.daemon.down('lab');
    assert.equal(deleted.length, 1);
    await settle();
    const s = await sas(t);
    assert.deepEqual([s.left.length, s.right.length], [0, 0]);
    assert.equal(t.left.io.routes.size, 0);
    assert.equal(t.right.io.routes.size, 0);
    const wireBefore = t.wire.length;
    assert.equal((await t.ping(t.left, t.right, 2)).request, undefined, 'nothing reaches the peer');
    assert.equal(t.espSince(wireBefore), 0);
    assert.throws(() => t.left.daemon.down('lab'), /nothing named 'lab' is up/);
  } finally {
    await t.stop();
  }
});

test('stop: DELETE to the peer, routes and routing rules gone', async () => {
  const t = await TwoDaemons.start(conf('left'), conf('right'));
  await t.left.daemon.up('net', 10);
  await settle();
  assert.equal(t.left.io.isSetUp, true);
  const stopping = t.left.daemon.stop();
  await settle();
  await stopping;
  assert.equal((await t.right.daemon.sas()).ikeSas.length, 0, 'the peer got our DELETE');
  assert.equal(t.left.io.routes.size, 0);
  assert.equal(t.left.io.isSetUp, false);
  await t.right.daemon.stop(0);
});

test('reload: a new child with start_action = trap gets its trap policy and route; SAs stay up', async () => {
  const t = await TwoDaemons.start(conf('left'), conf('right'));
  try {
    await t.left.daemon.up('net', 10);
    await settle();
    const before = (await t.left.daemon.sas()).ikeSas[0]?.uniqueId;
    const more = `web { local_ts = ${LEFT.inner}/32
        remote_ts = 203.0.113.80/32
        esp_proposals = aes128gcm16
        start_action = trap }`;
    const names = await t.left.daemon.reload(configOf(conf('left', { moreChildren: more })));
    assert.deepEqual(names, ['lab']);
    assert.deepEqual(
      t.left.daemon.conns().connections[0]?.children.map((c) => c.name),
      ['net', 'web'],
    );
    assert.equal(t.left.io.routes.get('203.0.113.80/32'), LEFT.inner, 'the trap routes into the TUN');
    assert.equal((await t.left.daemon.sas()).ikeSas[0]?.uniqueId, before, 'the IKE_SA stayed');
    assert.equal((await t.ping(t.left, t.right, 1)).reply?.type, 0);
  } finally {
    await t.stop();
  }
});

test('NAT: keepalives from behind the NAT; the peer is followed when its mapping changes (the mapping upcall)', async () => {
  const NAT = '203.0.113.9';
  const ike500 = 40000;
  let ike4500 = 40500;
  const t = new TwoDaemons(conf('left'), conf('right', { remoteAddrs: '%any' }));
  // Left sits behind a NAT: its packets leave from NAT:port, the NAT maps the current ports back.
  t.net.alter = (p, protocol) => {
    if (protocol !== 17) return;
    if (p.srcAddr === LEFT.outer) {
      p.srcAddr = NAT;
      p.srcPort = p.srcPort === 500 ? ike500 : ike4500;
    } else if (p.dstAddr === NAT) {
      const back = p.dstPort === ike500 ? 500 : p.dstPort === ike4500 ? 4500 : undefined;
      p.dstAddr = back === undefined ? '203.0.113.250' : LEFT.outer; // a forgotten mapping goes nowhere
      p.dstPort = back ?? p.dstPort;
    }
  };
  await t.right.daemon.start();
  await t.left.daemon.start();
  try {
    await t.left.daemon.up('net', 10);
    await settle();
    const before = (await t.right.daemon.sas()).ikeSas[0];
    assert.equal(before?.natRemote, true, 'the responder sees its peer behind a NAT');
    assert.equal(before?.remotePort, ike4500);
    assert.equal(before?.children[0]?.encap, true);
    assert.equal((await t.ping(t.left, t.right, 1)).reply?.type, 0);
    const since = t.wire.length;
    await t.advance(20_000);
    const keepalives = t.wire
      .slice(since)
      .filter((w) => w.protocol === 17 && w.packet.bytes.equals(Buffer.from([0xff])));
    assert.deepEqual(
      keepalives.map((k) => [k.packet.srcAddr, k.packet.dstAddr, k.packet.dstPort]),
      [[NAT, RIGHT.outer, 4500]],
      'one NAT-keepalive after 20 s, from the side behind the NAT only',
    );
    ike4500 = 40501; // the NAT forgets the mapping and makes a new one
    const p = await t.ping(t.left, t.right, 2);
    assert.equal(p.request?.seq, 2, 'the request arrives from the new port');
    assert.equal(p.reply?.seq, 2, 'the reply follows the new mapping');
    const after = (await t.right.daemon.sas()).ikeSas[0];
    assert.equal(after?.remotePort, 40501, 'IKE follows too');
    assert.equal(after?.children[0]?.out.packets, 2, 'counters still found under the moved SA');
    t.right.daemon.down('lab');
    await settle();
    assert.equal((await t.left.daemon.sas()).ikeSas.length, 0, 'the DELETE reached the peer at its new port');
  } finally {
    await t.stop();
  }
});
