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
import {
  ackOf,
  hasAddressEvent,
  RouteNetlink,
  routeMessage,
  RTM_DELROUTE,
  RTM_NEWROUTE,
  watchAddresses,
} from '../../src/io/linux/rtnetlink.js';
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

test('a route request over rtnetlink: header, rtmsg and attributes as the kernel reads them', () => {
  const m = routeMessage(RTM_NEWROUTE, { prefix: '198.51.100.0/24', dev: 'x', table: 220, src: '192.0.2.1' }, 7, 9);
  assert.equal(m.readUInt32LE(0), m.length);
  assert.equal(m.readUInt16LE(4), RTM_NEWROUTE);
  assert.equal(m.readUInt16LE(6), 0x1 | 0x4 | 0x100 | 0x400); // request, ack, replace, create
  assert.equal(m.readUInt32LE(8), 9);
  assert.deepEqual([...m.subarray(16, 24)], [2, 24, 0, 0, 220, 3, 253, 1]); // inet, /24, table, boot, link, unicast
  const attrs: [number, string][] = [];
  for (let o = 28; o < m.length;) {
    const len = m.readUInt16LE(o);
    attrs.push([m.readUInt16LE(o + 2), m.subarray(o + 4, o + len).toString('hex')]);
    o += (len + 3) & ~3;
  }
  assert.deepEqual(attrs, [
    [1, 'c6336400'], // RTA_DST
    [15, 'dc000000'], // RTA_TABLE
    [4, '07000000'], // RTA_OIF
    [7, 'c0000201'], // RTA_PREFSRC
  ]);
  const v6 = routeMessage(RTM_DELROUTE, { prefix: '2001:db8:1::/48', dev: 'x', table: 1000 }, 3, 10);
  assert.deepEqual([...v6.subarray(16, 24)], [10, 48, 0, 0, 0, 0, 255, 0]); // a table above 255 goes in RTA_TABLE only
  assert.throws(() => routeMessage(RTM_NEWROUTE, { prefix: '198.51.100.0/33', dev: 'x', table: 220 }, 1, 1), /prefix/);
  assert.throws(() => routeMessage(RTM_NEWROUTE, { prefix: 'nonsense/8', dev: 'x', table: 220 }, 1, 1), /prefix/);
  assert.throws(
    () => routeMessage(RTM_NEWROUTE, { prefix: '198.51.100.0/24', dev: 'x', table: 220, src: '2001:db8::1' }, 1, 1),
    /not an IPv4 address/,
  );
});

test('an acknowledgement is matched to its request by sequence number', () => {
  const ack = (seq: number, error: number): Buffer => {
    const b = Buffer.alloc(36);
    b.writeUInt32LE(36, 0);
    b.writeUInt16LE(2, 4); // NLMSG_ERROR
    b.writeUInt32LE(seq, 8);
    b.writeInt32LE(error, 16);
    return b;
  };
  const two = Buffer.concat([ack(4, -3), ack(5, 0)]);
  assert.equal(ackOf(two, two.length, 5), 0);
  assert.equal(ackOf(two, two.length, 4), -3);
  assert.equal(ackOf(two, two.length, 6), undefined);
  assert.equal(ackOf(two, 20, 4), undefined); // cut short: not an answer
});

test('routes over rtnetlink are the routes ip makes, and errors name the ip command', { skip: rootSkip }, async () => {
  let v: VethPair | undefined;
  let nl: RouteNetlink | undefined;
  try {
    v = vethPair();
    const netns = v.nsA;
    const show = async (family: string): Promise<string> =>
      (await ip([family, 'route', 'show', 'table', String(TABLE)], { netns })).trim();
    const cases = [
      { prefix: '198.51.100.0/24', src: v.a4, family: '-4' },
      { prefix: '203.0.113.7/32', src: undefined, family: '-4' },
      { prefix: '2001:db8:5::/64', src: undefined, family: '-6' },
    ];
    nl = RouteNetlink.open(netns);
    for (const c of cases) {
      const src = c.src !== undefined ? { src: c.src } : {};
      await addRoute(c.prefix, 'veth0', { table: TABLE, ...src, netns });
      const byIp = await show(c.family);
      await ip(['route', 'del', c.prefix, 'table', String(TABLE)], { netns });
      assert.equal(await show(c.family), '');
      nl.replace({ prefix: c.prefix, dev: 'veth0', table: TABLE, ...src });
      nl.replace({ prefix: c.prefix, dev: 'veth0', table: TABLE, ...src }); // replace: no "File exists"
      assert.equal(await show(c.family), byIp);
      nl.delete({ prefix: c.prefix, dev: 'veth0', table: TABLE });
      assert.equal(await show(c.family), '');
    }
    assert.throws(
      () => nl?.delete({ prefix: '198.51.100.0/24', dev: 'veth0', table: TABLE }),
      /^IoError: ip route del 198\.51\.100\.0\/24 dev veth0 table 220: No such process/,
    );
    assert.throws(
      () => nl?.replace({ prefix: '198.51.100.0/24', dev: 'nosuch0', table: TABLE }),
      /ip route replace 198\.51\.100\.0\/24 dev nosuch0 table 220: no device nosuch0/,
    );
    assert.throws(
      () => nl?.replace({ prefix: '198.51.100.0/24', dev: 'veth0', table: TABLE, src: '203.0.113.99' }),
      /src 203\.0\.113\.99: Invalid argument/,
    );
  } finally {
    nl?.close();
    if (v !== undefined) {
      delNetns(v.nsA);
      delNetns(v.nsB);
    }
  }
});

test(
  'address events over rtnetlink: an address added or removed in the namespace calls back',
  { skip: rootSkip },
  async () => {
    let v: VethPair | undefined;
    let stop: (() => void) | undefined;
    try {
      v = vethPair();
      let events = 0;
      stop = watchAddresses(() => events++, v.nsA);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(events, 0, 'nothing yet');
      await ip(['addr', 'add', '198.51.100.77/32', 'dev', 'veth0'], { netns: v.nsA });
      await waitFor(() => events >= 1, 3000, 'the IPv4 address event');
      const afterV4 = events;
      await ip(['addr', 'add', '2001:db8:77::1/128', 'dev', 'veth0', 'nodad'], { netns: v.nsA });
      await waitFor(() => events > afterV4, 3000, 'the IPv6 address event');
      const afterV6 = events;
      await ip(['addr', 'del', '198.51.100.77/32', 'dev', 'veth0'], { netns: v.nsA });
      await waitFor(() => events > afterV6, 3000, 'the removal');
      // Another namespace's addresses are not ours.
      const before = events;
      await ip(['addr', 'add', '198.51.100.78/32', 'dev', 'veth1'], { netns: v.nsB });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(events, before);
      stop();
      stop = undefined;
      await ip(['addr', 'add', '198.51.100.79/32', 'dev', 'veth0'], { netns: v.nsA });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(events, before, 'nothing after stop');
    } finally {
      stop?.();
      if (v !== undefined) {
        delNetns(v.nsA);
        delNetns(v.nsB);
      }
    }
  },
);

test('an rtnetlink read with an address event is told from one without', () => {
  const msg = (type: number): Buffer => {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(24, 0);
    b.writeUInt16LE(type, 4);
    return b;
  };
  const routeOnly = Buffer.concat([msg(24), msg(25)]);
  assert.equal(hasAddressEvent(routeOnly, routeOnly.length), false);
  const withAddr = Buffer.concat([msg(24), msg(21)]);
  assert.equal(hasAddressEvent(withAddr, withAddr.length), true);
  assert.equal(hasAddressEvent(withAddr, 24), false, 'only the bytes read count');
});
