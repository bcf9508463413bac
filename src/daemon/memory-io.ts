/**
 * The daemon's operating-system boundary on memory twins: a MemoryTun, sockets on a shared MemoryNetwork
 * and a MemoryClock, with routes and bypass rules kept in tables a test can read. Two daemons on one
 * network reach each other without root, and time moves only when the test advances the clock.
 */
import { IpProto } from '../common/ip.js';
import { MemoryClock } from '../io/clock.js';
import type { MemoryNetwork } from '../io/memory-network.js';
import { MemoryTun } from '../io/memory-tun.js';
import type { MemoryTunOptions } from '../io/memory-tun.js';
import { IoError } from '../io/types.js';
import type { IpFamily } from '../io/types.js';
import type { BypassRule, DaemonIo } from './daemon-io.js';

export interface MemoryIoOptions {
  readonly network: MemoryNetwork;
  /** This host's outer addresses; a family without one has no sockets (as a host without IPv6). */
  readonly address4?: string;
  readonly address6?: string;
  readonly clock?: MemoryClock;
  readonly tun?: MemoryTunOptions;
}

export interface MemoryIo extends DaemonIo {
  readonly clock: MemoryClock;
  readonly tun: MemoryTun;
  /** Routes into the TUN: prefix -> preferred source (undefined: none). Adding replaces, as `ip route replace`. */
  readonly routes: Map<string, string | undefined>;
  readonly bypass: BypassRule[];
  /** Addresses on the TUN (virtual IPs), as `ADDRESS/LEN`. */
  readonly addresses: Set<string>;
  /** DNS servers installed, in order (none: empty). */
  readonly dns: string[];
  /** True between setup() and teardown(). */
  readonly isSetUp: boolean;
  /** Every script given to `nft -f -`, in order. */
  readonly nftScripts: string[];
  /** When set, nft fails as when it is not installed. */
  nftMissing: boolean;
  /** The rules of the chains in the order added, by handle, as a batch of `nft -f -` scripts left them. */
  readonly nftRules: Map<number, string>;
  /** The elements of the table's sets, by set name, as the scripts left them. */
  readonly nftElements: Map<string, Set<string>>;
  /** What `nft -j list counter` reports as packets. */
  nftCounterPackets: number;
  /** addRoute calls so far. */
  readonly addRouteCalls: number;
  /** Makes the addRoute call with this number (1 = the first) fail, as a refused `ip route`; undefined: none. */
  failAddRouteAt: number | undefined;
  /**
   * What `sourceFor` answers for a family, as a route lookup would (default: the host's address of that family);
   * set it and call `addressesChanged()` to play an address change.
   */
  readonly sources: Partial<Record<IpFamily, string>>;
  /** Runs the `watchAddresses` callbacks, as a kernel address event does. */
  addressesChanged(): void;
}

/** Where a memory clock starts: the engines read a time of 0 as "not set", as a monotonic clock never shows. */
const CLOCK_START_MS = 1_000;
const ENOENT = 2;
const EINVAL = 22;
const EADDRNOTAVAIL = 99;

function bypassKey(r: BypassRule): string {
  const ports = (p: BypassRule['ports']): string => `${p?.start ?? ''}-${p?.end ?? ''}`;
  return `${r.local}|${r.prefix}|${r.protocol}|${ports(r.localPorts)}|${ports(r.ports)}`;
}

