/**
 * Network namespaces for the root-only I/O tests: unique names per process and call, veth links, and
 * removal that runs even when a test fails.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** `false` when the test can run, else the reason it is skipped. */
export const rootSkip: false | string = !isRoot
  ? 'needs root (network namespaces, TUN, raw sockets); CI runs as root'
  : !existsSync('/dev/net/tun')
    ? 'needs /dev/net/tun'
    : false;

let counter = 0;

/** A namespace name unique to this process and call: tsi-io-<pid>-<n>. */
export function uniqueName(prefix = 'tsi-io'): string {
  counter++;
  return `${prefix}-${process.pid}-${counter}`;
}

export function sh(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function addNetns(name: string): void {
  sh('ip', ['netns', 'add', name]);
  sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

export function delNetns(name: string): void {
  try {
    sh('ip', ['netns', 'del', name]);
  } catch {
    // Already gone (or never created): nothing to clean.
  }
}

export interface VethPair {
  readonly nsA: string;
  readonly nsB: string;
  readonly a4: string;
  readonly b4: string;
  readonly a6: string;
  readonly b6: string;
}

/**
 * Two fresh namespaces joined by a veth pair: 192.0.2.1/24 and 2001:db8::1/64 in A, .2 and ::2 in B
 * (no duplicate address detection, so IPv6 works at once). The caller removes both with `delNetns`.
 */
export function vethPair(): VethPair {
  const nsA = uniqueName();
  const nsB = uniqueName();
  const ends = { a4: '192.0.2.1', b4: '192.0.2.2', a6: '2001:db8::1', b6: '2001:db8::2' };
  addNetns(nsA);
  addNetns(nsB);
  sh('ip', ['-n', nsA, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', nsB]);
  sh('ip', ['-n', nsA, 'addr', 'add', `${ends.a4}/24`, 'dev', 'veth0']);
  sh('ip', ['-n', nsB, 'addr', 'add', `${ends.b4}/24`, 'dev', 'veth1']);
  sh('ip', ['-n', nsA, 'addr', 'add', `${ends.a6}/64`, 'dev', 'veth0', 'nodad']);
  sh('ip', ['-n', nsB, 'addr', 'add', `${ends.b6}/64`, 'dev', 'veth1', 'nodad']);
  sh('ip', ['-n', nsA, 'link', 'set', 'veth0', 'up']);
  sh('ip', ['-n', nsB, 'link', 'set', 'veth1', 'up']);
  return { nsA, nsB, ...ends };
}

/** Run a command inside a namespace and resolve with its exit code (never rejects). */
export function runInNetns(ns: string, cmd: string, args: readonly string[], timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', () => {
      clearTimeout(timer);
      resolve(-1);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
}

/** Resolve once `predicate` holds, polling every 5 ms; reject after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Number of open file descriptors of this process. */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}
