/**
 * The single-deadline timer glue between the sans-I/O engines and the event loop: an engine returns its next
 * deadline, the glue arms one timer and calls back with the current time when it passes.
 */
import type { Clock } from './types.js';

/** Longest single setTimeout Node accepts; longer deadlines re-arm when it fires. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The event loop's clock: monotonic `performance.now()` and one `setTimeout`. */
export class SystemClock implements Clock {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #keepAlive: boolean;

  /** `keepAlive: false` lets the process exit while only this timer is armed (tests, one-shot tools). */
  constructor(options: { keepAlive?: boolean } = {}) {
    this.#keepAlive = options.keepAlive ?? true;
  }

  nowMs(): number {
    return performance.now();
  }

  setDeadline(deadlineMs: number | undefined, onFire: (nowMs: number) => void): void {
    this.cancel();
    if (deadlineMs === undefined) return;
    const delay = Math.min(Math.max(0, Math.ceil(deadlineMs - this.nowMs())), MAX_TIMEOUT_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const now = this.nowMs();
      if (now < deadlineMs) this.setDeadline(deadlineMs, onFire);
      else onFire(now);
    }, delay);
    if (!this.#keepAlive) this.#timer.unref();
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** A clock that moves only when told to: `advance()` fires the timer if its deadline is reached. */
export class MemoryClock implements Clock {
  #nowMs: number;
  #deadlineMs: number | undefined;
  #onFire: ((nowMs: number) => void) | undefined;

  constructor(startMs = 0) {
    this.#nowMs = startMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  /** The armed deadline, if any. */
  get deadlineMs(): number | undefined {
    return this.#deadlineMs;
  }

  setDeadline(deadlineMs: number | undefined, onFire: (nowMs: number) => void): void {
    this.#deadlineMs = deadlineMs;
    this.#onFire = deadlineMs === undefined ? undefined : onFire;
  }

  cancel(): void {
    this.#deadlineMs = undefined;
    this.#onFire = undefined;
  }

  /**
   * Move time forward by `ms`, firing the timer each time its deadline falls within the step (a callback may
   * re-arm it). Returns how many times it fired.
   */
  advance(ms: number): number {
    const target = this.#nowMs + ms;
    let fired = 0;
    while (this.#deadlineMs !== undefined && this.#deadlineMs <= target && this.#onFire !== undefined) {
      this.#nowMs = Math.max(this.#nowMs, this.#deadlineMs);
      const cb = this.#onFire;
      this.#deadlineMs = undefined;
      this.#onFire = undefined;
      fired++;
      cb(this.#nowMs);
    }
    this.#nowMs = target;
    return fired;
  }
}
