/**
 * The daemon's remote-access state in one place: the gateway's virtual IP pools (handed to the engine, kept or
 * replaced on reload, listed by `tsipsec pools`) and the client's virtual IPs and DNS servers (virtual-ips.ts).
 */
import type { Logger } from '../common/log.js';
import type { PoolInfo } from '../control/schema.js';
import { poolsFromConfig, reloadPools } from '../pools/from-config.js';
import type { VirtualIpPools } from '../pools/virtual-ip-pools.js';
import type { DaemonConfig } from './config-map.js';
import type { DaemonIo } from './daemon-io.js';
import { listPools } from './control-views.js';
import { VirtualIps } from './virtual-ips.js';

export class RemoteAccess {
  readonly pools: VirtualIpPools;
  readonly vips: VirtualIps;
  readonly #log: Logger;

  constructor(io: DaemonIo, dev: string, log: Logger, config: DaemonConfig) {
    this.pools = poolsFromConfig(config.pools);
    this.vips = new VirtualIps(io, dev, log);
    this.#log = log;
  }

  reload(config: DaemonConfig): void {
    reloadPools(this.pools, config.pools, this.#log);
  }

  list(config: DaemonConfig): { pools: PoolInfo[] } {
    return listPools(this.pools, config);
  }
}
