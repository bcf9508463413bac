/**
 * What the daemon does on its own for a connection, decided sans-I/O: swanctl's `start_action`,
 * `close_action`, `dpd_action` and `keyingtries`, and the data plane's acquires and expires. Facts go in
 * (an IKE_SA was initiated, established or deleted with a typed cause, a packet hit a trap, a volume limit
 * was reached, the time is now), commands come out (`nextCommand()`), and the one deadline it waits for is
 * `nextDeadlineMs()`. No timers, no sockets: the daemon carries the commands out and drives the clock.
 */
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';
import type { SaEndCause } from '../ike/events.js';
import type { DaemonConfig, DaemonConnection } from './config-map.js';
import type { ChildRef } from './reqid-registry.js';

/** Pause between two keying tries of a connection (strongSwan retries at once; a second spares the peer). */
export const KEYING_RETRY_MS = 1000;

export type ActionCommand =
  /** Initiate `children` of `conn` (all when undefined), on its IKE_SA or a new one. */
  | {
      readonly kind: 'initiate';
      readonly conn: string;
      readonly children: readonly string[] | undefined;
      /** A keying retry: the attempt count goes on instead of starting at 1. */
      readonly retry: boolean;
      /** For logs: `start_action`, `close_action`, `keyingtries`, `acquire`, ... */
      readonly why: string;
    }
  | { readonly kind: 'trap'; readonly conn: string; readonly child: string }
  | { readonly kind: 'rekeyChild'; readonly childSaId: number }
  | { readonly kind: 'expireChild'; readonly childSaId: number };

interface Attempt {
  readonly conn: string;
  readonly children: readonly string[] | undefined;
  readonly attempt: number;
}

export class ConnectionActions {
  readonly #config: () => DaemonConfig;
  readonly #log: Logger;
  /** IKE_SAs we initiated that are not established yet, for keyingtries. */
  readonly #initiated = new Map<number, Attempt>();
  /** The latest attempt per connection, so a retry counts on from it. */
  readonly #latest = new Map<string, Attempt>();
  #retries: { readonly atMs: number; readonly attempt: Attempt }[] = [];
  readonly #commands: ActionCommand[] = [];
  #stopped = false;

  constructor(config: () => DaemonConfig, log: Logger) {
    this.#config = config;
    this.#log = log;
  }

  nextCommand(): ActionCommand | undefined {
    return this.#commands.shift();
  }

