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
