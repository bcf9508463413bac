/**
 * The lone-packet policy of the device read loops: with sparse traffic the first packet of a wake-up is handed
 * over before the reader looks for more; with bulk traffic batches fill as before. Driven here the way
 * LinuxTun's drain loops drive it, with a scripted series of wake-ups.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LonePacketPolicy } from '../../src/io/lone-packet.js';

/**
 * One wake-up that finds `packets` packets: returns the sizes of the batches handed over, reading into a
 * batch of `size` slots as the TUN drain does.
 */
function wake(policy: LonePacketPolicy, packets: number, size = 32): number[] {
  const batches: number[] = [];
  let filled = 0;
  policy.begin();
  for (let i = 0; i < packets; i++) {
    filled++;
    if (policy.packetRead(filled) || filled === size) {
      batches.push(filled);
      filled = 0;
    }
  }
  if (filled > 0) batches.push(filled);
  policy.end(packets);
  return batches;
}

test('lone packets: each one is handed over alone, before the read that would block', () => {
  const p = new LonePacketPolicy();
  // A fresh reader assumes sparse traffic: the very first packet goes at once.
  for (let i = 0; i < 5; i++) assert.deepEqual(wake(p, 1), [1]);
  assert.equal(p.early, 5);
});

test('bulk traffic: after a wake-up with several packets, batches fill as before', () => {
  const p = new LonePacketPolicy();
  assert.deepEqual(wake(p, 1), [1]);
  // Traffic turns busy: this wake-up still hands its first packet over early (it could not know) ...
  assert.deepEqual(wake(p, 40), [1, 32, 7]);
  // ... but the next ones build whole batches.
  assert.deepEqual(wake(p, 40), [32, 8]);
  assert.deepEqual(wake(p, 3), [3]);
  assert.equal(p.early, 2);
});

test('traffic turning sparse again: one quiet wake-up brings early hand-over back', () => {
  const p = new LonePacketPolicy();
  wake(p, 10);
  wake(p, 10);
  const before = p.early;
  assert.deepEqual(wake(p, 1), [1], 'a lone packet after bulk still goes out at the end of its wake-up');
  assert.equal(p.early, before, 'not early: the previous wake-up was busy');
  assert.deepEqual(wake(p, 2), [1, 1], 'now sparse: the first packet goes at once, the second after it');
  assert.equal(p.early, before + 1);
  assert.deepEqual(wake(p, 0), []);
  assert.deepEqual(wake(p, 1), [1]);
  assert.equal(p.early, before + 2);
});
