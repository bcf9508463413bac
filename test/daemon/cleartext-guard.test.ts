/**
 * Issue 10 item 3: cleartext from a protected network is dropped unless it came out of the TUN (RFC 4301
 * 5.2). The daemon keeps an nft table of its own; on memory I/O the batches it hands to `nft -f -` are
 * recorded, so these tests read the rules each CHILD_SA, trap and pass child puts in place and takes away.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nullLogger } from '../../src/common/log.js';
import {
  CleartextGuard,
  guardChainScript,
  guardTableScript,
  inboundMatch,
  protectedElement,
} from '../../src/daemon/cleartext-guard.js';
import { memoryIo } from '../../src/daemon/memory-io.js';
import type { MemoryIo } from '../../src/daemon/memory-io.js';
import { MemoryNetwork } from '../../src/io/memory-network.js';
import type { SelectorInput } from '../../src/spd/selector.js';
import { conf, LEFT, RIGHT, settle, TwoDaemons } from './memory-daemons.js';

/** Left protects right's inner address: the element of its pair (remote source . local destination). */
const DROP_RIGHT = `${RIGHT.inner} . ${LEFT.inner}`;

function last(io: MemoryIo): string {
  return io.nftScripts.at(-1) ?? '';
}

/** Every element of the table's sets, as `SET ELEMENT`. */
function elements(io: MemoryIo): string[] {
  return [...io.nftElements].flatMap(([set, els]) => [...els].map((e) => `${set} ${e}`));
}

/** The chain as the scripts so far left it, one rule a line. */
function chain(io: MemoryIo): string {
  return [...io.nftRules.values()].join('\n');
}

test('selector pairs as nft matches: remote is the source, local the destination, ports where readable', () => {
  assert.equal(
    inboundMatch({ local: '198.51.100.0-198.51.100.255', remote: '203.0.113.7-203.0.113.7' }),
    'ip saddr 203.0.113.7 ip daddr 198.51.100.0-198.51.100.255',
  );
  assert.equal(
    inboundMatch({
      local: '2001:db8:1::/48',
      remote: '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      protocol: 17,
      localPort: { start: 53, end: 53 },
      remotePort: { start: 1024, end: 65535 },
    }),
    'ip6 daddr 2001:db8:1::/48 meta l4proto 17 th sport 1024-65535 th dport 53',
  );
  assert.equal(inboundMatch({ local: 'any4', remote: '0.0.0.0/0' }), 'meta nfproto ipv4');
  assert.equal(
    inboundMatch({ local: '192.0.2.1', remote: '192.0.2.2', protocol: 1, localPort: { start: 2048, end: 2048 } }),
    'ip saddr 192.0.2.2 ip daddr 192.0.2.1 meta l4proto 1',
    'ICMP type selectors are not ports: the whole protocol is checked',
  );
  const script = guardChainScript('tsi0', [
    { local: '198.51.100.1', remote: '203.0.113.0/24', protocol: 6, localPort: { start: 22, end: 22 } },
  ]);
  const lines = script.trim().split('\n');
  assert.equal(lines[0], 'flush chain inet tsipsec inbound', 'the chain is rewritten whole, in one batch');
  assert.ok(lines.indexOf('add rule inet tsipsec inbound iifname "tsi0" accept') > 0);
  const passAt = lines.findIndex((l) => l.endsWith('th dport 22 accept'));
  const dropAt = lines.findIndex((l) => l.endsWith('drop'));
  assert.ok(passAt > 0 && dropAt > passAt, 'pass exemptions come before the drops');
  for (const exempt of ['meta l4proto { esp, ah } accept', 'udp dport { 500, 4500 } fib daddr type local accept'])
    assert.ok(lines.includes(`add rule inet tsipsec inbound ${exempt}`), exempt);
  assert.ok(
    lines.includes(
      'add rule inet tsipsec inbound ip6 saddr . ip6 daddr . meta l4proto . th sport . th dport @protect6x counter name "cleartext" drop',
    ),
  );
  assert.equal(
    lines.filter((l) => / @protect[46]/.test(l)).length,
    6,
    'one lookup per set, whatever the number of SAs',
  );
  assert.match(guardTableScript(), /set protect4p \{ type ipv4_addr \. ipv4_addr \. inet_proto; flags interval; \}/);
});

