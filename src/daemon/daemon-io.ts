/**
 * What the daemon needs from the operating system, behind one small interface: the Linux implementation
 * (koffi TUN, raw sockets, UDP, iproute2) for real use, memory twins for tests without root.
 */
import type { Clock, IpFamily, PacketSocket, TunDevice, UdpEndpoint } from '../io/types.js';
import { LinuxTun } from '../io/linux/tun.js';
import { LinuxPacketSocket } from '../io/linux/raw-socket.js';
import { LinuxUdpEndpoint } from '../io/linux/udp-endpoint.js';
import {
  addRouteArgs,
  addUnmarkedRule,
  deleteRouteArgs,
  deleteUnmarkedRule,
  ip,
  IpBatcher,
} from '../io/linux/iproute.js';
import { SystemClock } from '../io/clock.js';
import { installDns } from '../io/linux/dns.js';
import type { DnsInstall } from '../io/linux/dns.js';
import { RouteNetlink, watchAddresses } from '../io/linux/rtnetlink.js';
import { openNftables } from '../io/linux/nftables.js';
import { execFile, spawn } from 'node:child_process';
import { IpProto } from '../common/ip.js';
import { IoError } from '../io/types.js';

export interface DaemonIo {
  readonly clock: Clock;
  /** The TUN device plaintext enters and leaves through. */
  openTun(): TunDevice;
  /** UDP on 500 (IKE) or 4500 (IKE behind the non-ESP marker, and ESP-in-UDP). */
  openUdp(family: IpFamily, port: number): UdpEndpoint;
  /** Raw IP sockets for ESP (50) and AH (51). */
  openRaw(family: IpFamily, protocol: number): PacketSocket;
  /** Route `prefix` into the TUN (with a preferred source address when the local selector is one host). */
  addRoute(prefix: string, dev: string, src?: string): Promise<void>;
  delRoute(prefix: string, dev: string): Promise<void>;
  /** A virtual IP on the TUN (`198.51.100.129/32`, `2001:db8:1::1/128`); undone by delAddress. */
  addAddress(cidr: string, dev: string): Promise<void>;
  delAddress(cidr: string, dev: string): Promise<void>;
  /** DNS servers from the gateway; resolves with where they went, or undefined when this host has no place for them. */
  installDns(servers: readonly string[], dev: string): Promise<DnsInstall | undefined>;
  /**
   * Keeps traffic to `prefix` out of the TUN (a `pass` child: the packets take the main table, in the clear,
   * as the configuration asks). Undone by delBypass.
   */
  addBypass(rule: BypassRule): Promise<void>;
  delBypass(rule: BypassRule): Promise<void>;
  /**
   * Runs nftables' `nft ARGS` (`-f -` reads `script` from standard input, applied as one atomic batch);
   * resolves with its output, rejects with its error (or when nft is not installed).
   */
  nft(args: readonly string[], script?: string): Promise<string>;
  /**
   * The source address the system picks for the daemon's own packets to `destination` (a route lookup with the
   * daemon's mark, as its IKE and ESP packets carry it); undefined when no route reaches it now.
   */
  sourceFor(destination: string): Promise<string | undefined>;
  /** Calls `onChange` whenever this host's addresses change (kernel address events); returns how to stop. */
  watchAddresses(onChange: () => void): () => void;
  /** Installs what routing needs before the first route (policy-routing rules); undone by teardown(). */
  setup(): Promise<void>;
  teardown(): Promise<void>;
}

export interface PortRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Traffic a `pass` child lets through in the clear, as narrow as its selector: destination (remote) prefix,
 * source (local) prefix, protocol (0 any), and the ports of each side (undefined: any).
 */
export interface BypassRule {
  readonly prefix: string;
  readonly local: string;
  readonly protocol: number;
  readonly ports: PortRange | undefined;
  readonly localPorts: PortRange | undefined;
}

