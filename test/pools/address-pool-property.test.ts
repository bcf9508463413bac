/**
 * Random acquire/release sequences on a small pool against the allocator's promises: an address is online for one
 * identity at most, an identity gets its own (offline) lease back, never-used addresses go before anyone's released
 * lease, and "exhausted" only when every address is online.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPool } from '../../src/pools/address-pool.js';
import { Prng } from '../ike/codec/prng.js';

test('random acquire and release keep the pool promises', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const r = new Prng(seed);
    const pool = new AddressPool({ name: 'p', addrs: '198.51.100.10-198.51.100.15' });
    const ids = Array.from({ length: 10 }, (_, i) => `user${i}`);
    const held = new Map<string, { address: string; refs: number }>();
    const everHanded = new Set<string>();
    for (let step = 0; step < 3000; step++) {
      const id = r.pick(ids);
      const mine = held.get(id);
      if (mine !== undefined && r.bool()) {
        assert.equal(pool.release(id, mine.address), true);
        if (--mine.refs === 0) held.delete(id);
        continue;
      }
      const before = pool.leases();
      const ownOffline = before.find((l) => l.identity === id && l.status === 'offline');
      const got = pool.acquire(id);
      if (!got.ok) {
        assert.equal(mine, undefined, 'an identity holding an address always gets it');
        assert.equal(pool.usage().online, pool.size, `${seed}/${step}: exhausted only when all are online`);
        continue;
      }
      if (mine !== undefined) assert.equal(got.address, mine.address, 'shared while online');
      if (ownOffline !== undefined) assert.equal(got.address, ownOffline.address, 'own offline lease back');
      if (mine === undefined && ownOffline === undefined && everHanded.has(got.address))
        assert.equal(everHanded.size, pool.size, 'released leases of others only once none is unused');
      everHanded.add(got.address);
      held.set(id, { address: got.address, refs: (mine?.refs ?? 0) + 1 });
      const online = pool.leases().filter((l) => l.status === 'online');
      assert.equal(new Set(online.map((l) => l.address)).size, online.length, 'one identity per online address');
      assert.equal(online.length, held.size);
      for (const l of online) assert.equal(held.get(l.identity)?.address, l.address);
    }
  }
});