export function memoryIo(options: MemoryIoOptions): MemoryIo {
  const net = options.network;
  const tun = new MemoryTun({ name: 'mtun0', ...options.tun });
  const routes = new Map<string, string | undefined>();
  const bypass: BypassRule[] = [];
  const addresses = new Set<string>();
  const dns: string[] = [];
  let setUp = false;
  let addRouteCalls = 0;
  const nftRules = new Map<number, string>();
  const nftElements = new Map<string, Set<string>>();
  let nftHandle = 0;
  const sources: Partial<Record<IpFamily, string>> = {
    ...(options.address4 !== undefined ? { 4: options.address4 } : {}),
    ...(options.address6 !== undefined ? { 6: options.address6 } : {}),
  };
  const watchers = new Set<() => void>();
  const addressOf = (family: IpFamily): string => {
    const a = family === 4 ? options.address4 : options.address6;
    if (a === undefined) throw new IoError(`no IPv${family} address on this memory host`, EADDRNOTAVAIL);
    return a;
  };
  return {
    clock: options.clock ?? new MemoryClock(CLOCK_START_MS),
    tun,
    routes,
    bypass,
    addresses,
    dns,
    get isSetUp() {
      return setUp;
    },
    get addRouteCalls() {
      return addRouteCalls;
    },
    failAddRouteAt: undefined,
    nftScripts: [],
    nftMissing: false,
    nftCounterPackets: 0,
    nftRules,
    nftElements,
    nft(args, script) {
      if (this.nftMissing) return Promise.reject(new IoError('spawn nft ENOENT', ENOENT));
      if (args[0] === '-j')
        return Promise.resolve(JSON.stringify({ nftables: [{ counter: { packets: this.nftCounterPackets } }] }));
      if (!args.includes('-f')) return Promise.resolve('');
      this.nftScripts.push(script ?? '');
      try {
        const echo = applyNft(nftRules, nftElements, script ?? '', () => ++nftHandle);
        return Promise.resolve(args.includes('--echo') ? echo : '');
      } catch (e) {
        return Promise.reject(e as Error);
      }
    },
    openTun: () => tun,
    openUdp: (family, port) => net.udp(family, addressOf(family), port),
    // As on Linux: IPv4 AH is sent header-included (the ICV covers the Identification).
    openRaw: (family, protocol) =>
      net.raw(family, addressOf(family), protocol, undefined, {
        headerIncluded: family === 4 && protocol === IpProto.AH,
      }),
    addRoute(prefix, dev, src) {
      if (++addRouteCalls === this.failAddRouteAt)
        return Promise.reject(new IoError(`route ${prefix}: refused (fault injected)`, EINVAL));
      if (dev !== tun.name) return Promise.reject(new IoError(`no device ${dev}`, ENOENT));
      routes.set(prefix, src);
      return Promise.resolve();
    },
    delRoute: (prefix) => {
      if (!routes.delete(prefix)) return Promise.reject(new IoError(`no route ${prefix}`, ENOENT));
      return Promise.resolve();
    },
    addAddress: (cidr, dev) => {
      if (dev !== tun.name) return Promise.reject(new IoError(`no device ${dev}`, ENOENT));
      addresses.add(cidr);
      return Promise.resolve();
    },
    delAddress: (cidr) => {
      if (!addresses.delete(cidr)) return Promise.reject(new IoError(`no address ${cidr}`, EADDRNOTAVAIL));
      return Promise.resolve();
    },
    installDns: (servers) => {
      dns.splice(0, dns.length, ...servers);
      const remove = (): Promise<void> => {
        dns.length = 0;
        return Promise.resolve();
      };
      return Promise.resolve({ where: 'memory', remove });
    },
    addBypass: (rule) => {
      bypass.push(rule);
      return Promise.resolve();
    },
    delBypass: (rule) => {
      const i = bypass.findIndex((b) => bypassKey(b) === bypassKey(rule));
      if (i < 0) return Promise.reject(new IoError(`no bypass rule for ${rule.prefix}`, ENOENT));
      bypass.splice(i, 1);
      return Promise.resolve();
    },
    sources,
    sourceFor: (destination) => Promise.resolve(sources[destination.includes(':') ? 6 : 4]),
    watchAddresses: (onChange) => {
      watchers.add(onChange);
      return () => watchers.delete(onChange);
    },
    addressesChanged: () => {
      for (const w of [...watchers]) w();
    },
    setup: () => {
      setUp = true;
      return Promise.resolve();
    },
    teardown: () => {
      setUp = false;
      return Promise.resolve();
    },
  };
}

/**
 * Applies an `nft -f -` script to `rules` and `sets` as nftables would, all or nothing: `add rule` (echoed with
 * its handle), `delete rule ... handle N` (an unknown handle fails the batch), `flush chain` and the table's
 * deletion (both empty the chain, there being one), `add element` / `delete element` (an element not in the set
 * fails the batch) and `flush set`. Returns what `--echo --handle` prints.
 */
function applyNft(
  rules: Map<number, string>,
  sets: Map<string, Set<string>>,
  script: string,
  nextHandle: () => number,
): string {
  const next = new Map(rules);
  const nextSets = new Map([...sets].map(([name, elements]) => [name, new Set(elements)]));
  const set = (name: string): Set<string> => {
    let s = nextSets.get(name);
    if (s === undefined) nextSets.set(name, (s = new Set()));
    return s;
  };
  const echo: string[] = [];
  for (const line of script.split('\n')) {
    const del = /^delete rule .* handle (\d+)$/.exec(line);
    const element = /^(add|delete) element \S+ \S+ (\S+) \{ (.*) \}$/.exec(line);
    if (del !== null) {
      if (!next.delete(Number(del[1]))) throw new IoError(`nft: ${line}: No such file or directory`, ENOENT);
    } else if (element !== null) {
      const [, verb, name = '', list = ''] = element;
      for (const e of list.split(', ')) {
        if (verb === 'add') set(name).add(e);
        else if (!set(name).delete(e)) throw new IoError(`nft: ${line}: No such file or directory`, ENOENT);
      }
    } else if (line.startsWith('flush set ')) {
      set(line.split(' ').at(-1) ?? '').clear();
    } else if (line.startsWith('add rule ')) {
      const h = nextHandle();
      next.set(h, line.replace(/^add rule \S+ \S+ \S+ /, ''));
      echo.push(`${line} # handle ${h}`);
    } else if (line.startsWith('flush chain ')) next.clear();
    else if (line.startsWith('delete table ')) {
      next.clear();
      nextSets.clear();
    }
  }
  rules.clear();
  for (const [h, r] of next) rules.set(h, r);
  sets.clear();
  for (const [name, elements] of nextSets) sets.set(name, elements);
  return echo.map((l) => `${l}\n`).join('');
}
