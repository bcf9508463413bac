/**
 * Configuration payloads in IKE_AUTH (RFC 7296 2.19, 3.15): a client with `vips` gets IPv4 and IPv6 virtual IPs,
 * DNS servers and split-include subnets from the gateway's pools; TSi is narrowed to the virtual IPs; the same
 * identity gets the same address back; a full pool answers INTERNAL_ADDRESS_FAILURE and builds no CHILD_SA; an IKE_SA
 * rekey keeps the lease.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestRng } from '../../src/crypto/index.js';
import { EncrId } from '../../src/crypto/ids.js';
import { CfgType, CpAttr, NotifyType, PayloadType } from '../../src/ike/codec/constants.js';
import { decodeConfigAttributes } from '../../src/ike/codec/cp-attributes.js';
import type { CpPayload, Payload } from '../../src/ike/codec/types.js';
import type { IkeEngine } from '../../src/ike/engine.js';
import type { IkeEvent, OutgoingDatagram } from '../../src/ike/events.js';
import { createSkCrypter } from '../../src/ike/protection/sk-crypter.js';
import { IkeSaState } from '../../src/ike/sa-state.js';
import { formatTs } from '../../src/ike/traffic-selectors.js';
import { VirtualIpPools } from '../../src/pools/virtual-ip-pools.js';
import type { PeerOptions } from './exchange-helper.js';
import { ADDR_I, ADDR_R, Pair, makeEngine } from './exchange-helper.js';

const SUBNETS = ['203.0.113.0/24', '2001:db8:2::/48'];

function gatewayPools(v4 = '198.51.100.128/25'): VirtualIpPools {
  return new VirtualIpPools([
    { name: 'rw-v4', addrs: v4, dns: ['198.51.100.53', '2001:db8:2::53'], splitInclude: ['203.0.113.0/24'] },
    { name: 'rw-v6', addrs: '2001:db8:1::/64', splitInclude: ['2001:db8:2::/48'] },
  ]);
}

function client(vips: string[] = ['0.0.0.0', '::'], id = 'moon.example.org', seed = 'seed-i'): PeerOptions {
  return {
    seed,
    conn: { vips, localId: { type: 'fqdn', value: id } },
    child: { localTs: ['dynamic'], remoteTs: SUBNETS },
  };
}

function gateway(pools: VirtualIpPools): PeerOptions {
  return {
    conn: { pools: ['rw-v4', 'rw-v6'], remoteId: { type: 'any' } },
    child: { localTs: SUBNETS, remoteTs: ['dynamic'] },
    engine: { pools },
  };
}

/** The inner payloads of an IKE_AUTH message of pair `p` (AES-GCM, no integrity key). */
function inner(p: Pair, d: OutgoingDatagram, sender: 'i' | 'r'): Payload[] {
  const keys = p.i.ikeSas()[0]?.keys;
  assert.ok(keys);
  const c = createSkCrypter(
    { encrId: EncrId.ENCR_AES_GCM_16, skE: sender === 'i' ? keys.skEi : keys.skEr },
    createTestRng('open'),
  );
  const opened = c.open(d.bytes);
  assert.ok(opened.ok);
  return opened.payloads;
}

function cp(payloads: Payload[]): CpPayload | undefined {
  return payloads.find((x): x is CpPayload => x.type === PayloadType.CP);
}

