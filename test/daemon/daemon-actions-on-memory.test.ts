/**
 * What the daemon does on its own, on memory I/O and fake clocks: rekeys by the clock, trap policies and
 * their acquires, keyingtries, close_action and dpd_action. Assertions are on packets and SA states.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader } from '../../src/ike/codec/header.js';
import { ExchangeType } from '../../src/ike/codec/constants.js';
import { NON_ESP_MARKER_LENGTH, NAT_T_PORT } from '../../src/common/nat-t.js';
import { icmpEcho, parseIcmpEcho } from '../io/packets.js';
import { conf, LEFT, RIGHT, settle, TwoDaemons } from './memory-daemons.js';

/** Initiator SPIs of the IKE_SA_INIT requests `t` saw on the wire towards `to`. */
function initSpis(t: TwoDaemons, to: string): Set<string> {
  const out = new Set<string>();
  for (const { protocol, packet } of t.wire) {
    if (protocol !== 17 || packet.dstAddr !== to) continue;
    const bytes = packet.dstPort === NAT_T_PORT ? packet.bytes.subarray(NON_ESP_MARKER_LENGTH) : packet.bytes;
    const h = decodeHeader(bytes);
    if (h.exchangeType === ExchangeType.IKE_SA_INIT && !h.flags.response) out.add(h.spiI.toString('hex'));
  }
  return out;
}

test('CHILD_SA rekey by the clock: new SPIs, the same reqid, traffic flows on', async () => {
  const child = 'rekey_time = 60s\n rand_time = 0s\n life_time = 600s';
  const t = await TwoDaemons.start(conf('left', { child }), conf('right'));
  try {
    await t.left.daemon.up('net', 10);
    await settle();
    const before = (await t.left.daemon.sas()).ikeSas[0]?.children[0];
    assert.ok(before);
    await t.advance(61_000);
    const after = (await t.left.daemon.sas()).ikeSas[0]?.children;
    assert.equal(after?.length, 1, 'the old CHILD_SA is gone, the new one is there');
    const now = after?.[0];
    assert.ok(now);
    assert.notEqual(now.spiIn, before.spiIn);
    assert.notEqual(now.uniqueId, before.uniqueId);
    assert.equal(now.reqid, before.reqid, 'a rekeyed CHILD_SA keeps its reqid');
    const peer = (await t.right.daemon.sas()).ikeSas[0]?.children;
    assert.deepEqual(
      peer?.map((c) => c.spiOut),
      [now.spiIn],
    );
    assert.equal((await t.ping(t.left, t.right, 1)).reply?.type, 0);
    assert.equal(t.left.io.routes.get(`${RIGHT.inner}/32`), LEFT.inner, 'the route stayed');
  } finally {
    await t.stop();
  }
});

test('volume limits: the data plane counts, a soft packet limit rekeys, a hard one deletes', async () => {
  const child = 'rekey_time = 0s\n life_time = 0s\n rekey_packets = 3\n life_packets = 6\n rand_packets = 0';
  const t = await TwoDaemons.start(conf('left', { child }), conf('right'));
  try {
    await t.left.daemon.up('net', 10);
    await settle();
    const first = (await t.left.daemon.sas()).ikeSas[0]?.children[0];
    assert.ok(first);
    for (let seq = 1; seq <= 3; seq++) assert.equal((await t.ping(t.left, t.right, seq)).reply?.type, 0);
    await settle();
    const rekeyed = (await t.left.daemon.sas()).ikeSas[0]?.children;
    assert.equal(rekeyed?.length, 1);
    assert.notEqual(rekeyed?.[0]?.spiIn, first.spiIn, 'three packets out: rekeyed, no clock involved');
    assert.equal(rekeyed?.[0]?.reqid, first.reqid);
    assert.equal(t.nowMs, 1_000, 'the clock never moved');
  } finally {
    await t.stop();
  }
  const hard = 'rekey_time = 0s\n life_time = 0s\n life_packets = 2';
  const h = await TwoDaemons.start(conf('left', { child: hard }), conf('right'));
  try {
    await h.left.daemon.up('net', 10);
    await settle();
    assert.equal((await h.ping(h.left, h.right, 1)).reply?.type, 0);
    await h.ping(h.left, h.right, 2);
    await settle();
    assert.equal((await h.left.daemon.sas()).ikeSas[0]?.children.length, 0, 'hard limit: the CHILD_SA is gone');
    assert.equal((await h.right.daemon.sas()).ikeSas[0]?.children.length, 0, 'and the peer was told');
    assert.ok(h.left.logs.some((l) => /CHILD_SA net\{\d+\} deleted: hard lifetime expired/.test(l)));
  } finally {
    await h.stop();
  }
});

test('IKE_SA rekey by the clock: a new IKE_SA carries the same CHILD_SA', async () => {
  const t = await TwoDaemons.start(conf('left', { conn: 'rekey_time = 100s\n rand_time = 0s' }), conf('right'));
  try {
    await t.left.daemon.up('net', 10);
    await settle();
    const before = (await t.left.daemon.sas()).ikeSas[0];
    assert.ok(before);
    await t.advance(101_000);
    const [left, right] = [(await t.left.daemon.sas()).ikeSas, (await t.right.daemon.sas()).ikeSas];
    assert.equal(left.length, 1, 'the old IKE_SA was deleted');
    assert.equal(right.length, 1);
    assert.notEqual(left[0]?.uniqueId, before.uniqueId);
    assert.notEqual(left[0]?.spiI, before.spiI);
    assert.equal(left[0]?.state, 'ESTABLISHED');
    assert.deepEqual([left[0]?.spiI, left[0]?.spiR], [right[0]?.spiI, right[0]?.spiR]);
    assert.deepEqual(
      left[0]?.children.map((c) => c.spiIn),
      before.children.map((c) => c.spiIn),
      'the CHILD_SA moved over unchanged',
    );
    assert.equal((await t.ping(t.left, t.right, 1)).reply?.type, 0);
  } finally {
    await t.stop();
  }
});

