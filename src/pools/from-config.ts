/** The pools of a parsed swanctl.conf (src/config) as the IKE engine's VirtualIpPools. */
import type { AddressPoolConfig } from '../config/swanctl-model.js';
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';
import { VirtualIpPools } from './virtual-ip-pools.js';

export function poolsFromConfig(pools: readonly AddressPoolConfig[]): VirtualIpPools {
  const made = new VirtualIpPools(
    pools.map((p) => ({
      name: p.name,
      addrs: p.addrs,
      dns: p.dns.map((d) => d.address),
      splitInclude: p.splitInclude,
    })),
  );
  keys.set(made, poolsKey(pools));
  return made;
}

/** What makes two pool sections the same pools (leases carry over a reload only then). */
function poolsKey(pools: readonly AddressPoolConfig[]): string {
  return JSON.stringify(pools.map((p) => [p.name, p.addrs, p.dns.map((d) => d.address), p.splitInclude]));
}

const keys = new WeakMap<VirtualIpPools, string>();

/**
 * A reload: the pools keep their leases when the pools section did not change, else they are replaced in place
 * (the engine holds them) and the old leases are forgotten; addresses online stay with their IKE_SAs until they go.
 */
export function reloadPools(current: VirtualIpPools, pools: readonly AddressPoolConfig[], log: Logger): void {
  const key = poolsKey(pools);
  if (keys.get(current) === key) return;
  current.replace(
    pools.map((p) => ({
      name: p.name,
      addrs: p.addrs,
      dns: p.dns.map((d) => d.address),
      splitInclude: p.splitInclude,
    })),
  );
  keys.set(current, key);
  log.log('cfg', LogLevel.AUDIT, `pools changed: ${pools.length} pool(s) loaded, earlier leases forgotten`);
}
