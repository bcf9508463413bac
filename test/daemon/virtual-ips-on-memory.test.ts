/**
 * Road warriors on memory I/O: a gateway with `pools` and a client with `vips`, two daemons in one process.
 * The client's virtual IP goes on its TUN and is the source of its routes and pings; the gateway's lease
 * comes back to the same identity; a full pool refuses with INTERNAL_ADDRESS_FAILURE and installs nothing;
 * `unique` decides what happens to an identity that authenticates twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { echoReplyFor, icmpEcho, parseIcmpEcho } from '../io/packets.js';
import type { ParsedEcho } from '../io/packets.js';
import { configOf, settle, TwoDaemons } from './memory-daemons.js';
import type { Host } from './memory-daemons.js';
import { REAUTH_GRACE_MS } from '../../src/daemon/unique-ids.js';

const GW = { outer: '192.0.2.2', id: 'gw.example', lan: '203.0.113.0/24', host: '203.0.113.1' };
const CAROL = 'carol@example.org';
const DAVE = 'dave@example.org';
const SECRET = 'road-warrior-preshared-key-0123';

interface GatewayOptions {
  readonly addrs4?: string;
  readonly unique?: string;
  readonly pools?: string;
}

function gateway(o: GatewayOptions = {}): string {
  return `connections {
  rw {
    local_addrs = ${GW.outer}
    pools = ${o.pools ?? 'rw4, rw6'}
    unique = ${o.unique ?? 'no'}
    proposals = aes128gcm16-prfsha256-x25519
    local { auth = psk
      id = ${GW.id} }
    remote { auth = psk }
    children { net { local_ts = ${GW.lan}
        esp_proposals = aes128gcm16 } }
  }
}
pools {
  rw4 { addrs = ${o.addrs4 ?? '198.51.100.128/25'}
    dns = 203.0.113.53 }
  rw6 { addrs = 2001:db8:1::/64
    dns = 2001:db8::53 }
}
secrets { ike-rw { secret = "${SECRET}" } }
`;
}

/** One client connection per entry (name -> local id), each asking for an IPv4 and an IPv6 address. */
function client(conns: Readonly<Record<string, string>>, extra = ''): string {
  const sections = Object.entries(conns).map(
    ([name, id]) => `  ${name} {
    local_addrs = 192.0.2.1
    remote_addrs = ${GW.outer}
    vips = 0.0.0.0, ::
    unique = never
    ${extra}
    proposals = aes128gcm16-prfsha256-x25519
    local { auth = psk
      id = ${id} }
    remote { auth = psk
      id = ${GW.id} }
    children { ${name}-net { remote_ts = ${GW.lan}
        esp_proposals = aes128gcm16 } }
  }`,
  );
  return `connections {\n${sections.join('\n')}\n}\nsecrets { ike-rw { secret = "${SECRET}" } }\n`;
}

/** An echo from `src` (the client's virtual IP) to the gateway's LAN host, answered there. */
async function ping(
  c: Host,
  gw: Host,
  src: string,
  seq: number,
): Promise<{ request?: ParsedEcho; reply?: ParsedEcho }> {
  gw.io.tun.written.length = 0;
  c.io.tun.written.length = 0;
  c.io.tun.inject(icmpEcho(8, src, GW.host, 0x7473, seq, Buffer.from(`ping ${seq}`)));
  await settle();
  const got = gw.io.tun.written.shift();
  const request = got === undefined ? undefined : parseIcmpEcho(got);
  if (got === undefined || request === undefined) return {};
  const answer = echoReplyFor(got);
  if (answer !== undefined) gw.io.tun.inject(answer);
  await settle();
  const back = c.io.tun.written.shift();
  const reply = back === undefined ? undefined : parseIcmpEcho(back);
  return reply === undefined ? { request } : { request, reply };
}

