/**
 * A CHILD_SA is installed whole or not at all: when one of its routes cannot be added, its SAs, policies and
 * the routes already added are removed again, the log says so, and nothing of it is left to leak traffic.
 * Also the parts that decide what a CHILD_SA routes and what a `pass` child lets through in the clear.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bypassArgs } from '../../src/daemon/daemon-io.js';
import { shuntRequests } from '../../src/daemon/config-policies.js';
import { rangeToPrefixes } from '../../src/daemon/routes.js';
import { isIP } from 'node:net';
import { conf, configOf, LEFT, RIGHT, settle, TwoDaemons } from './memory-daemons.js';

const WIDE = '203.0.113.64/26';

test('a CHILD_SA whose second route is refused is rolled back: no SAs, policies or routes; the peer told', async () => {
  const t = await TwoDaemons.start(
    conf('left', { child: `remote_ts = ${RIGHT.inner}/32, ${WIDE}` }),
    conf('right', { child: `local_ts = ${RIGHT.inner}/32, ${WIDE}` }),
  );
  try {
    t.left.io.failAddRouteAt = t.left.io.addRouteCalls + 2;
    await assert.rejects(t.left.daemon.up('net', 10), /installing the CHILD_SA failed: .*route failed/);
    await settle();
    assert.ok(
      t.left.logs.some((l) =>
        /CHILD_SA net\{\d+\}: route failed: .*rolled back its policies, routes and rules/.test(l),
      ),
      'one clear log line',
    );
    assert.equal(t.left.io.routes.size, 0, 'the route added first is gone again');
    const left = (await t.left.daemon.sas()).ikeSas;
    assert.deepEqual(
      left.flatMap((s) => s.children),
      [],
      'no CHILD_SA listed',
    );
    const right = (await t.right.daemon.sas()).ikeSas;
    assert.deepEqual(
      right.flatMap((s) => s.children),
      [],
      'the peer deleted its half too',
    );
    const before = (await t.left.daemon.stats()).drops.noPolicy ?? 0;
    const wire = t.wire.length;
    assert.equal((await t.ping(t.left, t.right, 1)).request, undefined);
    assert.equal(t.espSince(wire), 0, 'nothing sealed');
    assert.equal((await t.left.daemon.stats()).drops.noPolicy, before + 1, 'no policy left behind');
  } finally {
    await t.stop();
  }
});

function bytes(address: string): Uint8Array {
  if (isIP(address) === 4) return Uint8Array.from(address.split('.').map(Number));
  const [head = '', tail = ''] = address.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  return Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
}

test('a range is routed in full, however many prefixes it needs', () => {
  const v4 = rangeToPrefixes(bytes('0.0.0.1'), bytes('255.255.255.254'));
  assert.equal(v4.length, 62);
  assert.equal(v4[0], '0.0.0.1/32');
  assert.equal(v4.at(-1), '255.255.255.254/32');
  const v6 = rangeToPrefixes(bytes('2001:db8::1'), bytes('2001:db8:ffff:ffff:ffff:ffff:ffff:fffe'));
  assert.equal(v6.length, 2 * (128 - 32) - 2, 'every prefix, none cut off');
  assert.equal(v6.at(-1), '2001:db8:ffff:ffff:ffff:ffff:ffff:fffe/128');
  assert.deepEqual(rangeToPrefixes(bytes('192.0.2.0'), bytes('192.0.2.255')), ['192.0.2.0/24']);
});

test('a pass child bypasses the TUN only for its own local prefix, protocol and ports', () => {
  const config = configOf(`connections { lab {
    local_addrs = ${LEFT.outer}
    remote_addrs = ${RIGHT.outer}
    local { auth = psk }
    remote { auth = psk }
    children { ssh {
      mode = pass
      local_ts = 198.51.100.0/28[tcp/22]
      remote_ts = 203.0.113.0/24[tcp/1024-65535]
    } }
  } }
secrets { ike { secret = "x-pass-preshared-key" } }
`);
  const conn = config.connections[0];
  assert.ok(conn);
  const reqs = shuntRequests(conn);
  assert.equal(reqs.length, 1);
  const rule = reqs[0]?.bypass?.[0];
  assert.ok(rule);
  assert.deepEqual(bypassArgs(rule), [
    '-4',
    'rule',
    '%',
    'from',
    '198.51.100.0/28',
    'to',
    '203.0.113.0/24',
    'ipproto',
    '6',
    'sport',
    '22',
    'dport',
    '1024-65535',
    'lookup',
    'main',
    'priority',
    '219',
  ]);
  const own = bypassArgs({ ...rule, local: '192.0.2.1/32' });
  assert.ok(!own.includes('from'), 'this host as the local selector: its unbound sockets are looked up sourceless');
  assert.ok(own.includes('sport'));
});