function portText(r: PortRange): string {
  return r.start === r.end ? String(r.start) : `${r.start}-${r.end}`;
}

/** A prefix that covers every address of its family (`0.0.0.0/0`, `::/0`). */
export function isAnyPrefix(prefix: string): boolean {
  return /\/0$/.test(prefix);
}

/** A prefix naming one host (`/32`, `/128`). */
function isHostPrefix(prefix: string): boolean {
  return prefix.endsWith(prefix.includes(':') ? '/128' : '/32');
}

/**
 * `ip rule` arguments of a bypass rule, `%` standing for add or del. The local prefix becomes `from` when it
 * is a subnet (forwarded traffic carries its source at lookup). A single host is this host's own address:
 * the kernel looks up a route for a socket that has not bound a source with no source at all, so a `from`
 * would never match its packets; its own traffic is told apart by protocol and ports only.
 */
export function bypassArgs(rule: BypassRule): string[] {
  const args = [rule.prefix.includes(':') ? '-6' : '-4', 'rule', '%'];
  if (!isAnyPrefix(rule.local) && !isHostPrefix(rule.local)) args.push('from', rule.local);
  args.push('to', rule.prefix);
  if (rule.protocol !== 0) args.push('ipproto', String(rule.protocol));
  if (rule.localPorts) args.push('sport', portText(rule.localPorts));
  if (rule.ports) args.push('dport', portText(rule.ports));
  args.push('lookup', 'main', 'priority', String(BYPASS_PRIORITY));
  return args;
}

export interface LinuxIoOptions {
  /** TUN name or pattern (default `tsi%d`). */
  readonly tunName?: string;
  readonly mtu?: number;
  /**
   * Offloads: TUN TSO/USO reads split here and GRO writes, UDP GRO receives of ESP in UDP; default on, `false`
   * for plain packets.
   */
  readonly offload?: boolean;
  /** Firewall mark on every packet the daemon sends itself (IKE, ESP), default 0x7473. */
  readonly mark?: number;
  /** Routing table holding the routes into the TUN, default 220 (as strongSwan). */
  readonly table?: number;
}

export const DEFAULT_MARK = 0x7473;
export const DEFAULT_TABLE = 220;
const RULE_PRIORITY = 220;
/** `pass` children: looked up before the TUN table. */
const BYPASS_PRIORITY = 219;

/**
 * Routes into the TUN live in their own table, consulted only for packets without the daemon's mark
 * (`ip rule add not fwmark MARK table TABLE`). The daemon's own IKE and ESP packets carry the mark, so they
 * use the main table and reach the wire even when the peer's address is inside a protected selector
 * (transport mode, host-to-host tunnels): no routing loop.
 */