test('a client gets an address and DNS from the pools, pings from it, and gets it back on reconnect', async () => {
  const t = await TwoDaemons.start(client({ carol: CAROL }), gateway());
  const [c, gw] = [t.left, t.right];
  try {
    await c.daemon.up('carol', 10);
    await settle();
    assert.deepEqual([...c.io.addresses].sort(), ['198.51.100.129/32', '2001:db8:1::1/128'], 'both on the TUN');
    assert.deepEqual(c.io.dns, ['203.0.113.53', '2001:db8::53'], 'DNS servers of both pools installed');
    assert.equal(c.io.routes.get(GW.lan), '198.51.100.129', 'the route into the TUN leaves from the virtual IP');
    assert.ok(gw.io.routes.has('198.51.100.129/32'), 'the gateway routes the virtual IP into its TUN');
    assert.equal(gw.io.addresses.size, 0, 'a gateway puts no virtual IP on its own TUN');

    const [cs] = (await c.daemon.sas()).ikeSas;
    const [gs] = (await gw.daemon.sas()).ikeSas;
    assert.deepEqual(cs?.localVips, ['198.51.100.129', '2001:db8:1::1']);
    assert.deepEqual(cs?.dns, ['203.0.113.53', '2001:db8::53']);
    assert.deepEqual(gs?.remoteVips, ['198.51.100.129', '2001:db8:1::1']);
    assert.equal(gs?.remoteId, CAROL);
    assert.deepEqual(cs?.children[0]?.localTs, ['198.51.100.129/32', '2001:db8:1::1/128']);

    const p = await ping(c, gw, '198.51.100.129', 1);
    assert.equal(p.request?.src, '198.51.100.129', 'the gateway LAN sees the virtual IP');
    assert.equal(p.reply?.dst, '198.51.100.129', 'and the reply came back through the tunnel');

    const [rw4] = gw.daemon.pools().pools;
    assert.equal(rw4?.online, 1);
    assert.deepEqual(rw4?.leases, [{ address: '198.51.100.129', identity: CAROL, status: 'online' }]);

    c.daemon.down('carol');
    await settle();
    assert.equal(c.io.addresses.size, 0, 'addresses gone with the IKE_SA');
    assert.deepEqual(c.io.dns, [], 'DNS servers gone with the IKE_SA');
    assert.equal(c.io.routes.size, 0);
    assert.deepEqual(gw.daemon.pools().pools[0]?.leases, [
      { address: '198.51.100.129', identity: CAROL, status: 'offline' },
    ]);

    await c.daemon.up('carol', 10);
    await settle();
    assert.deepEqual([...c.io.addresses].sort(), ['198.51.100.129/32', '2001:db8:1::1/128'], 'the same addresses back');
    assert.equal((await ping(c, gw, '198.51.100.129', 2)).reply?.seq, 2);
  } finally {
    await t.stop();
  }
  assert.equal(c.io.addresses.size, 0, 'stop takes the addresses off');
});

test('a full pool: INTERNAL_ADDRESS_FAILURE, a log line naming the pool, nothing installed', async () => {
  const t = await TwoDaemons.start(
    client({ carol: CAROL, dave: DAVE }),
    gateway({ addrs4: '198.51.100.130-198.51.100.130', pools: 'rw4' }),
  );
  const [c, gw] = [t.left, t.right];
  try {
    await c.daemon.up('carol', 10);
    await settle();
    const before = { addresses: [...c.io.addresses], routes: [...c.io.routes], dns: [...c.io.dns] };
    await assert.rejects(c.daemon.up('dave', 10), /INTERNAL_ADDRESS_FAILURE/);
    await settle();
    assert.deepEqual(
      { addresses: [...c.io.addresses], routes: [...c.io.routes], dns: [...c.io.dns] },
      before,
      'dave installed nothing',
    );
    assert.ok(
      gw.logs.some((l) => /rw4/.test(l) && /full|exhausted/i.test(l) && l.includes(DAVE)),
      `the gateway says which pool is full for whom:\n${gw.logs.join('\n')}`,
    );
    const sas = (await gw.daemon.sas()).ikeSas.filter((s) => s.state === 'ESTABLISHED');
    assert.deepEqual(
      sas.map((s) => s.remoteId),
      [CAROL],
    );
  } finally {
    await t.stop();
  }
});

test('an IKE_SA rekey keeps the virtual IPs on the TUN and the DNS servers', async () => {
  const t = await TwoDaemons.start(client({ carol: CAROL }, 'rekey_time = 60s'), gateway());
  const [c, gw] = [t.left, t.right];
  try {
    await c.daemon.up('carol', 10);
    await settle();
    const [before] = (await c.daemon.sas()).ikeSas;
    await t.advance(70_000);
    const [after] = (await c.daemon.sas()).ikeSas;
    assert.ok(before !== undefined && after !== undefined);
    assert.notEqual(after.uniqueId, before.uniqueId, 'the IKE_SA was rekeyed');
    assert.deepEqual(after.localVips, ['198.51.100.129', '2001:db8:1::1']);
    assert.deepEqual((await gw.daemon.sas()).ikeSas[0]?.remoteVips, ['198.51.100.129', '2001:db8:1::1']);
    assert.deepEqual([...c.io.addresses].sort(), ['198.51.100.129/32', '2001:db8:1::1/128']);
    assert.deepEqual(c.io.dns, ['203.0.113.53', '2001:db8::53']);
    assert.equal((await ping(c, gw, '198.51.100.129', 3)).reply?.seq, 3);
    c.daemon.down('carol');
    await settle();
    assert.equal(c.io.addresses.size, 0, 'the rekeyed IKE_SA takes them away when it goes');
  } finally {
    await t.stop();
  }
});