test('road warrior: IPv4 and IPv6 virtual IPs, DNS and split-include in IKE_AUTH; TSi narrowed to them', () => {
  const pools = gatewayPools();
  const p = new Pair(client(), gateway(pools));
  p.initiate();
  p.deliver('i');
  p.deliver('r');
  // HDR, SK { IDi, IDr, AUTH, CP(CFG_REQUEST), SAi2, TSi, TSr } -->
  const request = p.take('i');
  const req = inner(p, request, 'i');
  const order: number[] = [PayloadType.IDi, PayloadType.IDr, PayloadType.AUTH, PayloadType.NOTIFY, PayloadType.CP];
  order.push(PayloadType.SA, PayloadType.TSi, PayloadType.TSr);
  assert.deepEqual(
    req.map((x) => x.type),
    order,
  );
  const ask = cp(req);
  assert.equal(ask?.cfgType, CfgType.CFG_REQUEST);
  assert.deepEqual(
    ask?.attributes.map((a) => [a.type, a.value.length]),
    [
      [CpAttr.INTERNAL_IP4_ADDRESS, 0],
      [CpAttr.INTERNAL_IP6_ADDRESS, 0],
      [CpAttr.INTERNAL_IP4_DNS, 0],
      [CpAttr.INTERNAL_IP6_DNS, 0],
    ],
  );
  const tsi = req.find((x) => x.type === PayloadType.TSi);
  assert.deepEqual(
    tsi?.type === PayloadType.TSi ? tsi.selectors.map(formatTs) : [],
    ['0.0.0.0/0', '::/0'],
    'dynamic TSi is the whole space until the address is known',
  );
  p.deliverDatagram(request);
  // <-- HDR, SK { IDr, AUTH, CP(CFG_REPLY), SAr2, TSi, TSr }
  const response = p.take('r');
  const res = inner(p, response, 'r');
  const reply = cp(res);
  assert.equal(reply?.cfgType, CfgType.CFG_REPLY);
  assert.deepEqual(decodeConfigAttributes(reply?.attributes ?? []), [
    { kind: 'address', type: CpAttr.INTERNAL_IP4_ADDRESS, address: '198.51.100.129' },
    { kind: 'address6', type: CpAttr.INTERNAL_IP6_ADDRESS, address: '2001:db8:1::1', prefix: 128 },
    { kind: 'address', type: CpAttr.INTERNAL_IP4_DNS, address: '198.51.100.53' },
    { kind: 'address', type: CpAttr.INTERNAL_IP6_DNS, address: '2001:db8:2::53' },
    { kind: 'subnet', type: CpAttr.INTERNAL_IP4_SUBNET, subnet: '203.0.113.0/24' },
    { kind: 'subnet', type: CpAttr.INTERNAL_IP6_SUBNET, subnet: '2001:db8:2::/48' },
  ]);
  const rtsi = res.find((x) => x.type === PayloadType.TSi);
  assert.deepEqual(rtsi?.type === PayloadType.TSi ? rtsi.selectors.map(formatTs) : [], [
    '198.51.100.129/32',
    '2001:db8:1::1/128',
  ]);
  p.deliverDatagram(response);
  assert.equal(p.wire.length, 0);

  const vips = {
    ikeSaId: 0,
    name: 'gw',
    dns: ['198.51.100.53', '2001:db8:2::53'],
    splitInclude: ['203.0.113.0/24', '2001:db8:2::/48'],
  };
  const [vi] = p.events('i', 'virtualIpsAssigned');
  const [vr] = p.events('r', 'virtualIpsAssigned');
  assert.deepEqual(
    { ...vi, ikeSaId: 0 },
    { type: 'virtualIpsAssigned', ...vips, local: ['198.51.100.129', '2001:db8:1::1'], remote: [] },
  );
  assert.deepEqual(
    { ...vr, ikeSaId: 0 },
    { type: 'virtualIpsAssigned', ...vips, local: [], remote: ['198.51.100.129', '2001:db8:1::1'] },
  );
  for (const side of ['i', 'r'] as const) {
    const types = (side === 'i' ? p.eventsI : p.eventsR).map((e) => e.type);
    assert.deepEqual(types, ['ikeSaEstablished', 'virtualIpsAssigned', 'childSaInstalled'], side);
  }
  const [ci] = p.events('i', 'childSaInstalled');
  const [cr] = p.events('r', 'childSaInstalled');
  assert.deepEqual(ci?.child.tsLocal.map(formatTs), ['198.51.100.129/32', '2001:db8:1::1/128']);
  assert.deepEqual(ci?.child.tsRemote.map(formatTs), SUBNETS);
  assert.deepEqual(cr?.child.tsRemote.map(formatTs), ['198.51.100.129/32', '2001:db8:1::1/128']);
  const sa = p.i.ikeSas()[0];
  assert.deepEqual(sa?.vips?.local, ['198.51.100.129', '2001:db8:1::1']);
  assert.deepEqual(sa?.vips?.dns, ['198.51.100.53', '2001:db8:2::53']);
  assert.deepEqual(
    pools.list().map((x) => x.leases),
    [
      [{ address: '198.51.100.129', identity: 'moon.example.org', status: 'online' }],
      [{ address: '2001:db8:1::1', identity: 'moon.example.org', status: 'online' }],
    ],
  );
  // A later CHILD_SA uses the virtual IPs for dynamic too.
  p.i.createChild(sa?.id ?? 0, 'net', p.nowMs);
  p.run();
  assert.deepEqual(p.events('i', 'childSaInstalled')[1]?.child.tsLocal.map(formatTs), [
    '198.51.100.129/32',
    '2001:db8:1::1/128',
  ]);
  // Deleting the IKE_SA gives the leases back (kept for moon).
  p.i.terminate(sa?.id ?? 0, p.nowMs);
  p.run();
  assert.equal(p.r.ikeSas().length, 0);
  assert.deepEqual(
    pools.list().map((x) => [x.online, x.offline]),
    [
      [0, 1],
      [0, 1],
    ],
  );
});

