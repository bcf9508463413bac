/**
 * From negotiated IKEv2 traffic selectors (RFC 7296 3.13.1: type, IP protocol, start/end port, start/end
 * address) to the kernel boundary's selector pairs. RFC 7296 2.9: the SA carries every combination of one
 * TSi and one TSr, so a CHILD_SA with n local and m remote selectors gives n * m pairs.
 */

import { formatIpAddress } from '../common/ip.js';
import type { PortSelectorInput, SelectorInput } from '../spd/selector.js';

/** ICMP, ICMPv6 and MH carry type/code instead of ports (RFC 4301 4.4.1.1). */
const TYPE_CODE_PROTOCOLS: ReadonlySet<number> = new Set([1, 58, 135]);
const ANY_START = 0;
const ANY_END = 0xffff;

/** The fields of an IKEv2 traffic selector this module needs (structurally compatible with the codec's). */
export interface TsLike {
  readonly ipProtocol: number;
  readonly startPort: number;
  readonly endPort: number;
  readonly startAddr: Uint8Array;
  readonly endAddr: Uint8Array;
}

function portOf(ts: TsLike): PortSelectorInput {
  return { start: ts.startPort, end: ts.endPort };
}

function isAnyPort(ts: TsLike): boolean {
  return ts.startPort === ANY_START && ts.endPort === ANY_END;
}

/**
 * One selector pair from a local and a remote TS. The protocol is the one both name (0 = any on either
 * side defers to the other). Returns undefined when the two name different protocols or families, which
 * no narrowing should produce.
 */
export function selectorFromTs(local: TsLike, remote: TsLike): SelectorInput | undefined {
  if (local.startAddr.length !== remote.startAddr.length) return undefined;
  const lp = local.ipProtocol;
  const rp = remote.ipProtocol;
  if (lp !== 0 && rp !== 0 && lp !== rp) return undefined;
  const protocol = lp !== 0 ? lp : rp;
  const base = {
    local: `${formatIpAddress(local.startAddr, 0, local.startAddr.length)}-${formatIpAddress(local.endAddr, 0, local.endAddr.length)}`,
    remote: `${formatIpAddress(remote.startAddr, 0, remote.startAddr.length)}-${formatIpAddress(remote.endAddr, 0, remote.endAddr.length)}`,
  };
  if (protocol === 0) return base;
  if (TYPE_CODE_PROTOCOLS.has(protocol)) {
    // The 16-bit type/code selector is matched as the local port (src/spd/selector.ts). Peers differ in
    // which TS carries it; take the local one unless it is ANY, then the remote one.
    const typeCode = !isAnyPort(local) || rp === 0 ? portOf(local) : portOf(remote);
    return { ...base, protocol, localPort: typeCode, remotePort: 'any' };
  }
  return {
    ...base,
    protocol,
    localPort: lp === 0 ? 'any' : portOf(local),
    remotePort: rp === 0 ? 'any' : portOf(remote),
  };
}

/** Every (local, remote) combination (RFC 7296 2.9); pairs that cannot exist are left out. */
export function selectorsFromTs(locals: readonly TsLike[], remotes: readonly TsLike[]): SelectorInput[] {
  const out: SelectorInput[] = [];
  for (const l of locals) {
    for (const r of remotes) {
      const s = selectorFromTs(l, r);
      if (s !== undefined) out.push(s);
    }
  }
  return out;
}
