/**
 * Virtual IPs of an IKE_SA (RFC 7296 2.19): what we asked for and got (initiator), what we handed out and from which
 * pool (responder), and how `dynamic` traffic selectors resolve once they exist: to the virtual IPs instead of the
 * IKE addresses, and, while an initiator still waits for its address, to the whole address space of each requested
 * family (the responder narrows it to the address it assigns).
 */
import { TsType } from './codec/constants.js';
import type { TrafficSelector } from './codec/types.js';
import type { VirtualIpPools } from '../pools/virtual-ip-pools.js';
import { hostSelector, parseAddress } from './traffic-selectors.js';
import type { IkeSa } from './sa.js';

export type IpFamily = 4 | 6;

/** A pool lease held by an IKE_SA, given back when it goes. */
export interface VipLease {
  readonly pool: string;
  readonly identity: string;
  readonly address: string;
}

export interface VirtualIps {
  /** Initiator: families asked for and not answered yet. */
  requested: IpFamily[];
  /** Our own virtual IPs (assigned by the peer). */
  local: string[];
  /** The peer's virtual IPs (assigned by us). */
  remote: string[];
  /** DNS servers and split-include subnets the peer handed us, or we handed the peer. */
  dns: string[];
  splitInclude: string[];
  /** Responder: the leases behind `remote`. */
  leases: VipLease[];
  /** Responder: no address for the peer (INTERNAL_ADDRESS_FAILURE, FAILED_CP_REQUIRED): no CHILD_SA in IKE_AUTH. */
  failed: boolean;
}

export function virtualIpsOf(sa: IkeSa): VirtualIps {
  sa.vips ??= { requested: [], local: [], remote: [], dns: [], splitInclude: [], leases: [], failed: false };
  return sa.vips;
}

export function familyOf(address: string): IpFamily | undefined {
  const b = parseAddress(address);
  return b === undefined ? undefined : b.length === 4 ? 4 : 6;
}

function anySelector(family: IpFamily): TrafficSelector {
  const length = family === 4 ? 4 : 16;
  return {
    tsType: family === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE,
    ipProtocol: 0,
    startPort: 0,
    endPort: 0xffff,
    startAddr: Buffer.alloc(length),
    endAddr: Buffer.alloc(length, 0xff),
  };
}

function hosts(addresses: readonly string[]): TrafficSelector[] {
  return addresses.flatMap((a) => {
    const b = parseAddress(a);
    return b === undefined ? [] : [hostSelector(b)];
  });
}

/**
 * What `dynamic` stands for on one side of `sa` when virtual IPs are involved, or undefined for the IKE address:
 * our virtual IPs (or, before the answer, the whole space of each family asked for), or the peer's virtual IPs.
 */
export function dynamicSelectors(sa: IkeSa, side: 'local' | 'remote'): TrafficSelector[] | undefined {
  const v = sa.vips;
  if (v === undefined) return undefined;
  if (side === 'remote') return v.remote.length > 0 ? hosts(v.remote) : undefined;
  if (v.local.length > 0) return hosts(v.local);
  if (v.requested.length > 0) return v.requested.map(anySelector);
  return undefined;
}

/** A rekeyed IKE_SA (RFC 7296 2.18) takes over the virtual IPs; its own hold on each lease keeps it online. */
export function inheritVirtualIps(from: IkeSa, to: IkeSa, pools: VirtualIpPools | undefined): void {
  const v = from.vips;
  if (v === undefined) return;
  const leases: VipLease[] = [];
  for (const l of v.leases) {
    const family = familyOf(l.address);
    if (pools === undefined || family === undefined) continue;
    const again = pools.acquire([l.pool], l.identity, family);
    if (again.ok && again.address === l.address) leases.push(l);
  }
  to.vips = { ...v, requested: [], local: [...v.local], remote: [...v.remote], leases };
}

/** Give back the leases of an IKE_SA that goes away (the pool keeps each address for its identity). */
export function releaseVirtualIps(sa: IkeSa, pools: VirtualIpPools | undefined): void {
  const v = sa.vips;
  if (v === undefined || pools === undefined) return;
  for (const l of v.leases.splice(0)) pools.release(l.pool, l.identity, l.address);
}