/** One more client engine against the pair's gateway: shuttle datagrams until both are quiet. */
function connect(gw: IkeEngine, c: IkeEngine, nowMs: number, events: IkeEvent[], gwEvents: IkeEvent[]): number {
  const id = c.initiate('gw', ADDR_I, ADDR_R, nowMs);
  for (let n = 0; n < 50; n++) {
    const fromC = c.datagramsToSend();
    const fromGw = gw.datagramsToSend();
    if (fromC.length === 0 && fromGw.length === 0) break;
    for (const d of fromC) gw.receiveDatagram(d.bytes, d.from, d.to, nowMs);
    for (const d of fromGw) c.receiveDatagram(d.bytes, d.from, d.to, nowMs);
  }
  for (let e; (e = c.nextEvent());) events.push(e);
  for (let e; (e = gw.nextEvent());) gwEvents.push(e);
  return id;
}

function addressOf(events: IkeEvent[]): string | undefined {
  const e = events.find((x) => x.type === 'virtualIpsAssigned');
  return e?.type === 'virtualIpsAssigned' ? e.local[0] : undefined;
}

test('same identity, same address: a reconnecting client gets its address back, others get another', () => {
  const pools = gatewayPools();
  const gw = makeEngine('r', gateway(pools));
  const now = 1_000_000;
  const carol1: IkeEvent[] = [];
  const gwEvents: IkeEvent[] = [];
  const c1 = makeEngine('i', client(['0.0.0.0'], 'carol@example.org', 'c1'));
  const id1 = connect(gw, c1, now, carol1, gwEvents);
  assert.equal(addressOf(carol1), '198.51.100.129');
  const dave: IkeEvent[] = [];
  connect(gw, makeEngine('i', client(['0.0.0.0'], 'dave@example.org', 'd1')), now, dave, gwEvents);
  assert.equal(addressOf(dave), '198.51.100.130');
  // carol goes away, then comes back from a new engine (a rebooted laptop).
  c1.terminate(id1, now);
  for (const d of c1.datagramsToSend()) gw.receiveDatagram(d.bytes, d.from, d.to, now);
  for (const d of gw.datagramsToSend()) c1.receiveDatagram(d.bytes, d.from, d.to, now);
  assert.deepEqual(
    pools.list()[0]?.leases.map((l) => [l.address, l.identity, l.status]),
    [
      ['198.51.100.130', 'dave@example.org', 'online'],
      ['198.51.100.129', 'carol@example.org', 'offline'],
    ],
  );
  const eve: IkeEvent[] = [];
  connect(gw, makeEngine('i', client(['0.0.0.0'], 'eve@example.org', 'e1')), now, eve, gwEvents);
  assert.equal(addressOf(eve), '198.51.100.131', "carol's address stays reserved for her");
  const carol2: IkeEvent[] = [];
  connect(gw, makeEngine('i', client(['0.0.0.0'], 'carol@example.org', 'c2')), now, carol2, gwEvents);
  assert.equal(addressOf(carol2), '198.51.100.129');
  assert.equal(carol2.filter((e) => e.type === 'childSaInstalled').length, 1);
});

