/**
 * swanctl.conf `unique` for an identity that authenticates again while an IKE_SA of it is up (both sides' ids
 * the same): `replace` deletes the older IKE_SAs, `keep` deletes the new one, `never` and `no` let both live
 * (with `no`, a peer's INITIAL_CONTACT still replaces, RFC 7296 2.4; the engine does that). A peer that logged in
 * with EAP is compared by its EAP identity (swanctl.conf(5), unique), so users sharing an IKE identity stay apart.
 */
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';
import type { UniquePolicy } from '../config/swanctl-model.js';

export interface UniqueCandidate {
  readonly id: number;
  readonly localId: string;
  readonly remoteId: string;
  readonly remoteEapId?: string;
}

/** Who the peer is for `unique`: its EAP identity when it has one, else its IKE identity. */
function user(s: UniqueCandidate): string {
  return s.remoteEapId !== undefined ? `EAP:${s.remoteEapId}` : s.remoteId;
}

/** The IKE_SAs to delete now that `fresh` is established: older duplicates, or `fresh` itself. */
export function uniqueVictims(
  policy: UniquePolicy,
  fresh: UniqueCandidate,
  established: Iterable<UniqueCandidate>,
): { readonly delete: readonly number[]; readonly refused: boolean } {
  if (policy !== 'replace' && policy !== 'keep') return { delete: [], refused: false };
  const older: number[] = [];
  for (const s of established)
    if (s.id !== fresh.id && s.localId === fresh.localId && user(s) === user(fresh)) older.push(s.id);
  if (older.length === 0) return { delete: [], refused: false };
  return policy === 'replace' ? { delete: older, refused: false } : { delete: [fresh.id], refused: true };
}

/**
 * IKE_SAs the daemon decided to delete while applying the engine's events: for `unique`, and a client's IKE_SA
 * that got no virtual IP (INTERNAL_ADDRESS_FAILURE: no use for it, as strongSwan). They are deleted once the
 * messages that established them have left (`take()` after sending), so the peer never sees DELETE first.
 */
export class DeferredDeletes {
  readonly #log: Logger;
  #ids: number[] = [];

  constructor(log: Logger) {
    this.#log = log;
  }

  /** IKE_SA `ikeSaId` of connection `name` (with `policy`) was just established; `all` holds every one up. */
  established(
    policy: UniquePolicy | undefined,
    name: string,
    ikeSaId: number,
    all: ReadonlyMap<number, UniqueCandidate>,
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
  }

  noVirtualIp(name: string, ikeSaId: number): void {
    this.#log.log('cfg', LogLevel.AUDIT, `${name}[${ikeSaId}]: no virtual IP assigned, deleting the IKE_SA`);
    this.#ids.push(ikeSaId);
  }

  take(): number[] {
    return this.#ids.splice(0);
  }
}
