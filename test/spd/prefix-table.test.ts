/**
 * The IPv4 prefix table of the policy index: an open-addressing hash in an Int32Array. Checked against a Map
 * through growth, colliding probe runs and removals (which shift later members of a run back).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrefixTable, TABLE_EMPTY } from '../../src/spd/prefix-table.js';

function sameAsMap(table: PrefixTable, ref: Map<number, number>, probes: readonly number[]): void {
  assert.equal(table.count, ref.size);
  for (const k of probes) assert.equal(table.get(k), ref.get(k) ?? TABLE_EMPTY, `key ${k}`);
  assert.deepEqual(new Map(table.entries()), ref);
}

test('prefix table: random sets and deletes agree with a Map, through growth and shifted removals', () => {
  const table = new PrefixTable(32);
  const ref = new Map<number, number>();
  let seed = 11;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 8) % n;
  // Keys from a small space so runs collide and deletes hit members of long probe runs; negative int32 keys too
  // (addresses from 128.0.0.0 up).
  const keyOf = (i: number): number => (i & 1 ? 0xc6336400 + i : 0x0c000200 + i * 4) | 0;
  const probes = Array.from({ length: 3000 }, (_, i) => keyOf(i));
  for (let step = 0; step < 20_000; step++) {
    const k = keyOf(rnd(3000));
    if (rnd(3) === 0) {
      assert.equal(table.delete(k), ref.delete(k));
    } else {
      const v = rnd(2) === 0 ? 1 + rnd(1000) : -1 - rnd(1000);
      table.set(k, v);
      ref.set(k, v);
    }
    if (step % 2000 === 0) sameAsMap(table, ref, probes);
  }
  sameAsMap(table, ref, probes);
  for (const k of [...ref.keys()]) {
    assert.ok(table.delete(k));
    ref.delete(k);
  }
  sameAsMap(table, ref, probes);
  assert.equal(table.delete(keyOf(5)), false);
});

test('prefix table: netmask of the prefix length, and 0 is refused as a value', () => {
  assert.equal(new PrefixTable(32).mask, -1);
  assert.equal(new PrefixTable(24).mask >>> 0, 0xffffff00);
  assert.equal(new PrefixTable(1).mask >>> 0, 0x80000000);
  assert.equal(new PrefixTable(0).mask, 0);
  assert.throws(() => new PrefixTable(32).set(1, TABLE_EMPTY), RangeError);
});
