/**
 * One virtual IP address pool (swanctl.conf `pools.<name>.addrs`), sans-I/O: leases by identity, as strongSwan's
 * in-memory pools do. An identity that comes back gets its address again (the lease is kept after release and
 * reused while no one else took it); addresses never handed out go first, then the oldest released lease of another
 * identity. Every operation is O(1) (maps and a counter), whatever the pool's size.
 *
 *   const pool = createAddressPool({ name: 'rw', addrs: '198.51.100.128/25' });
 *   const r = pool.acquire('carol@example.org');   // { ok: true, address: '198.51.100.129' }
 *   pool.release('carol@example.org', r.address);  // offline, kept for carol
 */
import { formatAddress, parseAddress } from '../ike/traffic-selectors.js';

/** Largest pool handed out (strongSwan caps its pools the same way: an IPv6 /64 is usable, just not all of it). */
export const MAX_POOL_SIZE = 2 ** 31;

export type PoolFamily = 4 | 6;

/** How a pool was given: `addrs` as a prefix (`198.51.100.128/25`) or a range (`198.51.100.10-198.51.100.20`). */
export interface AddressPoolSpec {
  readonly name: string;
  readonly addrs: string;
}

export type AcquireResult =
  | { readonly ok: true; readonly address: string; readonly reused: boolean }
  | { readonly ok: false; readonly reason: 'exhausted' };

export type LeaseStatus = 'online' | 'offline';

export interface Lease {
  readonly address: string;
  readonly identity: string;
  readonly status: LeaseStatus;
}

export interface PoolUsage {
  readonly name: string;
  readonly family: PoolFamily;
  /** First and last address handed out. */
  readonly first: string;
  readonly last: string;
  readonly size: number;
  readonly online: number;
  readonly offline: number;
}

export class PoolSpecError extends Error {
  override readonly name = 'PoolSpecError';
}

/** The first address and number of addresses of `addrs`; a prefix of more than two addresses loses both ends. */
export function parsePoolRange(addrs: string): { family: PoolFamily; base: bigint; size: number } {
  const text = addrs.trim();
  let from: Buffer | undefined;
  let size: bigint;
  if (text.includes('-')) {
    const [a, b] = text.split('-').map((x) => parseAddress(x.trim()));
    if (a === undefined || b === undefined || a.length !== b.length)
      throw new PoolSpecError(`'${addrs}' is not an address range (write FROM-TO with two addresses of one family)`);
    from = a;
    size = toBigInt(b) - toBigInt(a) + 1n;
    if (size <= 0n) throw new PoolSpecError(`'${addrs}': the range ends before it starts`);
  } else {
    const [addr, prefix, extra] = text.split('/');
    from = addr === undefined ? undefined : parseAddress(addr);
    const bits = prefix === undefined ? NaN : Number(prefix);
    if (from === undefined || extra !== undefined || !/^\d{1,3}$/.test(prefix ?? '') || bits > from.length * 8)
      throw new PoolSpecError(`'${addrs}' is not a prefix or range (write e.g. 198.51.100.128/25 or FROM-TO)`);
    const hostBits = BigInt(from.length * 8 - bits);
    const mask = (1n << hostBits) - 1n;
    // As strongSwan: a prefix whose address has host bits set starts at that address.
    const start = toBigInt(from);
    const network = start & ~mask;
    size = (1n << hostBits) - (start - network);
    // Neither the network nor the broadcast address of a subnet is handed out.
    if (start === network && size > 2n) {
      from = fromBigInt(start + 1n, from.length);
      size -= 2n;
    } else if (start !== network && size > 1n) size -= 1n;
  }
  const family: PoolFamily = from.length === 4 ? 4 : 6;
  return { family, base: toBigInt(from), size: Number(size > BigInt(MAX_POOL_SIZE) ? BigInt(MAX_POOL_SIZE) : size) };
}