test('pool exhausted: INTERNAL_ADDRESS_FAILURE, the IKE_SA stands, no CHILD_SA on either side', () => {
  const pools = new VirtualIpPools([{ name: 'rw-v4', addrs: '198.51.100.10-198.51.100.10' }]);
  const lines: string[] = [];
  const log = {
    enabled: () => true,
    log: (_s: string, _l: number, m: string, sa?: string) => lines.push(`<${sa}> ${m}`),
  };
  const gw = makeEngine('r', {
    ...gateway(pools),
    conn: { pools: ['rw-v4'], remoteId: { type: 'any' } },
    engine: { pools, log },
  });
  const now = 1_000_000;
  const gwEvents: IkeEvent[] = [];
  const first: IkeEvent[] = [];
  connect(gw, makeEngine('i', client(['0.0.0.0'], 'carol@example.org', 'c1')), now, first, gwEvents);
  assert.equal(addressOf(first), '198.51.100.10');
  // HDR, SK { IDi, AUTH, CP(CFG_REQUEST), SAi2, TSi, TSr } -->
  //                         <-- HDR, SK { IDr, AUTH, N(INTERNAL_ADDRESS_FAILURE) }
  const second: IkeEvent[] = [];
  const gwSecond: IkeEvent[] = [];
  connect(gw, makeEngine('i', client(['0.0.0.0'], 'dave@example.org', 'd1')), now, second, gwSecond);
  assert.deepEqual(
    second.map((e) => e.type),
    ['ikeSaEstablished', 'childSaFailed'],
  );
  const failed = second.find((e) => e.type === 'childSaFailed');
  assert.equal(failed?.type === 'childSaFailed' && failed.notifyType, NotifyType.INTERNAL_ADDRESS_FAILURE);
  assert.deepEqual(gwSecond.map((e) => e.type).sort(), ['childSaFailed', 'ikeSaEstablished']);
  const gwFailed = gwSecond.find((e) => e.type === 'childSaFailed');
  assert.match(gwFailed?.type === 'childSaFailed' ? gwFailed.reason : '', /no CHILD_SA/);
  const daveSa = gw.ikeSas().find((s) => s.vips?.failed === true);
  assert.equal(daveSa?.state, IkeSaState.ESTABLISHED);
  assert.equal(daveSa?.children.length, 0);
  assert.deepEqual(
    pools.list()[0]?.leases.map((l) => l.identity),
    ['carol@example.org'],
  );
  assert.ok(
    lines.includes(
      "<gw[3]> ike-config failed: no virtual IP found for peer 'dave@example.org' (IPv4 pool rw-v4 full) (INTERNAL_ADDRESS_FAILURE)",
    ),
    lines.join('\n'),
  );
});

test('gateway without pools for the family asked: INTERNAL_ADDRESS_FAILURE too', () => {
  const pools = new VirtualIpPools([{ name: 'rw-v4', addrs: '198.51.100.128/25' }]);
  const p = new Pair(client(['::']), { ...gateway(pools), conn: { pools: ['rw-v4'], remoteId: { type: 'any' } } });
  p.initiate();
  p.run();
  assert.equal(p.events('i', 'childSaFailed')[0]?.notifyType, NotifyType.INTERNAL_ADDRESS_FAILURE);
  assert.equal(p.events('i', 'virtualIpsAssigned').length, 0);
  assert.equal(p.events('r', 'childSaInstalled').length, 0);
});

test('a specific vips address is asked for; a gateway without pools sends no CP; TSi ends at the IKE address', () => {
  const p = new Pair(client(['198.51.100.200']), {
    child: { localTs: SUBNETS, remoteTs: ['192.0.2.0/24'] },
  });
  p.initiate();
  p.deliver('i');
  p.deliver('r');
  const request = p.take('i');
  const ask = cp(inner(p, request, 'i'));
  assert.deepEqual(decodeConfigAttributes(ask?.attributes ?? []).slice(0, 1), [
    { kind: 'address', type: CpAttr.INTERNAL_IP4_ADDRESS, address: '198.51.100.200' },
  ]);
  p.deliverDatagram(request);
  const response = p.take('r');
  assert.equal(cp(inner(p, response, 'r')), undefined);
  p.deliverDatagram(response);
  assert.equal(p.events('i', 'virtualIpsAssigned').length, 0);
  // No virtual IP: our side is narrowed back to the IKE address, as strongSwan narrows it.
  assert.deepEqual(p.events('i', 'childSaInstalled')[0]?.child.tsLocal.map(formatTs), ['192.0.2.1/32']);
});

