/**
 * Addresses, routes and policy-routing rules through iproute2's `ip` command (set-up only, never per
 * packet). Chosen over netlink for now: one readable command per step, identical to what an operator types
 * to inspect or undo it. Every call can target a named network namespace (`ip -n NAME`).
 */
import { execFile } from 'node:child_process';
import { IoError } from '../types.js';

export interface IpCommandOptions {
  readonly netns?: string;
}

/** Run `ip [-n NS] ARGS...`; rejects with the command and its stderr on failure. */
export function ip(args: readonly string[], options: IpCommandOptions = {}): Promise<string> {
  const full = options.netns !== undefined ? ['-n', options.netns, ...args] : [...args];
  return new Promise((resolve, reject) => {
    execFile('ip', full, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new IoError(`ip ${full.join(' ')}: ${stderr.trim() || err.message}`, 0));
      else resolve(stdout);
    });
  });
}

/** `ip addr add CIDR dev DEV` (e.g. `198.51.100.1/24`, `2001:db8:1::1/64`). */
export function addAddress(dev: string, cidr: string, options: IpCommandOptions = {}): Promise<string> {
  return ip(['addr', 'add', cidr, 'dev', dev], options);
}

export interface RouteOptions extends IpCommandOptions {
  /** Routing table number (policy routing); main when absent. */
  readonly table?: number;
  /** Preferred source address. */
  readonly src?: string;
  readonly mtu?: number;
}

/** `ip route replace PREFIX dev DEV [table T] [src S] [mtu M]`. */
export function addRoute(prefix: string, dev: string, options: RouteOptions = {}): Promise<string> {
  const args = ['route', 'replace', prefix, 'dev', dev];
  if (options.table !== undefined) args.push('table', String(options.table));
  if (options.src !== undefined) args.push('src', options.src);
  if (options.mtu !== undefined) args.push('mtu', String(options.mtu));
  return ip(args, options);
}

export function deleteRoute(prefix: string, dev: string, options: RouteOptions = {}): Promise<string> {
  const args = ['route', 'del', prefix, 'dev', dev];
  if (options.table !== undefined) args.push('table', String(options.table));
  return ip(args, options);
}

export interface MarkRuleOptions extends IpCommandOptions {
  readonly family: 4 | 6;
  readonly priority?: number;
}

/**
 * The routing-loop guard for selectors that cover the peer (see `udp-endpoint.ts`): unmarked packets look up
 * `table` (where the TUN routes live); packets from the daemon's sockets, marked `mark`, skip it.
 * `ip [-6] rule add not fwmark MARK table TABLE [priority P]`.
 */
export function addUnmarkedRule(mark: number, table: number, options: MarkRuleOptions): Promise<string> {
  const args = unmarkedRuleArgs('add', mark, table, options);
  if (options.priority !== undefined) args.push('priority', String(options.priority));
  return ip(args, options);
}

export function deleteUnmarkedRule(mark: number, table: number, options: MarkRuleOptions): Promise<string> {
  return ip(unmarkedRuleArgs('del', mark, table, options), options);
}

function unmarkedRuleArgs(verb: 'add' | 'del', mark: number, table: number, options: MarkRuleOptions): string[] {
  return [options.family === 6 ? '-6' : '-4', 'rule', verb, 'not', 'fwmark', String(mark), 'table', String(table)];
}