function toBigInt(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function fromBigInt(v: bigint, length: number): Buffer {
  const out = Buffer.alloc(length);
  let x = v;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

export class AddressPool {
  readonly name: string;
  readonly family: PoolFamily;
  readonly size: number;
  private readonly base: bigint;
  private readonly length: number;
  /** Offsets below this were handed out at least once. */
  private nextUnused = 0;
  /** Online leases: offset -> identity and how many IKE_SAs hold it. */
  private readonly online = new Map<number, { identity: string; refs: number }>();
  /** The lease of each identity (online or offline). */
  private readonly byIdentity = new Map<string, number>();
  /** Offline leases in release order (oldest first): offset -> identity. */
  private readonly offline = new Map<number, string>();

  constructor(spec: AddressPoolSpec) {
    const r = parsePoolRange(spec.addrs);
    this.name = spec.name;
    this.family = r.family;
    this.base = r.base;
    this.size = r.size;
    this.length = r.family === 4 ? 4 : 16;
  }

  /** Whether `address` lies inside the pool. */
  contains(address: string): boolean {
    return this.offsetOf(address) !== undefined;
  }

  /**
   * An address for `identity`: its own lease when it has one (shared when still online), else an address never
   * handed out, else the oldest released lease of another identity; `exhausted` when every address is online.
   */
  acquire(identity: string): AcquireResult {
    const own = this.byIdentity.get(identity);
    if (own !== undefined) {
      const held = this.online.get(own);
      if (held !== undefined) held.refs++;
      else {
        this.offline.delete(own);
        this.online.set(own, { identity, refs: 1 });
      }
      return { ok: true, address: this.addressAt(own), reused: true };
    }
    let offset: number | undefined;
    if (this.nextUnused < this.size) offset = this.nextUnused++;
    else {
      const oldest = this.offline.entries().next();
      if (oldest.done === true) return { ok: false, reason: 'exhausted' };
      const [o, previous] = oldest.value;
      this.offline.delete(o);
      this.byIdentity.delete(previous);
      offset = o;
    }
    this.online.set(offset, { identity, refs: 1 });
    this.byIdentity.set(identity, offset);
    return { ok: true, address: this.addressAt(offset), reused: false };
  }

  /** One holder of `address` is gone; the last one makes the lease offline (still reserved for `identity`). */
  release(identity: string, address: string): boolean {
    const offset = this.offsetOf(address);
    if (offset === undefined) return false;
    const held = this.online.get(offset);
    if (held === undefined || held.identity !== identity) return false;
    if (--held.refs > 0) return true;
    this.online.delete(offset);
    this.offline.set(offset, identity);
    return true;
  }

  /** Every lease, online first, each group in address order. */
  leases(): Lease[] {
    const online = [...this.online].sort((a, b) => a[0] - b[0]);
    const offline = [...this.offline].sort((a, b) => a[0] - b[0]);
    return [
      ...online.map(([o, h]) => ({ address: this.addressAt(o), identity: h.identity, status: 'online' as const })),
      ...offline.map(([o, id]) => ({ address: this.addressAt(o), identity: id, status: 'offline' as const })),
    ];
  }

  usage(): PoolUsage {
    return {
      name: this.name,
      family: this.family,
      first: this.addressAt(0),
      last: this.addressAt(this.size - 1),
      size: this.size,
      online: this.online.size,
      offline: this.offline.size,
    };
  }

  private addressAt(offset: number): string {
    return formatAddress(fromBigInt(this.base + BigInt(offset), this.length));
  }

  private offsetOf(address: string): number | undefined {
    const a = parseAddress(address);
    if (a === undefined || a.length !== this.length) return undefined;
    const d = toBigInt(a) - this.base;
    return d >= 0n && d < BigInt(this.size) ? Number(d) : undefined;
  }
}

/** A pool from its spec; throws PoolSpecError when `addrs` is not a prefix or range. */
export function createAddressPool(spec: AddressPoolSpec): AddressPool {
  return new AddressPool(spec);
}
