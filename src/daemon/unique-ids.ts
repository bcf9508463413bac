/**
 * swanctl.conf `unique` for an identity that authenticates again while an IKE_SA of it is up (both sides' ids
 * the same): `replace` deletes the older IKE_SAs, `keep` deletes the new one, `never` and `no` let both live
 * (with `no`, a peer's INITIAL_CONTACT still replaces, RFC 7296 2.4; the engine does that). A peer that logged in
 * with EAP is compared by its EAP identity (swanctl.conf(5), unique), so users sharing an IKE identity stay apart.
 *
 * A second IKE_SA from the same peer address without INITIAL_CONTACT is taken for a make-before-break
 * reauthentication (as strongSwan's `keep` does): both stay, so the peer can move its traffic to the new
 * CHILD_SAs and delete the old IKE_SA itself; if it has not after REAUTH_GRACE_MS, the older one is deleted.
 */
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';
import type { UniquePolicy } from '../config/swanctl-model.js';

/** How long a peer reauthenticating make-before-break has to delete its old IKE_SA before `unique` acts. */
export const REAUTH_GRACE_MS = 30_000;

export interface UniqueCandidate {
  readonly id: number;
  readonly localId: string;
  readonly remoteId: string;
  readonly remoteEapId?: string;
  readonly remoteAddress: string;
}

/** Who the peer is for `unique`: its EAP identity when it has one, else its IKE identity. */
function user(s: UniqueCandidate): string {
  return s.remoteEapId !== undefined ? `EAP:${s.remoteEapId}` : s.remoteId;
}

/** What `unique` decides when `fresh` is established. */
export interface UniqueVerdict {
  /** IKE_SAs to delete now: older duplicates (replace), or `fresh` itself (keep). */
  readonly delete: readonly number[];
  readonly refused: boolean;
  /**
   * Older duplicates from the same address (a reauthentication, most likely): left alone for REAUTH_GRACE_MS;
   * if one is still up then, `replace` deletes it and `keep` deletes `fresh`.
   */
  readonly pending: readonly number[];
}

export function uniqueVictims(
  policy: UniquePolicy,
  fresh: UniqueCandidate,
  established: Iterable<UniqueCandidate>,
): UniqueVerdict {
  if (policy !== 'replace' && policy !== 'keep') return { delete: [], refused: false, pending: [] };
  const older: number[] = [];
  const pending: number[] = [];
  for (const s of established)
    if (s.id !== fresh.id && s.localId === fresh.localId && user(s) === user(fresh))
      (s.remoteAddress === fresh.remoteAddress ? pending : older).push(s.id);
  if (older.length === 0) return { delete: [], refused: false, pending };
  return policy === 'replace'
    ? { delete: older, refused: false, pending }
    : { delete: [fresh.id], refused: true, pending: [] };
}

/** A `unique` decision put off by REAUTH_GRACE_MS. */
interface Pending {
  readonly policy: 'replace' | 'keep';
  readonly label: string;
  readonly fresh: number;
  readonly older: readonly number[];
  readonly atMs: number;
}

/**
 * IKE_SAs the daemon decided to delete while applying the engine's events: for `unique`, and a client's IKE_SA
 * that got no virtual IP (INTERNAL_ADDRESS_FAILURE: no use for it, as strongSwan). They are deleted once the
 * messages that established them have left (`take()` after sending), so the peer never sees DELETE first.
 */
export class DeferredDeletes {
  readonly #log: Logger;
  #ids: number[] = [];
  #pending: Pending[] = [];

  constructor(log: Logger) {
    this.#log = log;
  }

  /** IKE_SA `ikeSaId` of connection `name` (with `policy`) was just established; `all` holds every one up. */
  established(
    policy: UniquePolicy | undefined,
    name: string,
    ikeSaId: number,
    all: ReadonlyMap<number, UniqueCandidate>,
    nowMs: number,
  ): void {
    const fresh = all.get(ikeSaId);
    if (fresh === undefined || policy === undefined) return;
    const r = uniqueVictims(policy, fresh, all.values());
    for (const id of r.delete) {
      const why = r.refused ? 'refused, an IKE_SA of it is up' : `replaces IKE_SA ${name}[${id}]`;
      const what = `unique = ${policy}: '${fresh.remoteEapId ?? fresh.remoteId}' authenticated again as ${name}[${fresh.id}]: ${why}`;
      this.#log.log('ike', LogLevel.AUDIT, what);
      this.#ids.push(id);
    }
    if (r.pending.length > 0 && (policy === 'replace' || policy === 'keep')) {
      const older = r.pending.map((id) => `${name}[${id}]`).join(', ');
      const grace = REAUTH_GRACE_MS / 1000;
      this.#log.log(
        'ike',
        LogLevel.CONTROL,
        `unique = ${policy}: '${fresh.remoteId}' authenticated again from ${fresh.remoteAddress} as ${name}[${fresh.id}]: ` +
          `a reauthentication? ${older} left to the peer to delete for ${grace} s`,
      );
      this.#pending.push({ policy, label: name, fresh: fresh.id, older: r.pending, atMs: nowMs + grace * 1000 });
    }
  }

  noVirtualIp(name: string, ikeSaId: number): void {
    this.#log.log('cfg', LogLevel.AUDIT, `${name}[${ikeSaId}]: no virtual IP assigned, deleting the IKE_SA`);
    this.#ids.push(ikeSaId);
  }

  take(): number[] {
    return this.#ids.splice(0);
  }

  nextDeadlineMs(): number | undefined {
    return this.#pending.length > 0 ? Math.min(...this.#pending.map((p) => p.atMs)) : undefined;
  }

  /** Grace times that ran out with an older IKE_SA still up: `unique` acts now (deleted at the next `take()`). */
  handleTimer(nowMs: number, isUp: (ikeSaId: number) => boolean): void {
    for (const p of this.#pending.filter((x) => x.atMs <= nowMs)) {
      const still = p.older.filter(isUp);
      if (still.length === 0 || !isUp(p.fresh)) continue;
      const victims = p.policy === 'replace' ? still : [p.fresh];
      const what = p.policy === 'replace' ? `replaced by ${p.label}[${p.fresh}]` : 'kept, the newer one refused';
      const grace = REAUTH_GRACE_MS / 1000;
      for (const id of still)
        this.#log.log(
          'ike',
          LogLevel.AUDIT,
          `unique = ${p.policy}: ${p.label}[${id}] still up after ${grace} s: ${what}`,
        );
      this.#ids.push(...victims);
    }
    this.#pending = this.#pending.filter((x) => x.atMs > nowMs);
  }
}
