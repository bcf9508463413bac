/**
 * swanctl.conf `unique` for an identity that authenticates again while an IKE_SA of it is up (both sides' ids
 * the same): `replace` deletes the older IKE_SAs, `keep` deletes the new one, `never` and `no` let both live
 * (with `no`, a peer's INITIAL_CONTACT still replaces, RFC 7296 2.4; the engine does that).
 */
import type { UniquePolicy } from '../config/swanctl-model.js';

export interface UniqueCandidate {
  readonly id: number;
  readonly localId: string;
  readonly remoteId: string;
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
    if (s.id !== fresh.id && s.localId === fresh.localId && s.remoteId === fresh.remoteId) older.push(s.id);
  if (older.length === 0) return { delete: [], refused: false };
  return policy === 'replace' ? { delete: older, refused: false } : { delete: [fresh.id], refused: true };
}