  /** The earliest keying retry, if any. */
  nextDeadlineMs(): number | undefined {
    let next: number | undefined;
    for (const r of this.#retries) if (next === undefined || r.atMs < next) next = r.atMs;
    return next;
  }

  handleTimer(nowMs: number): void {
    const due = this.#retries.filter((r) => r.atMs <= nowMs);
    this.#retries = this.#retries.filter((r) => r.atMs > nowMs);
    for (const { attempt: a } of due)
      this.#commands.push({ kind: 'initiate', conn: a.conn, children: a.children, retry: true, why: 'keyingtries' });
  }

  /** start_action: trap policies first, then the children to start. */
  startActions(): void {
    for (const conn of this.#config().connections) {
      for (const [name, ch] of conn.children)
        if (ch.startAction.includes('trap')) this.#commands.push({ kind: 'trap', conn: conn.ike.name, child: name });
      for (const [name, ch] of conn.children)
        if (ch.startAction.includes('start'))
          this.#commands.push({
            kind: 'initiate',
            conn: conn.ike.name,
            children: [name],
            retry: false,
            why: 'start_action',
          });
    }
  }

  /** A new IKE_SA was initiated for `conn`. */
  initiated(ikeSaId: number, conn: string, children: readonly string[] | undefined, retry: boolean): void {
    const previous = this.#latest.get(conn);
    const a: Attempt = { conn, children, attempt: retry && previous !== undefined ? previous.attempt + 1 : 1 };
    this.#initiated.set(ikeSaId, a);
    this.#latest.set(conn, a);
  }

  established(ikeSaId: number): void {
    this.#initiated.delete(ikeSaId);
  }

  /**
   * An IKE_SA is gone. One we initiated that never came up is tried again, up to keyingtries attempts in
   * all (0: for ever), unless authentication failed or we ended it ourselves. An established one the peer
   * deleted gets close_action, one whose peer stopped answering dpd_action.
   */
  ikeSaDeleted(ikeSaId: number, conn: string, cause: SaEndCause, reason: string, nowMs: number): void {
    const a = this.#initiated.get(ikeSaId);
    this.#initiated.delete(ikeSaId);
    if (this.#stopped) return;
    if (a !== undefined) {
      this.#retry(a, cause, reason, nowMs);
      return;
    }
    if (cause === 'peerDeleted') this.#afterLoss(conn, undefined, 'close');
    else if (cause === 'peerDead') this.#afterLoss(conn, undefined, 'dpd');
  }

  /** A CHILD_SA is gone; one the peer deleted while its IKE_SA stays up gets close_action for itself alone. */
  childSaDeleted(ref: ChildRef, cause: SaEndCause, ikeSaUp: boolean): void {
    if (!this.#stopped && cause === 'peerDeleted' && ikeSaUp) this.#afterLoss(ref.conn, ref.child, 'close');
  }

  /** A packet hit the trap policy of `ref`. */
  acquire(ref: ChildRef): void {
    this.#log.log('knl', LogLevel.CONTROL, `acquire for ${ref.conn}/${ref.child}`);
    this.#commands.push({ kind: 'initiate', conn: ref.conn, children: [ref.child], retry: false, why: 'acquire' });
  }

  /** A byte or packet limit of a CHILD_SA: soft rekeys it, hard deletes it. */
  expire(childSaId: number, hard: boolean): void {
    this.#commands.push({ kind: hard ? 'expireChild' : 'rekeyChild', childSaId });
  }

  /** No more commands: the daemon is stopping. */
  stop(): void {
    this.#stopped = true;
    this.#retries = [];
    this.#commands.length = 0;
  }

  #retry(a: Attempt, cause: SaEndCause, reason: string, nowMs: number): void {
    const conn = this.#connection(a.conn);
    if (conn === undefined || cause === 'authFailed' || cause === 'local') return;
    const tries = conn.source.keyingtries;
    if (tries !== 0 && a.attempt >= tries) {
      if (tries > 1) this.#log.log('ike', LogLevel.AUDIT, `${a.conn}: giving up after ${a.attempt} keying tries`);
      return;
    }
    const of = tries ? ` of ${tries}` : '';
    this.#log.log('ike', LogLevel.CONTROL, `${a.conn}: keying try ${a.attempt + 1}${of} in 1 s (${reason})`);
    this.#retries.push({ atMs: nowMs + KEYING_RETRY_MS, attempt: a });
  }

  /** `start` (close_action) or `restart` (dpd_action) initiates again; `trap` (re)installs the trap policy. */
  #afterLoss(connName: string, childName: string | undefined, why: 'close' | 'dpd'): void {
    const conn = this.#connection(connName);
    if (conn === undefined) return;
    const restart: string[] = [];
    for (const [name, ch] of conn.children) {
      if (childName !== undefined && name !== childName) continue;
      const action = why === 'close' ? ch.closeAction : ch.dpdAction;
      if (action === 'start' || action === 'restart') restart.push(name);
      else if (action === 'trap') this.#commands.push({ kind: 'trap', conn: connName, child: name });
    }
    if (restart.length === 0) return;
    this.#log.log('ike', LogLevel.CONTROL, `${why}_action: initiating ${connName} (${restart.join(', ')}) again`);
    this.#commands.push({ kind: 'initiate', conn: connName, children: restart, retry: false, why: `${why}_action` });
  }

  #connection(name: string): DaemonConnection | undefined {
    return this.#config().connections.find((c) => c.ike.name === name);
  }
}
