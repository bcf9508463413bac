/**
 * Anti-replay window (RFC 4303 3.4.3, RFC 6479 bitmap, ESN inference of RFC 4303 Appendix A2.2) against a
 * naive reference: a set of every accepted 64-bit sequence number and the highest one, in bigint, with the
 * Appendix A rules written out directly. Random traffic (reordering, duplicates, jumps, forgeries that fail
 * the ICV), the window edges, and the ESN wrap from 2^32 - 1 to 2^32.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayWindow } from '../../src/common/replay-window.js';

/** mulberry32: a small seeded PRNG so every run sees the same traffic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TWO32 = 1n << 32n;

class Reference {
  top: bigint;
  readonly seen = new Set<bigint>();
  readonly w: number;
  readonly esn: boolean;
  constructor(w: number, esn: boolean, start: bigint) {
    this.w = w;
    this.esn = esn;
    this.top = start;
    if (start > 0n) this.seen.add(start);
  }
  /** RFC 4303 Appendix A2.2 (for window 0 the nearest epoch: half the space). */
  infer(low: bigint): bigint | null {
    if (!this.esn) return low;
    const W = BigInt(this.w === 0 ? 2 ** 31 : this.w);
    const th = this.top / TWO32;
    const tl = this.top % TWO32;
    let sh: bigint;
    if (tl >= W - 1n) sh = low >= tl - W + 1n ? th : th + 1n;
    else sh = low >= (tl - W + 1n + TWO32) % TWO32 ? th - 1n : th;
    if (sh < 0n || sh >= TWO32) return null;
    return sh * TWO32 + low;
  }
  check(low: bigint): bigint | null {
    const seq = this.infer(low);
    if (seq === null || seq === 0n) return null;
    if (this.w === 0 || seq > this.top) return seq;
    if (seq + BigInt(this.w) <= this.top) return null;
    return this.seen.has(seq) ? null : seq;
  }
  commit(seq: bigint): void {
    this.seen.add(seq);
    if (seq > this.top) this.top = seq;
  }
}

function runModel(
  w: number,
  esn: boolean,
  start: bigint,
  steps: number,
  seed: number,
): { accepted: number; rejected: number } {
  const rnd = prng(seed);
  const win = new ReplayWindow({ size: w, esn, initialHighest: start });
  const ref = new Reference(w, esn, start);
  const limit = esn ? 1n << 64n : TWO32;
  let sent = start; // the sender's highest sequence number so far
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < steps; i++) {
    // The true sequence number of this packet: mostly new, often reordered or repeated, sometimes far off.
    const r = rnd();
    let seq: bigint;
    const span = BigInt(Math.max(w, 8) * 2 + 3);
    if (r < 0.45) seq = sent + 1n + BigInt(Math.floor(rnd() * 3));
    else if (r < 0.85) seq = sent - BigInt(Math.floor(rnd() * Number(span)));
    else if (r < 0.95) seq = sent + BigInt(Math.floor(rnd() * Number(span) * 4));
    else seq = sent - BigInt(Math.floor(rnd() * 2 ** 33));
    if (seq <= 0n || seq >= limit) continue;
    if (seq > sent) sent = seq;
    const low = seq % TWO32;
    const expected = ref.check(low);
    const got = win.checkParts(Number(low));
    assert.equal(got, expected !== null, `step ${i}: check ${seq} (w=${w}, esn=${esn})`);
    if (expected === null) {
      rejected++;
      continue;
    }
    const inferred = BigInt(win.checkedHigh) * TWO32 + low;
    assert.equal(inferred, expected, `step ${i}: inferred ${inferred}, reference ${expected}`);
    // The ICV only verifies when the inferred number is the true one, and 10% are forgeries anyway.
    if (inferred !== seq) rejected++;
    const authentic = inferred === seq && rnd() >= 0.1;
    if (authentic) {
      assert.equal(win.commitParts(win.checkedHigh, Number(low)), true);
      ref.commit(expected);
      accepted++;
      assert.equal(win.highestBig, ref.top);
    }
  }
  return { accepted, rejected };
}