export function linuxIo(options: LinuxIoOptions = {}): DaemonIo {
  const mark = options.mark ?? DEFAULT_MARK;
  const table = options.table ?? DEFAULT_TABLE;
  const rules: (4 | 6)[] = [];
  const routes = routeTable(table);
  // In-process when libnftables loads; else an `nft` process per batch.
  const nftables = openNftables();
  return {
    clock: new SystemClock(),
    openTun: () =>
      new LinuxTun({ name: options.tunName ?? 'tsi%d', mtu: options.mtu ?? 1400, offload: options.offload ?? true }),
    openUdp: (family, port) =>
      new LinuxUdpEndpoint({
        family,
        port,
        mark,
        ...(options.offload === false
          ? { udpGro: 'offloads turned off (--no-offload)', udpGso: 'offloads turned off (--no-offload)' }
          : {}),
      }),
    // AH's ICV covers the IPv4 Identification, so IPv4 AH is sent with IP_HDRINCL (our header, our ID).
    openRaw: (family, protocol) =>
      new LinuxPacketSocket({
        family,
        protocol,
        mark,
        ...(family === 4 && protocol === IpProto.AH ? { headerIncluded: true } : {}),
      }),
    addRoute: (prefix, dev, src) => routes.add(prefix, dev, src),
    delRoute: (prefix, dev) => routes.del(prefix, dev),
    addAddress: async (cidr, dev) => {
      // IPv6: no duplicate address detection (the address is ours alone, and usable at once).
      await ip(['addr', 'replace', cidr, 'dev', dev, ...(cidr.includes(':') ? ['nodad'] : [])]);
    },
    delAddress: async (cidr, dev) => {
      await ip(['addr', 'del', cidr, 'dev', dev]);
    },
    installDns,
    addBypass: async (rule) => {
      await ip(bypassArgs(rule).map((a) => (a === '%' ? 'add' : a)));
    },
    delBypass: async (rule) => {
      await ip(bypassArgs(rule).map((a) => (a === '%' ? 'del' : a)));
    },
    nft: (args, script) => (nftables !== undefined ? nftables.run(args, script) : runNft(args, script)),
    sourceFor: async (destination) => {
      const family = destination.includes(':') ? '-6' : '-4';
      const out = await ip([family, '-o', 'route', 'get', destination, 'mark', String(mark)]).catch(() => '');
      return /\bsrc (\S+)/.exec(out)?.[1];
    },
    watchAddresses: (onChange) => watchAddressEvents(onChange),
    setup: async () => {
      for (const family of [4, 6] as const) {
        // A rule left by a daemon that was killed would match twice: remove it first, quietly.
        await deleteUnmarkedRule(mark, table, { family }).catch(() => undefined);
        await addUnmarkedRule(mark, table, { family, priority: RULE_PRIORITY });
        rules.push(family);
      }
    },
    teardown: async () => {
      for (const family of rules.splice(0)) await deleteUnmarkedRule(mark, table, { family }).catch(() => undefined);
      routes.close();
      nftables?.close();
    },
  };
}

/**
 * Routes into the TUN: through rtnetlink (microseconds, while a CHILD_SA's IKE_AUTH answer waits), or, when
 * the kernel refuses a netlink socket, through `ip` processes that CHILD_SAs installed together share.
 */
function routeTable(table: number) {
  let netlink: RouteNetlink | undefined;
  let batcher: IpBatcher | undefined;
  try {
    netlink = RouteNetlink.open();
  } catch {
    batcher = new IpBatcher();
  }
  return {
    add: async (prefix: string, dev: string, src: string | undefined): Promise<void> => {
      if (netlink !== undefined) netlink.replace({ prefix, dev, table, ...(src !== undefined ? { src } : {}) });
      else await batcher?.run(addRouteArgs(prefix, dev, src !== undefined ? { src, table } : { table }));
    },
    del: async (prefix: string, dev: string): Promise<void> => {
      if (netlink !== undefined) netlink.delete({ prefix, dev, table });
      else await batcher?.run(deleteRouteArgs(prefix, dev, { table }));
    },
    close: () => netlink?.close(),
  };
}

/**
 * Address events from rtnetlink in the daemon's own process (nothing outlives it); `ip -o monitor address`
 * when the kernel refuses the socket: one line per address added or removed, each calls `onChange`.
 */
function watchAddressEvents(onChange: () => void): () => void {
  try {
    return watchAddresses(onChange);
  } catch {
    return watchAddressesWithIp(onChange);
  }
}

function watchAddressesWithIp(onChange: () => void): () => void {
  const child = spawn('ip', ['-o', 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
  child.on('error', () => undefined); // no iproute2: no events, addresses are then never followed
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    if (text.trim() !== '') onChange();
  });
  return () => {
    child.kill();
  };
}

function runNft(args: readonly string[], script: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('nft', [...args], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new IoError(`nft ${args.join(' ')}: ${stderr.trim() || err.message}`, 0));
      else resolve(stdout);
    });
    child.stdin?.on('error', () => undefined); // nft missing: the callback reports it
    child.stdin?.end(script ?? '');
  });
}
