/**
 * The engine's SA registry and deadline queue: the queue's next deadline is the minimum a scan of every SA
 * gives, through random exchanges with loss, rekeys and deletions; and the heap alone against a sorted model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CHILD_LIFETIMES } from '../../src/ike/config.js';
import { DeadlineQueue, deadlineOf } from '../../src/ike/sa-registry.js';
import type { IkeSa } from '../../src/ike/sa.js';
import type { IkeEngine } from '../../src/ike/engine.js';
import { Pair } from './exchange-helper.js';

function scanned(e: IkeEngine): number | undefined {
  const min = Math.min(...e.ikeSas().map(deadlineOf));
  return Number.isFinite(min) ? min : undefined;
}

test('nextTimerMs from the deadline queue equals a scan of every SA, through random exchanges, loss and timers', () => {
  let seed = 5;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 8) % n;
  const lifetimes = { ...DEFAULT_CHILD_LIFETIMES, rekeyTimeSec: 40, lifeTimeSec: 60, randTimeSec: 5 };
  const p = new Pair(
    { child: { lifetimes }, conn: { rekeyTimeSec: 70, overTimeSec: 20, dpdDelaySec: 15 } },
    { child: { lifetimes } },
  );
  let checks = 0;
  for (let step = 0; step < 1500; step++) {
    const r = rnd(10);
    if (r === 0 && p.i.ikeSas().length < 6) p.initiate();
    else if (r === 1 && p.wire.length === 0 && p.i.ikeSas().length < 3) p.initiate();
    else if (r < 5 && p.wire.length > 0) {
      if (rnd(6) === 0) p.drop();
      else p.deliver();
    } else p.advance(rnd(4) === 0 ? 9000 : 700);
    for (const e of [p.i, p.r]) {
      assert.equal(e.nextTimerMs(), scanned(e), `step ${step}`);
      checks++;
    }
  }
  // A calm tail: everything delivered, time moving on, so rekeys and expiries run too.
  p.initiate();
  for (let step = 0; step < 40; step++) {
    p.run();
    p.advance(5000);
    for (const e of [p.i, p.r]) assert.equal(e.nextTimerMs(), scanned(e), `tail step ${step}`);
  }
  const installed = [...p.events('i', 'childSaInstalled'), ...p.events('r', 'childSaInstalled')];
  assert.ok(installed.filter((e) => e.rekeyOf === undefined).length >= 2, `children came up: ${installed.length}`);
  assert.ok(
    installed.some((e) => e.rekeyOf !== undefined),
    'and were rekeyed',
  );
  assert.equal(checks, 3000);
});

test('DeadlineQueue: next and takeDue follow updates, removals and repeats like a sorted list', () => {
  let seed = 9;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 8) % n;
  const sas = Array.from({ length: 50 }, (_, i) => ({ id: i }) as unknown as IkeSa);
  const q = new DeadlineQueue();
  const model = new Map<IkeSa, number>();
  let now = 0;
  for (let step = 0; step < 20_000; step++) {
    const sa = sas[rnd(sas.length)]!;
    const op = rnd(10);
    if (op < 6) {
      const at = rnd(5) === 0 ? Infinity : now + 1 + rnd(1000);
      q.update(sa, at);
      if (Number.isFinite(at)) model.set(sa, at);
      else model.delete(sa);
    } else if (op < 9) {
      const want = model.size === 0 ? undefined : Math.min(...model.values());
      assert.equal(q.next(), want);
    } else {
      now += rnd(300);
      const due = q
        .takeDue(now)
        .sort((a, b) => (a as unknown as { id: number }).id - (b as unknown as { id: number }).id);
      const wantDue = [...model].filter(([, at]) => at <= now).map(([s]) => s);
      for (const s of wantDue) model.delete(s);
      wantDue.sort((a, b) => (a as unknown as { id: number }).id - (b as unknown as { id: number }).id);
      assert.deepEqual(due, wantDue);
    }
    assert.equal(q.size, model.size);
  }
});