test('selector pairs as set elements: remote first, any as /0, the protocol and ports only where they narrow', () => {
  assert.deepEqual(protectedElement({ local: '198.51.100.0-198.51.100.255', remote: '203.0.113.7-203.0.113.7' }), {
    set: 'protect4',
    element: '203.0.113.7 . 198.51.100.0-198.51.100.255',
  });
  assert.deepEqual(protectedElement({ local: 'any4', remote: '0.0.0.0/0' }), {
    set: 'protect4',
    element: '0.0.0.0/0 . 0.0.0.0/0',
  });
  assert.deepEqual(
    protectedElement({ local: '2001:db8:1::/48', remote: 'any6', protocol: 17, localPort: { start: 53, end: 53 } }),
    { set: 'protect6x', element: '::/0 . 2001:db8:1::/48 . 17 . 0-65535 . 53' },
  );
  assert.deepEqual(
    protectedElement({ local: '192.0.2.1', remote: '192.0.2.2', protocol: 1, localPort: { start: 2048, end: 2048 } }),
    { set: 'protect4p', element: '192.0.2.2 . 192.0.2.1 . 1' },
    'ICMP type selectors are not ports: the whole protocol is checked',
  );
  assert.deepEqual(protectedElement({ local: '192.0.2.1', remote: '192.0.2.2', protocol: 6 }), {
    set: 'protect4p',
    element: '192.0.2.2 . 192.0.2.1 . 6',
  });
});