test('leases survive a reload that keeps the pools section; a changed one starts afresh and says so', async () => {
  const t = await TwoDaemons.start(client({ carol: CAROL }), gateway());
  const [c, gw] = [t.left, t.right];
  try {
    await c.daemon.up('carol', 10);
    await settle();
    c.daemon.down('carol');
    await settle();
    const offline = [{ address: '198.51.100.129', identity: CAROL, status: 'offline' }];
    await gw.daemon.reload(configOf(gateway({ unique: 'replace' })));
    assert.deepEqual(gw.daemon.pools().pools[0]?.leases, offline, 'same pools: the lease is kept');
    await gw.daemon.reload(configOf(gateway({ addrs4: '198.51.100.0/25' })));
    assert.deepEqual(gw.daemon.pools().pools[0]?.leases, [], 'new pools: no leases');
    assert.ok(gw.logs.some((l) => /pools changed: 2 pool\(s\) loaded, earlier leases forgotten/.test(l)));
    await c.daemon.up('carol', 10);
    await settle();
    assert.ok(c.io.addresses.has('198.51.100.1/32'), [...c.io.addresses].join(' '));
  } finally {
    await t.stop();
  }
});

interface Twice {
  readonly client: string[];
  readonly gateway: string[];
  /** The gateway's IKE_SAs right after the second came up (same address: taken for a reauthentication). */
  readonly gatewayAtFirst: string[];
  readonly logs: string[];
}

/** One client identity, two connections from the same address (no INITIAL_CONTACT: `unique = never` there). */
async function twice(unique: string): Promise<Twice> {
  const t = await TwoDaemons.start(client({ first: CAROL, second: CAROL }), gateway({ unique }));
  try {
    await t.left.daemon.up('first', 10);
    await settle();
    await t.left.daemon.up('second', 10).catch(() => undefined);
    await settle();
    await t.advance(100);
    const names = async (h: Host): Promise<string[]> =>
      (await h.daemon.sas()).ikeSas.filter((s) => s.state === 'ESTABLISHED').map((s) => `${s.uniqueId}`);
    const gatewayAtFirst = await names(t.right);
    await t.advance(REAUTH_GRACE_MS + 1000);
    const client = (await t.left.daemon.sas()).ikeSas.filter((s) => s.state === 'ESTABLISHED').map((s) => s.name);
    return { client: client.sort(), gateway: await names(t.right), gatewayAtFirst, logs: t.right.logs };
  } finally {
    await t.stop();
  }
}

test('unique = replace: the older IKE_SA of a returning identity is deleted, after the reauthentication grace', async () => {
  const r = await twice('replace');
  assert.equal(r.gatewayAtFirst.length, 2, 'same address: both stay while the peer may be reauthenticating');
  assert.deepEqual(r.client, ['second']);
  assert.equal(r.gateway.length, 1);
  assert.ok(
    r.logs.some((l) => /unique = replace: .*\[\d+\] still up after 30 s: replaced by/.test(l)),
    r.logs.join('\n'),
  );
});

test('unique = keep: the new IKE_SA of an identity already up is refused, after the reauthentication grace', async () => {
  const r = await twice('keep');
  assert.equal(r.gatewayAtFirst.length, 2, 'same address: both stay while the peer may be reauthenticating');
  assert.deepEqual(r.client, ['first']);
  assert.equal(r.gateway.length, 1);
  assert.ok(
    r.logs.some((l) => /unique = keep: .*still up after 30 s: kept, the newer one refused/.test(l)),
    r.logs.join('\n'),
  );
});

test('unique = never: both IKE_SAs of one identity live', async () => {
  const r = await twice('never');
  assert.deepEqual(r.client, ['first', 'second']);
  assert.equal(r.gateway.length, 2);
});
