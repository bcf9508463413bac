/** The pools of a parsed swanctl.conf (src/config) as the IKE engine's VirtualIpPools. */
import type { AddressPoolConfig } from '../config/swanctl-model.js';
import { VirtualIpPools } from './virtual-ip-pools.js';

export function poolsFromConfig(pools: readonly AddressPoolConfig[]): VirtualIpPools {
  return new VirtualIpPools(
    pools.map((p) => ({
      name: p.name,
      addrs: p.addrs,
      dns: p.dns.map((d) => d.address),
      splitInclude: p.splitInclude,
    })),
  );
}