test('random traffic: the bitmap window agrees with the set-based reference (32-bit and ESN)', () => {
  let total = 0;
  let seed = 1;
  for (const w of [0, 1, 2, 31, 32, 33, 64, 100, 1024, 4096]) {
    for (const esn of [false, true]) {
      const starts = esn ? [0n, TWO32 - 50n, 5n * TWO32 + 7n, (1n << 64n) - 100000n] : [0n, 1000n, TWO32 - 20000n];
      for (const start of starts) {
        const r = runModel(w, esn, start, w >= 1024 ? 6000 : 2500, seed++);
        const expectRejections = w > 0;
        assert.ok(r.accepted > 100, `w=${w} esn=${esn} start=${start}: ${JSON.stringify(r)}`);
        if (expectRejections) assert.ok(r.rejected > 10, `w=${w} esn=${esn} start=${start}: ${JSON.stringify(r)}`);
        total += r.accepted + r.rejected;
      }
    }
  }
  assert.ok(total > 50_000);
});

test('window edges: exactly W numbers below and including the top are tracked', () => {
  for (const w of [1, 2, 32, 64, 65, 4096]) {
    const win = new ReplayWindow({ size: w, esn: false });
    const top = w + 1000;
    assert.equal(win.commit(top), true);
    // The oldest number still inside the window is top - w + 1; top - w is outside.
    if (w > 1) assert.equal(win.check(top - w + 1), top - w + 1);
    assert.equal(win.check(top - w), 'replay');
    assert.equal(win.check(top), 'replay');
    assert.equal(win.check(top + 1), top + 1);
    if (w > 1) {
      assert.equal(win.commit(top - w + 1), true);
      assert.equal(win.commit(top - w + 1), false);
    }
    // Moving the top by exactly w pushes the old top out of the window.
    assert.equal(win.commit(top + w), true);
    assert.equal(win.check(top), 'replay');
    assert.equal(win.check(top + 1), w === 1 ? 'replay' : top + 1);
    // A jump far beyond the ring clears it: the number just below the new top is fresh.
    const far = top + 10 * w + 64;
    assert.equal(win.commit(far), true);
    assert.equal(win.check(far - 1), w === 1 ? 'replay' : far - 1);
  }
});

test('sequence number 0 is never accepted, and the 32-bit space ends at 2^32 - 1', () => {
  const win = new ReplayWindow({ size: 64, esn: false });
  assert.equal(win.check(0), 'replay');
  assert.equal(win.commit(0xffffffff), true);
  assert.equal(win.check(0), 'replay');
  assert.equal(win.check(1), 'replay');
  const esn = new ReplayWindow({ size: 64, esn: true, initialHighest: TWO32 - 1n });
  // After 2^32 - 1, low 0 means 2^32 with ESN.
  assert.equal(esn.check(0), 2 ** 32);
  assert.equal(esn.commit(2 ** 32), true);
  assert.equal(esn.check(0xffffffff), 'replay');
  assert.equal(esn.check(0xfffffffe), 2 ** 32 - 2);
});

test('ESN wrap: numbers just behind the epoch boundary infer the previous high half (Appendix A2.2 case B)', () => {
  const win = new ReplayWindow({ size: 32, esn: true, initialHighest: 3n * TWO32 + 5n });
  assert.equal(win.checkParts(0xfffffff0), true);
  assert.equal(win.checkedHigh, 2);
  assert.equal(win.checkParts(0xffffffe6), true); // 3*2^32 + 5 - 31 = 2*2^32 + 0xffffffe6
  assert.equal(win.checkedHigh, 2);
  assert.equal(win.checkParts(0xffffffe5), true); // outside the window: taken as the current epoch's number
  assert.equal(win.checkedHigh, 3);
  // 3 * 2^32 + 3 is inside the window and unseen; once committed it is a replay.
  assert.equal(win.checkParts(3), true);
  assert.equal(win.checkedHigh, 3);
  assert.equal(win.commitParts(3, 3), true);
  assert.equal(win.checkParts(3), false);
  assert.equal(win.checkParts(5), false);
});

test('invalid sizes are refused at construction', () => {
  assert.throws(() => new ReplayWindow({ size: -1, esn: false }), RangeError);
  assert.throws(() => new ReplayWindow({ size: (1 << 20) + 1, esn: false }), RangeError);
  assert.throws(() => new ReplayWindow({ size: 32, esn: false, initialHighest: TWO32 }), RangeError);
});
