/**
 * `tsipsec up NAME` callers waiting for their CHILD_SAs: resolved when one is installed, rejected with the
 * reason when the negotiation fails, or when their deadline passes. Deadlines are the daemon clock's, so
 * the daemon arms its one timer for the earliest (`nextDeadlineMs()`) and calls `handleTimer(nowMs)`.
 */
import { ControlError } from '../control/protocol.js';
import type { ChildSaInfo } from '../control/schema.js';

interface Waiter {
  /** The child asked for, or the connection when all its children were. */
  readonly name: string;
  readonly conn: string;
  readonly deadlineMs: number;
  readonly timeoutText: string;
  readonly resolve: (children: ChildSaInfo[]) => void;
  readonly reject: (e: Error) => void;
}

export class UpWaiters {
  readonly #waiters = new Set<Waiter>();

  /**
   * Waits for child `name` of `conn` (or any child of `conn` when `name === conn`) until `deadlineMs`.
   * `cancel` rejects this one waiter (its request could not even start).
   */
  wait(
    name: string,
    conn: string,
    deadlineMs: number,
    timeoutText: string,
  ): { done: Promise<ChildSaInfo[]>; cancel: (e: Error) => void } {
    let waiter: Waiter | undefined;
    const done = new Promise<ChildSaInfo[]>((resolve, reject) => {
      waiter = { name, conn, deadlineMs, timeoutText, resolve, reject };
      this.#waiters.add(waiter);
    });
    const cancel = (e: Error): void => {
      if (waiter === undefined || !this.#waiters.delete(waiter)) return;
      waiter.reject(e);
    };
    return { done, cancel };
  }

  nextDeadlineMs(): number | undefined {
    let next: number | undefined;
    for (const w of this.#waiters) if (next === undefined || w.deadlineMs < next) next = w.deadlineMs;
    return next;
  }

  handleTimer(nowMs: number): void {
    for (const w of this.#waiters) {
      if (w.deadlineMs > nowMs) continue;
      this.#waiters.delete(w);
      w.reject(new ControlError('timeout', w.timeoutText));
    }
  }

  /** A CHILD_SA `child` of connection `conn` was installed. */
  installed(child: string, conn: string | undefined, info: ChildSaInfo): void {
    for (const w of this.#waiters) {
      if (w.name === child || (w.conn === w.name && conn === w.conn)) {
        this.#waiters.delete(w);
        w.resolve([info]);
      }
    }
  }

  /** Negotiation failed for `conn` (every waiter of it) or for one `child` of it. */
  fail(conn: string, child: string | undefined, reason: string): void {
    for (const w of this.#waiters) {
      if (w.conn !== conn && w.name !== conn) continue;
      if (child !== undefined && w.name !== child && w.name !== w.conn) continue;
      this.#waiters.delete(w);
      w.reject(new ControlError('failed', reason));
    }
  }

  rejectAll(e: Error): void {
    for (const w of this.#waiters) w.reject(e);
    this.#waiters.clear();
  }
}
