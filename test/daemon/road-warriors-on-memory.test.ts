/**
 * Issue 10 item 1: two road warriors on one gateway connection, each with its own subnet. Every CHILD_SA has
 * its own reqid, policies and route, so a packet for A is sealed with A's SA and goes to A, one for B with B's
 * SA to B, while both ping at the same time; and neither can send through its SA from the other's subnet.
 * Three daemons on memory I/O in one process, no root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildSaInfo } from '../../src/control/schema.js';
import { MemoryNetwork } from '../../src/io/memory-network.js';
import { icmpEcho, parseIcmpEcho } from '../io/packets.js';
import { memoryHost, settle } from './memory-daemons.js';
import type { Host } from './memory-daemons.js';

const GW = { outer: '192.0.2.1', inner: '198.51.100.1', id: 'gw.example' };
const A = { outer: '192.0.2.2', inner: '203.0.113.17', subnet: '203.0.113.16/28', id: 'a.example' };
const B = { outer: '192.0.2.3', inner: '203.0.113.33', subnet: '203.0.113.32/28', id: 'b.example' };
const SECRETS = `secrets {
  ike-a { id-1 = ${GW.id}
    id-2 = ${A.id}
    secret = "road-warrior-a-preshared-key" }
  ike-b { id-1 = ${GW.id}
    id-2 = ${B.id}
    secret = "road-warrior-b-preshared-key" }
}
`;

const gatewayConf = `connections { rw {
  local_addrs = ${GW.outer}
  remote_addrs = 192.0.2.0/24
  proposals = aes128gcm16-prfsha256-x25519
  local { auth = psk
    id = ${GW.id} }
  remote { auth = psk }
  children { net {
    local_ts = 198.51.100.0/24
    remote_ts = 203.0.113.0/24
    esp_proposals = aes128gcm16
  } }
} }
${SECRETS}`;

function clientConf(c: typeof A): string {
  return `connections { home {
  local_addrs = ${c.outer}
  remote_addrs = ${GW.outer}
  proposals = aes128gcm16-prfsha256-x25519
  local { auth = psk
    id = ${c.id} }
  remote { auth = psk
    id = ${GW.id} }
  children { net {
    local_ts = ${c.subnet}
    remote_ts = 198.51.100.0/24
    esp_proposals = aes128gcm16
  } }
} }
${SECRETS}`;
}

function echo(from: string, to: string, seq: number): Buffer {
  return icmpEcho(8, from, to, 0x7261, seq, Buffer.from(`rw ${seq}`));
}

/** Every packet a TUN wrote since the last call, parsed as ICMP echoes (undefined for anything else). */
function drain(h: Host): ({ src: string; dst: string; seq: number } | undefined)[] {
  return h.io.tun.written.splice(0).map((p) => {
    const e = parseIcmpEcho(p);
    return e === undefined ? undefined : { src: e.src, dst: e.dst, seq: e.seq };
  });
}

test('road warriors on one connection: each gets its own reqid, policies, route and traffic', async () => {
  const net = new MemoryNetwork();
  const wire: { dst: string; spi: number }[] = [];
  net.drop = (p, protocol) => {
    if (protocol === 50 && p.bytes.length >= 8) wire.push({ dst: p.dstAddr, spi: p.bytes.readUInt32BE(0) });
    return false;
  };
  const gw = memoryHost(net, 'gw', GW, gatewayConf);
  const a = memoryHost(net, 'a', A, clientConf(A));
  const b = memoryHost(net, 'b', B, clientConf(B));
  try {
    for (const h of [gw, a, b]) await h.daemon.start();
    await Promise.all([a.daemon.up('net', 10), b.daemon.up('net', 10)]);
    await settle();

    const gwChildren = (await gw.daemon.sas()).ikeSas.flatMap((s) => s.children);
    assert.equal(gwChildren.length, 2, 'two CHILD_SAs on the one connection');
    const forA = gwChildren.find((c) => c.remoteTs.includes(A.subnet));
    const forB = gwChildren.find((c) => c.remoteTs.includes(B.subnet));
    assert.ok(forA && forB, 'each narrowed to its client subnet');
    assert.notEqual(forA.reqid, forB.reqid, 'one reqid per CHILD_SA');
    assert.deepEqual([...gw.io.routes.keys()].sort(), [A.subnet, B.subnet], 'a route for each client subnet');
    const childOf = async (h: Host): Promise<ChildSaInfo> => {
      const c = (await h.daemon.sas()).ikeSas[0]?.children[0];
      assert.ok(c);
      return c;
    };
    const [ca, cb] = [await childOf(a), await childOf(b)];
    assert.equal(ca.spiIn, forA.spiOut);
    assert.equal(cb.spiIn, forB.spiOut);

    // Everyone at once: the gateway pings both clients, both clients ping the gateway.
    wire.length = 0;
    for (const h of [gw, a, b]) h.io.tun.written.length = 0;
    for (let seq = 1; seq <= 3; seq++) {
      gw.io.tun.inject(echo(GW.inner, A.inner, seq));
      gw.io.tun.inject(echo(GW.inner, B.inner, 100 + seq));
      a.io.tun.inject(echo(A.inner, GW.inner, 200 + seq));
      b.io.tun.inject(echo(B.inner, GW.inner, 300 + seq));
    }
    await settle();
    assert.deepEqual(
      drain(a),
      [1, 2, 3].map((seq) => ({ src: GW.inner, dst: A.inner, seq })),
      "A gets A's packets only",
    );
    assert.deepEqual(
      drain(b),
      [101, 102, 103].map((seq) => ({ src: GW.inner, dst: B.inner, seq })),
      "B gets B's packets only",
    );
    const atGw = drain(gw);
    assert.equal(atGw.length, 6);
    assert.deepEqual(
      atGw.filter((e) => e?.src === A.inner).map((e) => e?.seq),
      [201, 202, 203],
    );
    assert.deepEqual(
      atGw.filter((e) => e?.src === B.inner).map((e) => e?.seq),
      [301, 302, 303],
    );
    const spi = (c: ChildSaInfo): number => Number.parseInt(c.spiIn, 16);
    const toA = wire.filter((w) => w.dst === A.outer);
    const toB = wire.filter((w) => w.dst === B.outer);
    assert.equal(toA.length, 3);
    assert.equal(toB.length, 3);
    assert.ok(
      toA.every((w) => w.spi === spi(ca)),
      "sealed with A's SA",
    );
    assert.ok(
      toB.every((w) => w.spi === spi(cb)),
      "sealed with B's SA",
    );

    // A leaves: its route goes, B's stays and B still gets its traffic.
    a.daemon.down('home');
    await settle();
    assert.deepEqual([...gw.io.routes.keys()], [B.subnet]);
    gw.io.tun.inject(echo(GW.inner, B.inner, 500));
    await settle();
    assert.deepEqual(drain(b), [{ src: GW.inner, dst: B.inner, seq: 500 }]);
  } finally {
    await Promise.all([gw, a, b].map((h) => h.daemon.stop(0)));
  }
});
