/**
 * Virtual IP pools: ranges as strongSwan reads `addrs`, leases by identity (the same identity gets the same
 * address back), exhaustion as a result, reuse of the oldest released lease, listings, and big pools.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPool, MAX_POOL_SIZE, PoolSpecError, parsePoolRange } from '../../src/pools/address-pool.js';
import { VirtualIpPools } from '../../src/pools/virtual-ip-pools.js';

test('addrs: a prefix loses its network and broadcast addresses, a range keeps both ends', () => {
  const p = new AddressPool({ name: 'v4', addrs: '198.51.100.128/25' });
  assert.deepEqual(p.usage(), {
    name: 'v4',
    family: 4,
    first: '198.51.100.129',
    last: '198.51.100.254',
    size: 126,
    online: 0,
    offline: 0,
  });
  const r = new AddressPool({ name: 'r', addrs: '198.51.100.10-198.51.100.12' });
  assert.equal(r.size, 3);
  assert.equal(r.usage().first, '198.51.100.10');
  assert.equal(r.usage().last, '198.51.100.12');
  const v6 = new AddressPool({ name: 'v6', addrs: '2001:db8:1::/64' });
  assert.equal(v6.family, 6);
  assert.equal(v6.size, MAX_POOL_SIZE);
  assert.equal(v6.usage().first, '2001:db8:1::1');
  // A prefix whose address has host bits starts there (and still skips the broadcast address).
  assert.deepEqual(parsePoolRange('198.51.100.200/24'), { family: 4, base: 0xc63364c8n, size: 55 });
  // /32 and /31 hand out every address.
  assert.equal(new AddressPool({ name: 'one', addrs: '198.51.100.7/32' }).size, 1);
  assert.equal(new AddressPool({ name: 'two', addrs: '198.51.100.6/31' }).size, 2);
});

test('addrs: what is not a prefix or range is refused with how to write it', () => {
  for (const bad of ['198.51.100.0/33', 'pool', '198.51.100.9-198.51.100.1', '198.51.100.1-2001:db8::1', '1.2.3.4/x'])
    assert.throws(() => new AddressPool({ name: 'x', addrs: bad }), PoolSpecError, bad);
});

test('same identity, same address: shared while online, back after release, reserved while offline', () => {
  const p = new AddressPool({ name: 'v4', addrs: '198.51.100.128/25' });
  const a = p.acquire('carol@example.org');
  const b = p.acquire('dave@example.org');
  assert.deepEqual(a, { ok: true, address: '198.51.100.129', reused: false });
  assert.deepEqual(b, { ok: true, address: '198.51.100.130', reused: false });
  // A second IKE_SA of carol (reconnect before the old one is gone) shares the address.
  assert.deepEqual(p.acquire('carol@example.org'), { ok: true, address: '198.51.100.129', reused: true });
  assert.equal(p.release('carol@example.org', '198.51.100.129'), true);
  assert.equal(p.usage().online, 2, 'still held once');
  assert.equal(p.release('carol@example.org', '198.51.100.129'), true);
  assert.deepEqual(p.leases(), [
    { address: '198.51.100.130', identity: 'dave@example.org', status: 'online' },
    { address: '198.51.100.129', identity: 'carol@example.org', status: 'offline' },
  ]);
  // Someone new does not get carol's offline address while unused ones remain.
  assert.equal(p.acquire('eve@example.org').ok && p.leases()[1]?.address, '198.51.100.131');
  // carol comes back: her address again.
  assert.deepEqual(p.acquire('carol@example.org'), { ok: true, address: '198.51.100.129', reused: true });
  // Releasing what one does not hold is refused.
  assert.equal(p.release('mallory@example.org', '198.51.100.129'), false);
  assert.equal(p.release('carol@example.org', '203.0.113.1'), false);
});

test('exhaustion is a result; then the oldest offline lease of someone else is reused', () => {
  const p = new AddressPool({ name: 'tiny', addrs: '198.51.100.10-198.51.100.11' });
  assert.equal(p.acquire('a').ok, true);
  assert.equal(p.acquire('b').ok, true);
  assert.deepEqual(p.acquire('c'), { ok: false, reason: 'exhausted' });
  p.release('b', '198.51.100.11');
  p.release('a', '198.51.100.10');
  // b released first: its address goes to c; a keeps its reservation.
  assert.deepEqual(p.acquire('c'), { ok: true, address: '198.51.100.11', reused: false });
  assert.deepEqual(p.acquire('a'), { ok: true, address: '198.51.100.10', reused: true });
  assert.deepEqual(p.acquire('b'), { ok: false, reason: 'exhausted' });
  assert.deepEqual(
    p.leases().map((l) => [l.address, l.identity, l.status]),
    [
      ['198.51.100.10', 'a', 'online'],
      ['198.51.100.11', 'c', 'online'],
    ],
  );
});

test('a big pool hands out 100,000 distinct addresses without scanning', () => {
  const p = new AddressPool({ name: 'v6', addrs: '2001:db8:1::/64' });
  const seen = new Set<string>();
  for (let i = 0; i < 100_000; i++) {
    const r = p.acquire(`user${i}`);
    assert.ok(r.ok);
    seen.add(r.address);
  }
  assert.equal(seen.size, 100_000);
  assert.ok(seen.has('2001:db8:1::1') && seen.has('2001:db8:1::1:86a0'));
  const big = new AddressPool({ name: 'big', addrs: '2001:db8:ffff::/104' });
  for (let i = 0; i < 1000; i++) big.acquire(`u${i}`);
  assert.equal(big.usage().online, 1000);
});

test('named pools: first pool of the family with room, attributes of the pools, listing', () => {
  const pools = new VirtualIpPools([
    { name: 'small', addrs: '198.51.100.10-198.51.100.10', dns: ['198.51.100.53'] },
    {
      name: 'big',
      addrs: '198.51.100.128/25',
      dns: ['198.51.100.53', '2001:db8::53'],
      splitInclude: ['203.0.113.0/24'],
    },
    { name: 'v6', addrs: '2001:db8:1::/64' },
  ]);
  assert.deepEqual(pools.acquire(['small', 'big'], 'a', 4), {
    ok: true,
    pool: 'small',
    address: '198.51.100.10',
    reused: false,
  });
  assert.deepEqual(pools.acquire(['small', 'big'], 'b', 4), {
    ok: true,
    pool: 'big',
    address: '198.51.100.129',
    reused: false,
  });
  assert.deepEqual(pools.acquire(['small'], 'c', 4), { ok: false, reason: 'exhausted' });
  assert.deepEqual(pools.acquire(['small', 'big'], 'c', 6), { ok: false, reason: 'noPool' });
  assert.equal(pools.acquire(['v6'], 'c', 6).ok, true);
  assert.deepEqual(pools.attributes(['small', 'big', 'v6']), {
    dns: ['198.51.100.53', '2001:db8::53'],
    splitInclude: ['203.0.113.0/24'],
  });
  assert.equal(pools.release('big', 'b', '198.51.100.129'), true);
  const listed = pools.list();
  assert.deepEqual(
    listed.map((p) => [p.name, p.size, p.online, p.offline]),
    [
      ['small', 1, 1, 0],
      ['big', 126, 0, 1],
      ['v6', MAX_POOL_SIZE, 1, 0],
    ],
  );
  assert.deepEqual(listed[1]?.leases, [{ address: '198.51.100.129', identity: 'b', status: 'offline' }]);
});
