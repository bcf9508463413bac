/**
 * The named pools of a configuration (swanctl.conf `pools { NAME { addrs, dns, split_include } }`) and what a
 * gateway hands out from them: an address per requested family from the first pool of a connection's `pools` list
 * that has one, and the pools' DNS servers and split-include subnets (RFC 7296 3.15.1). Sans-I/O.
 */
import { AddressPool } from './address-pool.js';
import type { Lease, PoolFamily, PoolUsage } from './address-pool.js';

/** One pool as configured. */
export interface PoolConfig {
  readonly name: string;
  /** `addrs`: a prefix or FROM-TO range. */
  readonly addrs: string;
  /** `dns`: DNS server addresses (either family). */
  readonly dns?: readonly string[];
  /** `split_include`: subnets reachable through the tunnel (prefixes). */
  readonly splitInclude?: readonly string[];
}

export type PoolAcquire =
  | { readonly ok: true; readonly pool: string; readonly address: string; readonly reused: boolean }
  | { readonly ok: false; readonly reason: 'exhausted' | 'noPool' };

/** Attributes handed out with addresses from a set of pools. */
export interface PoolAttributes {
  readonly dns: readonly string[];
  readonly splitInclude: readonly string[];
}

export class VirtualIpPools {
  private readonly pools = new Map<string, { pool: AddressPool; config: PoolConfig }>();

  /** Throws PoolSpecError for an `addrs` that is not a prefix or range. */
  constructor(configs: readonly PoolConfig[]) {
    for (const c of configs) this.pools.set(c.name, { pool: new AddressPool(c), config: c });
  }

  /** Swaps in other pools (a reload that changed the pools section): the leases of the old ones are forgotten. */
  replace(configs: readonly PoolConfig[]): void {
    const next = new VirtualIpPools(configs);
    this.pools.clear();
    for (const [name, p] of next.pools) this.pools.set(name, p);
  }

  has(name: string): boolean {
    return this.pools.has(name);
  }

  /**
   * An address of `family` for `identity` from the first of `names` of that family with a free address:
   * `noPool` when none of them is of that family, `exhausted` when all of those are full.
   */
  acquire(names: readonly string[], identity: string, family: PoolFamily): PoolAcquire {
    let found = false;
    for (const name of names) {
      const p = this.pools.get(name)?.pool;
      if (p === undefined || p.family !== family) continue;
      found = true;
      const r = p.acquire(identity);
      if (r.ok) return { ok: true, pool: name, address: r.address, reused: r.reused };
    }
    return { ok: false, reason: found ? 'exhausted' : 'noPool' };
  }

  /** Give back an address acquired from pool `name`. */
  release(name: string, identity: string, address: string): boolean {
    return this.pools.get(name)?.pool.release(identity, address) ?? false;
  }

  /** The DNS servers and split-include subnets of `names`, in order, without duplicates. */
  attributes(names: readonly string[]): PoolAttributes {
    const dns: string[] = [];
    const splitInclude: string[] = [];
    for (const name of names) {
      const c = this.pools.get(name)?.config;
      for (const d of c?.dns ?? []) if (!dns.includes(d)) dns.push(d);
      for (const s of c?.splitInclude ?? []) if (!splitInclude.includes(s)) splitInclude.push(s);
    }
    return { dns, splitInclude };
  }

  /** Every pool with its usage and leases (for `tsipsec pools`). */
  list(): (PoolUsage & { readonly leases: readonly Lease[] })[] {
    return [...this.pools.values()].map(({ pool }) => ({ ...pool.usage(), leases: pool.leases() }));
  }
}