test('a CHILD_SA adds its drop rule, its removal takes it away; the table is made at start and deleted at stop', async () => {
  const t = await TwoDaemons.start(conf('left'), conf('right'));
  try {
    const first = t.left.io.nftScripts[0] ?? '';
    assert.match(first, /^table inet tsipsec\ndelete table inet tsipsec\ntable inet tsipsec \{/, 'a stale table goes');
    assert.deepEqual(elements(t.left.io), [], 'nothing protected yet');
    assert.ok(chain(t.left.io).includes(`iifname "${t.left.io.tun.name}" accept`));
    const rules = chain(t.left.io);
    await t.left.daemon.up('net', 10);
    await settle();
    assert.deepEqual(elements(t.left.io), [`protect4 ${DROP_RIGHT}`]);
    assert.equal(last(t.left.io), `add element inet tsipsec protect4 { ${DROP_RIGHT} }\n`, 'only the new element');
    assert.equal(chain(t.left.io), rules, 'the chain is unchanged');
    assert.deepEqual(elements(t.right.io), [`protect4 ${LEFT.inner} . ${RIGHT.inner}`]);
    t.left.io.nftCounterPackets = 3;
    assert.equal((await t.left.daemon.stats()).drops.cleartext, 3, 'drops shown in stats');
    t.left.daemon.down('lab');
    await settle();
    assert.deepEqual(elements(t.left.io), [], 'gone with the CHILD_SA');
    assert.equal(chain(t.left.io), rules, 'the rules stay');
    assert.equal(last(t.left.io), `delete element inet tsipsec protect4 { ${DROP_RIGHT} }\n`, 'deleted by value');
  } finally {
    await t.stop();
  }
  assert.equal(last(t.left.io), 'delete table inet tsipsec\n');
});

test('without nft a protected CHILD_SA is refused with a clear error and nothing is left installed', async () => {
  const t = new TwoDaemons(conf('left'), conf('right'));
  t.left.io.nftMissing = true;
  await t.right.daemon.start();
  await t.left.daemon.start();
  await settle();
  try {
    assert.ok(t.left.logs.some((l) => /cannot check inbound cleartext .*install nftables/.test(l)));
    await assert.rejects(t.left.daemon.up('net', 10), /installing the CHILD_SA failed: .*install nftables/);
    await settle();
    assert.equal(t.left.io.routes.size, 0);
    assert.deepEqual(
      (await t.left.daemon.sas()).ikeSas.flatMap((s) => s.children),
      [],
    );
    assert.deepEqual(
      (await t.right.daemon.sas()).ikeSas.flatMap((s) => s.children),
      [],
      'the peer was told',
    );
  } finally {
    await t.stop();
  }
});

test('trap policies are checked too; a pass child is exempt, as narrow as its selector', async () => {
  const pass = `ssh { mode = pass
        local_ts = ${LEFT.inner}/32[tcp/22]
        remote_ts = ${RIGHT.inner}/32 }`;
  const t = await TwoDaemons.start(conf('left', { child: 'start_action = trap', moreChildren: pass }), conf('right'));
  try {
    const s = chain(t.left.io);
    assert.deepEqual(elements(t.left.io), [`protect4 ${DROP_RIGHT}`], 'the trap protects before any SA');
    const passRule = `ip saddr ${RIGHT.inner} ip daddr ${LEFT.inner} meta l4proto 6 th dport 22 accept`;
    assert.ok(s.includes(passRule), s);
    assert.ok(s.indexOf(passRule) < s.indexOf('@protect4 '));
  } finally {
    await t.stop();
  }
});

test('many CHILD_SAs at once go in one nft batch, each adding only its element; shared pairs are counted; a failed batch rewrites the sets', async () => {
  const io = memoryIo({ network: new MemoryNetwork(), address4: '192.0.2.1' });
  const guard = new CleartextGuard(io, 'tsi0', nullLogger);
  await guard.start();
  const rules = chain(io);
  const peer = (i: number): SelectorInput[] => [{ local: '203.0.113.0/24', remote: `198.51.100.${i}/32` }];
  const has = (i: number): boolean => io.nftElements.get('protect4')?.has(`198.51.100.${i} . 203.0.113.0/24`) ?? false;
  const before = io.nftScripts.length;
  await Promise.all(Array.from({ length: 50 }, (_, i) => guard.protect(i + 1, peer(i + 1))));
  assert.equal(io.nftScripts.length, before + 1, 'one batch for the 50');
  assert.equal(io.nftElements.get('protect4')?.size, 50);
  assert.match(
    io.nftScripts.at(-1) ?? '',
    /^add element inet tsipsec protect4 \{ [^\n]* \}\n$/,
    'one line, nothing rewritten',
  );
  await guard.protect(7, peer(7));
  assert.equal(io.nftScripts.length, before + 1, 'the same elements again: no nft run');
  // Another owner with the same pair (a second connection to the same peer): the element stays until both go.
  await guard.protect(107, peer(7));
  await guard.release(7);
  assert.ok(has(7), 'still wanted by 107');
  await guard.release(107);
  assert.ok(!has(7));
  await guard.release(3);
  assert.equal(io.nftElements.get('protect4')?.size, 48);
  assert.ok(!has(3), 'its element is gone');
  // An element deleted behind the daemon's back: the delete fails, the sets are written whole again.
  io.nftElements.get('protect4')?.delete('198.51.100.4 . 203.0.113.0/24');
  await guard.release(4);
  assert.match(io.nftScripts.at(-1) ?? '', /^flush set inet tsipsec protect4\n/, 'rewritten whole');
  assert.equal(io.nftElements.get('protect4')?.size, 47);
  await guard.release(5);
  assert.equal(io.nftScripts.at(-1), 'delete element inet tsipsec protect4 { 198.51.100.5 . 203.0.113.0/24 }\n');
  assert.equal(io.nftElements.get('protect4')?.size, 46);
  assert.equal(chain(io), rules, 'the rules never change with the SAs');
});
