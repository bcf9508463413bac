import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { nftCommand } from '../../src/io/linux/nftables.js';
import { addNetns, delNetns, rootSkip, sh, uniqueName } from './netns.js';

test('nft command lines as libnftables runs them: output flags, and -f - for a script', () => {
  assert.deepEqual(nftCommand(['--echo', '--handle', '-f', '-'], 'add table inet t\n'), {
    flags: (1 << 5) | (1 << 3),
    text: 'add table inet t\n',
  });
  assert.deepEqual(nftCommand(['-j', 'list', 'counter', 'inet', 't', 'c'], undefined), {
    flags: 1 << 4,
    text: 'list counter inet t c',
  });
  assert.throws(() => nftCommand(['-c', '-f', '-'], ''), /nft option -c is not supported/);
  assert.throws(() => nftCommand(['-f', '-', 'list', 'ruleset'], ''), /either -f - or a command/);
});

/** In its own namespace (libnftables talks to the namespace of the process): what the in-process runs print. */
const child = `
import { openNftables } from ${JSON.stringify(fileURLToPath(new URL('../../src/io/linux/nftables.js', import.meta.url)))};
const nft = openNftables();
if (nft === undefined) { console.log(JSON.stringify({ missing: true })); process.exit(0); }
const out = {};
out.created = await nft.run(['-f', '-'], 'table inet tsi-t {\\n counter c { }\\n chain in { type filter hook prerouting priority -150; policy accept; }\\n}\\n');
// Two at once: queued, one after the other.
const [a, b] = await Promise.all([
  nft.run(['--echo', '--handle', '-f', '-'], 'add rule inet tsi-t in ip saddr 198.51.100.0/24 counter name "c" drop\\n'),
  nft.run(['--echo', '--handle', '-f', '-'], 'add rule inet tsi-t in ip6 saddr 2001:db8:7::/48 counter name "c" drop\\n'),
]);
out.a = a; out.b = b;
out.counter = JSON.parse(await nft.run(['-j', 'list', 'counter', 'inet', 'tsi-t', 'c'])).nftables.some((o) => o.counter?.name === 'c');
out.error = await nft.run(['-f', '-'], 'add rule inet tsi-t in ip saddr 198.51.100.0/40 drop\\n').then(() => 'none', (e) => String(e));
nft.close();
console.log(JSON.stringify(out));
`;

test('libnftables in-process: rules with their handles, JSON output, errors with nft text', { skip: rootSkip }, () => {
  const ns = uniqueName('tsi-nft');
  try {
    addNetns(ns);
    const printed = execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', child], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const out = JSON.parse(printed.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    assert.notEqual(out.missing, true, 'libnftables.so.1 not found: apt-get install nftables');
    assert.equal(out.created, '');
    const handleA = /^add rule inet tsi-t in ip saddr 198\.51\.100\.0\/24 counter name "c" drop # handle (\d+)$/m.exec(
      String(out.a),
    );
    const handleB = /^add rule inet tsi-t in ip6 saddr 2001:db8:7::\/48 counter name "c" drop # handle (\d+)$/m.exec(
      String(out.b),
    );
    assert.ok(handleA && handleB, `echoed rules: ${String(out.a)} / ${String(out.b)}`);
    assert.equal(out.counter, true);
    assert.match(String(out.error), /^IoError: nft -f -: Error: .*198\.51\.100\.0\/40/s);
    // The rules are in the kernel, with the handles reported, as the nft command lists them.
    const listed = sh('ip', ['netns', 'exec', ns, 'nft', '-a', 'list', 'chain', 'inet', 'tsi-t', 'in']);
    assert.match(listed, new RegExp(`ip saddr 198\\.51\\.100\\.0/24 counter name "c" drop # handle ${handleA[1]}`));
    assert.match(listed, new RegExp(`ip6 saddr 2001:db8:7::/48 counter name "c" drop # handle ${handleB[1]}`));
  } finally {
    delNetns(ns);
  }
});

/** The cleartext check's table, chain and one element of each of its six sets, as the kernel takes them. */
const guardChild = `
import { openNftables } from ${JSON.stringify(fileURLToPath(new URL('../../src/io/linux/nftables.js', import.meta.url)))};
import * as g from ${JSON.stringify(fileURLToPath(new URL('../../src/daemon/cleartext-guard.js', import.meta.url)))};
const nft = openNftables();
await nft.run(['-f', '-'], g.guardTableScript());
await nft.run(['-f', '-'], g.guardChainScript('tsi0', [{ local: '192.0.2.1', remote: '192.0.2.2', protocol: 6, localPort: 22 }]));
const sels = [
  { local: '192.0.2.0/24', remote: '198.51.100.7' },
  { local: '192.0.2.1', remote: '198.51.100.1-198.51.100.9', protocol: 1 },
  { local: 'any4', remote: '203.0.113.0/24', protocol: 17, localPort: { start: 53, end: 53 }, remotePort: { start: 1024, end: 65535 } },
  { local: '2001:db8:1::/64', remote: '2001:db8:2::1-2001:db8:2::9' },
  { local: '2001:db8:1::1', remote: 'any6', protocol: 58 },
  { local: '2001:db8:1::/64', remote: '2001:db8:3::/48', protocol: 6, remotePort: 443 },
];
const lines = sels.map((s) => { const e = g.protectedElement(s); return 'add element inet tsipsec ' + e.set + ' { ' + e.element + ' }'; });
await nft.run(['-f', '-'], lines.join('\\n') + '\\n');
const listed = JSON.parse(await nft.run(['-j', 'list', 'table', 'inet', 'tsipsec'])).nftables;
const counts = {};
for (const o of listed) if (o.set) counts[o.set.name] = (o.set.elem ?? []).length;
nft.close();
console.log(JSON.stringify(counts));
`;

test(
  'the cleartext check in the kernel: its table, chain and an element in each of the six sets',
  { skip: rootSkip },
  () => {
    const ns = uniqueName('tsi-nft');
    try {
      addNetns(ns);
      const printed = execFileSync(
        'ip',
        ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', guardChild],
        {
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      const counts = JSON.parse(printed.trim().split('\n').pop() ?? '{}') as Record<string, number>;
      assert.deepEqual(counts, { protect4: 1, protect4p: 1, protect4x: 1, protect6: 1, protect6p: 1, protect6x: 1 });
      const chain = sh('ip', ['netns', 'exec', ns, 'nft', 'list', 'chain', 'inet', 'tsipsec', 'inbound']);
      assert.match(
        chain,
        /ip6 saddr \. ip6 daddr \. meta l4proto \. th sport \. th dport @protect6x counter name "cleartext" drop/,
      );
    } finally {
      delNetns(ns);
    }
  },
);