test('rekeys keep the virtual IP: the lease stays online until the last IKE_SA holding it goes', () => {
  const pools = gatewayPools();
  const p = new Pair(client(['0.0.0.0']), gateway(pools));
  p.initiate();
  p.run();
  const [est] = p.events('r', 'ikeSaEstablished');
  assert.ok(est);
  p.r.rekeyIke(est.ikeSaId, p.nowMs);
  p.run();
  assert.equal(p.r.ikeSas().length, 1);
  assert.deepEqual(p.r.ikeSas()[0]?.vips?.remote, ['198.51.100.129']);
  assert.deepEqual(
    pools.list()[0]?.leases.map((l) => l.status),
    ['online'],
  );
  // CHILD_SA rekeys, from either side, keep the virtual IP in the selectors.
  for (const [side, engine] of [
    ['i', p.i],
    ['r', p.r],
  ] as const) {
    const child = engine.ikeSas()[0]?.children[0];
    assert.ok(child);
    engine.rekeyChild(child.id, p.nowMs);
    p.run();
    const installed = p.events(side, 'childSaInstalled').at(-1);
    assert.equal(installed?.rekeyOf, child.id);
  }
  const last = p.events('i', 'childSaInstalled').at(-1)?.child;
  assert.deepEqual(last?.tsLocal.map(formatTs), ['198.51.100.129/32']);
  assert.deepEqual(p.events('r', 'childSaInstalled').at(-1)?.child.tsRemote.map(formatTs), ['198.51.100.129/32']);
  // The client rekeys its IKE_SA too; a new CHILD_SA still uses the virtual IP.
  p.i.rekeyIke(p.i.ikeSas()[0]?.id ?? 0, p.nowMs);
  p.run();
  assert.deepEqual(p.i.ikeSas()[0]?.vips?.local, ['198.51.100.129']);
  p.i.createChild(p.i.ikeSas()[0]?.id ?? 0, 'net', p.nowMs);
  p.run();
  assert.deepEqual(p.events('i', 'childSaInstalled').at(-1)?.child.tsLocal.map(formatTs), ['198.51.100.129/32']);
  p.r.terminate(p.r.ikeSas()[0]?.id ?? 0, p.nowMs);
  p.run();
  assert.deepEqual(
    pools.list()[0]?.leases.map((l) => l.status),
    ['offline'],
  );
});

test('gateway with pools, client asking for nothing: FAILED_CP_REQUIRED, no CHILD_SA, no lease', () => {
  const pools = gatewayPools();
  const p = new Pair({ child: { localTs: ['192.0.2.1'], remoteTs: SUBNETS } }, gateway(pools));
  p.initiate();
  p.run();
  assert.equal(p.events('i', 'ikeSaEstablished').length, 1);
  assert.equal(p.events('i', 'childSaFailed')[0]?.notifyType, NotifyType.FAILED_CP_REQUIRED);
  assert.equal(p.events('r', 'childSaInstalled').length, 0);
  assert.deepEqual(
    pools.list().map((x) => x.leases.length),
    [0, 0],
  );
});

test('a gateway narrowing TSi to a subnet: the client keeps only its virtual IP', () => {
  const pools = gatewayPools();
  const gw = gateway(pools);
  const p = new Pair(client(['0.0.0.0']), { ...gw, child: { localTs: SUBNETS, remoteTs: ['198.51.100.0/24'] } });
  p.initiate();
  p.run();
  assert.deepEqual(p.events('i', 'childSaInstalled')[0]?.child.tsLocal.map(formatTs), ['198.51.100.129/32']);
  assert.deepEqual(p.events('r', 'childSaInstalled')[0]?.child.tsRemote.map(formatTs), ['198.51.100.0/24']);
});

test('twenty clients at once: each its own IPv4 and IPv6 address, each CHILD_SA selecting it', () => {
  const pools = gatewayPools();
  const gw = makeEngine('r', gateway(pools));
  const seen = new Set<string>();
  const gwEvents: IkeEvent[] = [];
  for (let n = 0; n < 20; n++) {
    const events: IkeEvent[] = [];
    connect(
      gw,
      makeEngine('i', client(['0.0.0.0', '::'], `user${n}@example.org`, `u${n}`)),
      1_000_000,
      events,
      gwEvents,
    );
    const assigned = events.find((e) => e.type === 'virtualIpsAssigned');
    const child = events.find((e) => e.type === 'childSaInstalled');
    assert.ok(assigned?.type === 'virtualIpsAssigned' && child?.type === 'childSaInstalled', `client ${n}`);
    assert.deepEqual(
      child.child.tsLocal.map(formatTs),
      assigned.local.map((a) => `${a}/${a.includes(':') ? 128 : 32}`),
    );
    for (const a of assigned.local) seen.add(a);
  }
  assert.equal(seen.size, 40);
  assert.equal(gw.ikeSas().length, 20);
  assert.deepEqual(
    pools.list().map((p) => p.online),
    [20, 20],
  );
});