test('trap: the first packet raises an acquire, IKE comes up on the trap reqid and the packet goes through', async () => {
  const t = await TwoDaemons.start(conf('left', { child: 'start_action = trap' }), conf('right'));
  try {
    assert.equal((await t.left.daemon.sas()).ikeSas.length, 0, 'nothing negotiated before traffic');
    assert.equal(t.left.io.routes.get(`${RIGHT.inner}/32`), LEFT.inner, 'the trap routes into the TUN');
    t.right.io.tun.written.length = 0;
    t.left.io.tun.inject(icmpEcho(8, LEFT.inner, RIGHT.inner, 1, 1, Buffer.from('first')));
    await settle(200);
    const [sa] = (await t.left.daemon.sas()).ikeSas;
    assert.equal(sa?.state, 'ESTABLISHED');
    assert.equal(sa?.children[0]?.reqid, 1, 'the CHILD_SA took the trap reqid');
    const arrived = t.right.io.tun.written.map((p) => parseIcmpEcho(p));
    assert.deepEqual(
      arrived.map((e) => e?.data.toString()),
      ['first'],
      'the packet that raised the acquire was delivered',
    );
    t.left.daemon.down('lab');
    await settle();
    assert.equal(t.left.io.routes.get(`${RIGHT.inner}/32`), LEFT.inner, 'the trap outlives its CHILD_SA');
    assert.equal((await t.ping(t.left, t.right, 2)).reply?.type, 0, 'and brings it up again');
  } finally {
    await t.stop();
  }
});

test('keyingtries: a silent peer is tried keyingtries times in all, one second apart on the clock', async () => {
  const t = await TwoDaemons.start(conf('left', { conn: 'keyingtries = 3' }), conf('right'));
  try {
    t.lose = (p) => p.dstAddr === RIGHT.outer;
    const up = t.left.daemon.up('lab', 3600).catch((e: Error) => e);
    await t.advance(1_200_000);
    assert.equal(initSpis(t, RIGHT.outer).size, 3, 'three IKE_SA_INIT attempts, each with a new SPI');
    assert.ok(t.left.logs.some((l) => l.includes('giving up after 3 keying tries')));
    assert.match(String(await up), /peer not responding/);
  } finally {
    await t.stop();
  }
});

test('keyingtries: an authentication failure is final', async () => {
  const t = await TwoDaemons.start(
    conf('left', { conn: 'keyingtries = 5' }),
    conf('right', { secret: 'another-secret-altogether-000' }),
  );
  try {
    await assert.rejects(t.left.daemon.up('lab', 60));
    await t.advance(30_000);
    assert.equal(initSpis(t, RIGHT.outer).size, 1, 'no second attempt');
    assert.equal((await t.left.daemon.sas()).ikeSas.length, 0);
  } finally {
    await t.stop();
  }
});

test('close_action = start: the peer deletes the IKE_SA, we initiate again', async () => {
  const t = await TwoDaemons.start(conf('left', { child: 'close_action = start' }), conf('right'));
  try {
    await t.left.daemon.up('net', 10);
    await settle();
    const first = (await t.left.daemon.sas()).ikeSas[0]?.uniqueId;
    t.right.daemon.down('lab');
    await settle(200);
    const again = (await t.left.daemon.sas()).ikeSas;
    assert.equal(again.length, 1);
    assert.notEqual(again[0]?.uniqueId, first, 'a new IKE_SA');
    assert.equal(again[0]?.initiator, true);
    assert.equal(again[0]?.children.length, 1);
    assert.equal((await t.ping(t.left, t.right, 1)).reply?.type, 0);
  } finally {
    await t.stop();
  }
});

test('close_action = none: the peer deletes the IKE_SA and it stays down', async () => {
  const t = await TwoDaemons.start(conf('left'), conf('right'));
  try {
    await t.left.daemon.up('net', 10);
    await settle();
    t.right.daemon.down('lab');
    await settle(200);
    assert.equal((await t.left.daemon.sas()).ikeSas.length, 0);
  } finally {
    await t.stop();
  }
});

test('dpd_action = restart: a peer that stops answering is declared dead, then initiated again', async () => {
  const conn = 'dpd_delay = 10s';
  const t = await TwoDaemons.start(conf('left', { conn, child: 'dpd_action = restart' }), conf('right'));
  try {
    await t.left.daemon.up('net', 10);
    await settle();
    const first = (await t.left.daemon.sas()).ikeSas[0]?.uniqueId;
    t.lose = () => true;
    const dead = (): boolean => t.left.logs.some((l) => /IKE_SA lab\[\d+\] deleted: peer not responding/.test(l));
    for (let i = 0; i < 100 && !dead(); i++) await t.advance(5_000);
    assert.ok(dead(), 'declared dead');
    t.lose = undefined;
    await t.advance(200_000);
    const now = (await t.left.daemon.sas()).ikeSas.filter((s) => s.state === 'ESTABLISHED');
    assert.ok(now.length >= 1, 'up again once the peer answers');
    assert.notEqual(now[0]?.uniqueId, first);
  } finally {
    await t.stop();
  }
});
