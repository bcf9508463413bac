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

/** The arguments of `ip route replace PREFIX dev DEV [table T] [src S] [mtu M]`. */
export function addRouteArgs(prefix: string, dev: string, options: RouteOptions = {}): string[] {
  const args = ['route', 'replace', prefix, 'dev', dev];
  if (options.table !== undefined) args.push('table', String(options.table));
  if (options.src !== undefined) args.push('src', options.src);
  if (options.mtu !== undefined) args.push('mtu', String(options.mtu));
  return args;
}

/** The arguments of `ip route del PREFIX dev DEV [table T]`. */
export function deleteRouteArgs(prefix: string, dev: string, options: RouteOptions = {}): string[] {
  const args = ['route', 'del', prefix, 'dev', dev];
  if (options.table !== undefined) args.push('table', String(options.table));
  return args;
}

export function addRoute(prefix: string, dev: string, options: RouteOptions = {}): Promise<string> {
  return ip(addRouteArgs(prefix, dev, options), options);
}

export function deleteRoute(prefix: string, dev: string, options: RouteOptions = {}): Promise<string> {
  return ip(deleteRouteArgs(prefix, dev, options), options);
}

/** Commands per `ip -batch` process at most. */
const MAX_BATCH = 512;

/**
 * `ip` commands that come together run in one `ip -force -batch -` process, each still with its own outcome:
 * starting a process costs milliseconds of the event loop (more than the command), which made route changes
 * the largest cost of a CHILD_SA when many peers connect at once. Commands given in one turn of the event loop,
 * or while a batch runs, go in the next batch, in order.
 */
export class IpBatcher {
  readonly #options: IpCommandOptions;
  #pending: { args: readonly string[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  #running = false;

  constructor(options: IpCommandOptions = {}) {
    this.#options = options;
  }

  /** Runs `ip ARGS...` in a batch; rejects with the command and what `ip` said about it. */
  run(args: readonly string[]): Promise<void> {
    if (args.some((a) => /[\s"'\\#]/.test(a) || a === '')) return ip(args, this.#options).then(() => undefined); // not expressible as a batch line
    return new Promise((resolve, reject) => {
      this.#pending.push({ args, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, MAX_BATCH);
      const failures = await ipBatch(
        batch.map((b) => b.args),
        this.#options,
      );
      batch.forEach((b, i) => {
        const why = failures.get(i + 1);
        if (why === undefined) b.resolve();
        else b.reject(new IoError(`ip ${b.args.join(' ')}: ${why}`, 0));
      });
    }
    this.#running = false;
  }
}

/**
 * Runs the commands with `ip -force -batch -`; returns why each failed command failed, by line number (from 1).
 * ip prints a command's errors and then `Command failed -:LINE`.
 */
export function ipBatch(commands: readonly (readonly string[])[], options: IpCommandOptions = {}) {
  const full = [...(options.netns !== undefined ? ['-n', options.netns] : []), '-force', '-batch', '-'];
  return new Promise<Map<number, string>>((resolve) => {
    const child = execFile('ip', full, { timeout: 30_000 }, (err, _stdout, stderr) => {
      const failures = parseBatchErrors(stderr);
      if (err !== null && failures.size === 0) {
        // ip itself did not run (or timed out): every command failed for that reason.
        const why = stderr.trim() || err.message;
        for (let i = 1; i <= commands.length; i++) failures.set(i, why);
      }
      resolve(failures);
    });
    child.stdin?.on('error', () => undefined); // ip missing: the callback reports it
    child.stdin?.end(commands.map((c) => `${c.join(' ')}\n`).join(''));
  });
}

/** `Command failed -:LINE` closes the error lines of the command on LINE. */
export function parseBatchErrors(stderr: string): Map<number, string> {
  const failures = new Map<number, string>();
  let lines: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^Command failed (?:-|\S+):(\d+)\s*$/.exec(line);
    if (m?.[1] !== undefined) {
      failures.set(Number(m[1]), lines.join('; ') || 'failed');
      lines = [];
    } else if (line.trim() !== '') lines.push(line.trim());
  }
  return failures;
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
