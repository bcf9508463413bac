/**
 * Which configured connection answers a peer, as responder. A connection is a candidate only when both
 * outer addresses of the request lie in its `local_addrs` and `remote_addrs`; at IKE_AUTH its identities
 * must match too. Candidates are ranked the way strongSwan ranks its configurations (backend_manager):
 *
 *   address quality   an exact address (129) beats a subnet (prefix + 1), which beats a range that is no
 *                     subnet (2), which beats %any (1); 0 is no match. The remote address weighs a little
 *                     more than the local one (5 : 4), so a connection for this peer beats one for this
 *                     local address.
 *   identity quality  an exact identity (20) beats %any (1), for the peer's identity and for the identity
 *                     it asked us to be (IDr).
 *
 * The best address match comes first, identities break ties, and the configuration order breaks the rest.
 */
import type { AddressMatch, ConnectionConfig, IkeIdentity } from './config.js';
import { identityMatches } from './identity.js';
import { parseAddress } from './traffic-selectors.js';

/** Quality of an address match (strongSwan's ike_cfg match values). */
export const AddressQuality = {
  NONE: 0,
  ANY: 1,
  RANGE: 2,
  /** An exact address: one more than the longest prefix. */
  EXACT: 129,
} as const;

/** Quality of an identity match (strongSwan's id_match_t values for the cases this engine knows). */
export const IdentityQuality = {
  NONE: 0,
  ANY: 1,
  PERFECT: 20,
} as const;

/** Weights of the two addresses in the combined address score (strongSwan's MATCH_ME and MATCH_OTHER). */
const LOCAL_WEIGHT = 4;
const REMOTE_WEIGHT = 5;

function compareBytes(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

function inPrefix(addr: Buffer, net: Buffer, prefix: number): boolean {
  if (addr.length !== net.length || prefix < 0 || prefix > addr.length * 8) return false;
  const whole = Math.floor(prefix / 8);
  if (!addr.subarray(0, whole).equals(net.subarray(0, whole))) return false;
  const rest = prefix % 8;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((addr[whole] ?? 0) & mask) === ((net[whole] ?? 0) & mask);
}

/** How well `address` (a literal) matches one item of local_addrs / remote_addrs. */
export function addressItemQuality(item: AddressMatch, address: Buffer): number {
  switch (item.kind) {
    case 'any':
      return item.family === undefined || item.family === (address.length === 4 ? 4 : 6)
        ? AddressQuality.ANY
        : AddressQuality.NONE;
    case 'address': {
      const a = parseAddress(item.address);
      return a !== undefined && a.equals(address) ? AddressQuality.EXACT : AddressQuality.NONE;
    }
    case 'subnet': {
      const net = parseAddress(item.address);
      return net !== undefined && inPrefix(address, net, item.prefix) ? item.prefix + 1 : AddressQuality.NONE;
    }
    case 'range': {
      const from = parseAddress(item.from);
      const to = parseAddress(item.to);
      if (from === undefined || to === undefined || from.length !== address.length || to.length !== address.length)
        return AddressQuality.NONE;
      return compareBytes(from, address) <= 0 && compareBytes(address, to) <= 0
        ? AddressQuality.RANGE
        : AddressQuality.NONE;
    }
    case 'dns':
      return AddressQuality.NONE;
  }
}

/** The best quality over a list (an empty list is %any). */
export function addressListQuality(items: readonly AddressMatch[], address: string): number {
  if (items.length === 0) return AddressQuality.ANY;
  const a = parseAddress(address);
  if (a === undefined) return AddressQuality.NONE;
  let best: number = AddressQuality.NONE;
  for (const item of items) best = Math.max(best, addressItemQuality(item, a));
  return best;
}

/** Combined address score of a connection for a request from `remote` to `local`; 0 when either misses. */
export function addressScore(conn: ConnectionConfig, local: string, remote: string): number {
  const l = addressListQuality(conn.localAddrs, local);
  const r = addressListQuality(conn.remoteAddrs, remote);
  return l === 0 || r === 0 ? 0 : l * LOCAL_WEIGHT + r * REMOTE_WEIGHT;
}

/** How well a received identity matches a configured one (0 = no match). */
export function identityQuality(configured: IkeIdentity, received: IkeIdentity | undefined): number {
  if (configured.type === 'any') return IdentityQuality.ANY;
  if (received === undefined) return IdentityQuality.ANY;
  return identityMatches(configured, received) ? IdentityQuality.PERFECT : IdentityQuality.NONE;
}

interface Ranked {
  readonly conn: ConnectionConfig;
  readonly address: number;
  readonly identity: number;
  readonly order: number;
}

function ranked(list: Ranked[]): ConnectionConfig[] {
  return list.sort((a, b) => b.address - a.address || b.identity - a.identity || a.order - b.order).map((r) => r.conn);
}

/** IKE_SA_INIT: the connections whose addresses match, best first (the first with a matching proposal wins). */
export function connectionsForInit(
  conns: readonly ConnectionConfig[],
  local: string,
  remote: string,
): ConnectionConfig[] {
  const out: Ranked[] = [];
  conns.forEach((conn, order) => {
    const address = addressScore(conn, local, remote);
    if (address > 0) out.push({ conn, address, identity: 0, order });
  });
  return ranked(out);
}

/**
 * IKE_AUTH: the connections whose addresses and identities match, best first. `peer` is IDi; `wanted` is
 * IDr when the initiator sent one.
 */
export function connectionsForAuth(
  conns: readonly ConnectionConfig[],
  local: string,
  remote: string,
  peer: IkeIdentity,
  wanted: IkeIdentity | undefined,
): ConnectionConfig[] {
  const out: Ranked[] = [];
  conns.forEach((conn, order) => {
    const address = addressScore(conn, local, remote);
    if (address === 0) return;
    const other = identityQuality(conn.remoteId, peer);
    const me = identityQuality(conn.localId, wanted);
    if (other === 0 || me === 0) return;
    out.push({ conn, address, identity: other + me, order });
  });
  return ranked(out);
}
