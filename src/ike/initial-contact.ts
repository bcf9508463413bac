/**
 * INITIAL_CONTACT (RFC 7296 2.4): "this IKE_SA is the only one between these two authenticated identities".
 * An initiator says so in its first IKE_AUTH to a peer, i.e. when it holds no other live IKE_SA between the
 * same identities (a restarted daemon holds none); the receiver then drops every older IKE_SA between the
 * pair, with their CHILD_SAs, without a DELETE (the peer has forgotten them).
 */
import type { ConnectionConfig } from './config.js';
import { decodeIdentity, identityMatches } from './identity.js';
import type { IkeSa } from './sa.js';
import { IkeSaState } from './sa-state.js';

type WireId = { readonly type: number; readonly data: Buffer } | undefined;

const LIVE: ReadonlySet<IkeSaState> = new Set<IkeSaState>([
  IkeSaState.ESTABLISHED,
  IkeSaState.REKEYING,
  IkeSaState.REKEYED,
  IkeSaState.DELETING,
]);

function localIdOf(sa: IkeSa): WireId {
  return sa.initiator ? sa.idI : sa.idR;
}

function peerIdOf(sa: IkeSa): WireId {
  return sa.initiator ? sa.idR : sa.idI;
}

function sameId(a: WireId, b: WireId): boolean {
  return a !== undefined && b !== undefined && a.type === b.type && a.data.equals(b.data);
}

/**
 * Whether an initiator about to send IKE_AUTH for `sa` already has a live IKE_SA with that peer: our identity
 * equal, the peer's identity matching the configured remote one (and, for `%any`, the same peer address).
 */
export function hasContact(all: Iterable<IkeSa>, sa: IkeSa, conn: ConnectionConfig): boolean {
  const mine = localIdOf(sa);
  for (const other of all) {
    if (other === sa || !LIVE.has(other.state) || !sameId(localIdOf(other), mine)) continue;
    const id = peerIdOf(other);
    const peer = id === undefined ? undefined : decodeIdentity(id.type, id.data);
    if (peer === undefined || !identityMatches(conn.remoteId, peer)) continue;
    if (conn.remoteId.type === 'any' && other.remote.address !== sa.remote.address) continue;
    return true;
  }
  return false;
}

/** The other IKE_SAs between the same two identities as the just authenticated `sa` (to be dropped). */
export function replacedByInitialContact(all: Iterable<IkeSa>, sa: IkeSa): IkeSa[] {
  const mine = localIdOf(sa);
  const peer = peerIdOf(sa);
  const out: IkeSa[] = [];
  for (const other of all)
    if (other !== sa && LIVE.has(other.state) && sameId(localIdOf(other), mine) && sameId(peerIdOf(other), peer))
      out.push(other);
  return out;
}
