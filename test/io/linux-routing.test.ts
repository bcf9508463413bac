import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addRoute,
  addRouteArgs,
  addUnmarkedRule,
  ip,
  IpBatcher,
  parseBatchErrors,
} from '../../src/io/linux/iproute.js';
import { LinuxTun } from '../../src/io/linux/tun.js';
import { LinuxUdpEndpoint } from '../../src/io/linux/udp-endpoint.js';
import { delNetns, rootSkip, vethPair, waitFor, type VethPair } from './netns.js';

const MARK = 0x4242;
const TABLE = 220;
const IPV4_SRC_OFFSET = 12;
const IPV4_DST_OFFSET = 16;
const IPV4_PROTOCOL_OFFSET = 9;

test(
  'transport mode without a routing loop: the peer selector routes into the TUN, marked daemon packets still reach the peer',
  { skip: rootSkip },
  async () => {
    let v: VethPair | undefined;
    let tun: LinuxTun | undefined;
    const sockets: LinuxUdpEndpoint[] = [];
    try {
      v = vethPair();
      // A protects all traffic to the peer's own address (the selector is 192.0.2.2/32): route it into the TUN
      // in table 220 with A's own address as source (transport mode), and let only unmarked packets use that table.
      tun = new LinuxTun({ name: 'tsi0', netns: v.nsA });
      await addRoute('192.0.2.2/32', tun.name, { table: TABLE, src: v.a4, netns: v.nsA });
      await addUnmarkedRule(MARK, TABLE, { family: 4, priority: 100, netns: v.nsA });
      const rules = await ip(['-4', 'rule', 'show'], { netns: v.nsA });
      assert.match(rules, /100:\s+not from all fwmark 0x4242 lookup 220/);

      const intoTun: { src: string; dst: string; protocol: number }[] = [];
      tun.start((batch) => {
        for (let i = 0; i < batch.count; i++) {
          const p = batch.bufs[i];
          const off = batch.offsets[i] ?? 0;
          if (p === undefined || (p[off] ?? 0) >> 4 !== 4) continue;
          intoTun.push({
            src: [...p.subarray(off + IPV4_SRC_OFFSET, off + IPV4_SRC_OFFSET + 4)].join('.'),
            dst: [...p.subarray(off + IPV4_DST_OFFSET, off + IPV4_DST_OFFSET + 4)].join('.'),
            protocol: p[off + IPV4_PROTOCOL_OFFSET] ?? 0,
          });
        }
      });
      const daemon = new LinuxUdpEndpoint({ family: 4, port: 4500, mark: MARK, netns: v.nsA });
      const application = new LinuxUdpEndpoint({ family: 4, port: 7000, natT: false, netns: v.nsA });
      const peer = new LinuxUdpEndpoint({ family: 4, port: 4500, netns: v.nsB });
      const peerApp = new LinuxUdpEndpoint({ family: 4, port: 7000, natT: false, netns: v.nsB });
      sockets.push(daemon, application, peer, peerApp);
      const atPeer: string[] = [];
      peer.start({ ike: (m) => atPeer.push(m.toString()) });
      peerApp.start({ ike: (m) => atPeer.push(`app:${m.toString()}`) });

      assert.equal(daemon.sendIke(Buffer.from('IKE_SA_INIT'), { address: v.b4, port: 4500 }), true);
      assert.equal(application.sendIke(Buffer.from('cleartext'), { address: v.b4, port: 7000 }), true);
      await waitFor(() => atPeer.length >= 1 && intoTun.length >= 1, 3000, 'both packets');
      await new Promise((r) => setTimeout(r, 50));
      // The daemon's marked packet went out on the wire; the application's went into the TUN (to be protected).
      assert.deepEqual(atPeer, ['IKE_SA_INIT']);
      assert.deepEqual(intoTun, [{ src: '192.0.2.1', dst: '192.0.2.2', protocol: 17 }]);
    } finally {
      for (const s of sockets) await s.close();
      await tun?.close();
      if (v !== undefined) {
        delNetns(v.nsA);
        delNetns(v.nsB);
      }
    }
  },
);

test('ip -batch errors are told apart by line', () => {
  const stderr =
    'Cannot find device "nosuch"\nCommand failed -:2\nRTNETLINK answers: No such process\nCommand failed -:4\n';
  assert.deepEqual(
    [...parseBatchErrors(stderr)],
    [
      [2, 'Cannot find device "nosuch"'],
      [4, 'RTNETLINK answers: No such process'],
    ],
  );
  assert.equal(parseBatchErrors('').size, 0);
});

test('routes asked for together go in one ip -batch, each with its own outcome', { skip: rootSkip }, async () => {
  let v: VethPair | undefined;
  try {
    v = vethPair();
    const netns = v.nsA;
    const batcher = new IpBatcher({ netns });
    const hosts = Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 10}/32`);
    const outcomes = await Promise.allSettled([
      ...hosts.map((h) => batcher.run(addRouteArgs(h, 'veth0', { table: TABLE }))),
      batcher.run(addRouteArgs('203.0.113.0/24', 'nosuch0', { table: TABLE })),
      batcher.run(addRouteArgs('2001:db8:1::/64', 'veth0', { table: TABLE })),
    ]);
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 41);
    const failed = outcomes[40];
    assert.equal(failed?.status, 'rejected');
    assert.match(
      String((failed as PromiseRejectedResult).reason),
      /ip route replace 203\.0\.113\.0\/24 dev nosuch0 .*nosuch0/,
    );
    const routes = await ip(['-4', 'route', 'show', 'table', String(TABLE)], { netns });
    assert.equal(routes.trim().split('\n').length, 40);
    assert.match(await ip(['-6', 'route', 'show', 'table', String(TABLE)], { netns }), /2001:db8:1::\/64 dev veth0/);
  } finally {
    if (v !== undefined) {
      delNetns(v.nsA);
      delNetns(v.nsB);
    }
  }
});
