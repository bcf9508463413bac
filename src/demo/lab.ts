/**
 * Hosts in network namespaces (for the demo and the tests), created with unique names and removed even when a test fails.
 *
 *   left  (outer 192.0.2.1, 2001:db8::1; inner 198.51.100.1, 2001:db8:1::1 on lo)
 *     |  veth
 *   right (outer 192.0.2.2, 2001:db8::2; inner 203.0.113.1, 2001:db8:2::1 on lo)
 *
 * With `{ third: true }` a third host hangs off left by a second link, so left can be a gateway with two
 * peers (left's veth1 is 192.0.2.129/25 and 2001:db8:100::1/64; the /25 is more specific than veth0's /24):
 *
 *   left  veth1 (192.0.2.129, 2001:db8:100::1)
 *     |  veth
 *   third (outer 192.0.2.130, 2001:db8:100::2; inner 203.0.113.65, 2001:db8:3::1 on lo)
 *
 * Only documentation ranges are used. Needs root; `canRunLab()` says whether this process can.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';

const run = promisify(execFile);

let labCounter = 0;

export function canRunLab(): { ok: true } | { ok: false; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: 'needs root (network namespaces)' };
  if (!fs.existsSync('/dev/net/tun')) return { ok: false, why: 'no /dev/net/tun' };
  return { ok: true };
}

export interface LabHost {
  /** Namespace name. */
  ns: string;
  outer4: string;
  outer6: string;
  inner4: string;
  inner6: string;
  /** veth device name inside the namespace. */
  dev: string;
}

export interface LabOptions {
  /** Adds `third`, linked to left by a second veth (left's `veth1`). */
  readonly third?: boolean;
}

/** Left's addresses on the link to the third host. */
export const LEFT_TO_THIRD = { dev: 'veth1', outer4: '192.0.2.129', outer6: '2001:db8:100::1' } as const;

export class Lab {
  readonly left: LabHost;
  readonly right: LabHost;
  /** Present when created with `{ third: true }`. */
  readonly third: LabHost | undefined;
  /** A scratch folder for configs, sockets and logs, removed with the lab. */
  readonly dir: string;
  private readonly procs: ChildProcess[] = [];
  private readonly cleanups: (() => Promise<void> | void)[] = [];

  private constructor(tag: string, dir: string, options: LabOptions) {
    this.dir = dir;
    this.third = options.third
      ? {
          ns: `tsi-${tag}-t`,
          outer4: '192.0.2.130',
          outer6: '2001:db8:100::2',
          inner4: '203.0.113.65',
          inner6: '2001:db8:3::1',
          dev: 'veth0',
        }
      : undefined;
    this.left = {
      ns: `tsi-${tag}-l`,
      outer4: '192.0.2.1',
      outer6: '2001:db8::1',
      inner4: '198.51.100.1',
      inner6: '2001:db8:1::1',
      dev: 'veth0',
    };
    this.right = {
      ns: `tsi-${tag}-r`,
      outer4: '192.0.2.2',
      outer6: '2001:db8::2',
      inner4: '203.0.113.1',
      inner6: '2001:db8:2::1',
      dev: 'veth0',
    };
  }

  /** Creates both namespaces and the link between them (and the third host with its link, when asked). */
  static async create(name: string, options: LabOptions = {}): Promise<Lab> {
    const tag = `${name}-${process.pid}-${labCounter++}`;
    const dir = fs.mkdtempSync(`/tmp/tsi-lab-${name}-`);
    const lab = new Lab(tag, dir, options);
    try {
      await lab.setup();
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return lab;
  }

  private async setup(): Promise<void> {
    const { left, right } = this;
    for (const h of [left, right]) await sh('ip', ['netns', 'add', h.ns]);
    const tmpL = `tl${process.pid % 100000}${labCounter}`;
    const tmpR = `tr${process.pid % 100000}${labCounter}`;
    await sh('ip', ['link', 'add', tmpL, 'type', 'veth', 'peer', 'name', tmpR]);
    await sh('ip', ['link', 'set', tmpL, 'netns', left.ns, 'name', left.dev]);
    await sh('ip', ['link', 'set', tmpR, 'netns', right.ns, 'name', right.dev]);
    for (const h of [left, right]) {
      await this.ip(h, 'link', 'set', 'lo', 'up');
      await this.ip(h, 'addr', 'add', `${h.outer4}/24`, 'dev', h.dev);
      await this.ip(h, '-6', 'addr', 'add', `${h.outer6}/64`, 'dev', h.dev, 'nodad');
      await this.ip(h, 'link', 'set', h.dev, 'up');
      await this.ip(h, 'addr', 'add', `${h.inner4}/32`, 'dev', 'lo');
      await this.ip(h, '-6', 'addr', 'add', `${h.inner6}/128`, 'dev', 'lo', 'nodad');
    }
    if (this.third !== undefined) await this.setupThird(this.third);
  }

  private async setupThird(t: LabHost): Promise<void> {
    const { left } = this;
    await sh('ip', ['netns', 'add', t.ns]);
    const tmpL = `tg${process.pid % 100000}${labCounter}`;
    const tmpT = `tt${process.pid % 100000}${labCounter}`;
    await sh('ip', ['link', 'add', tmpL, 'type', 'veth', 'peer', 'name', tmpT]);
    await sh('ip', ['link', 'set', tmpL, 'netns', left.ns, 'name', LEFT_TO_THIRD.dev]);
    await sh('ip', ['link', 'set', tmpT, 'netns', t.ns, 'name', t.dev]);
    await this.ip(left, 'addr', 'add', `${LEFT_TO_THIRD.outer4}/25`, 'dev', LEFT_TO_THIRD.dev);
    await this.ip(left, '-6', 'addr', 'add', `${LEFT_TO_THIRD.outer6}/64`, 'dev', LEFT_TO_THIRD.dev, 'nodad');
    await this.ip(left, 'link', 'set', LEFT_TO_THIRD.dev, 'up');
    await this.ip(t, 'link', 'set', 'lo', 'up');
    await this.ip(t, 'addr', 'add', `${t.outer4}/25`, 'dev', t.dev);
    await this.ip(t, '-6', 'addr', 'add', `${t.outer6}/64`, 'dev', t.dev, 'nodad');
    await this.ip(t, 'link', 'set', t.dev, 'up');
    await this.ip(t, 'addr', 'add', `${t.inner4}/32`, 'dev', 'lo');
    await this.ip(t, '-6', 'addr', 'add', `${t.inner6}/128`, 'dev', 'lo', 'nodad');
  }

  /** `ip` inside a host's namespace. */
  async ip(h: LabHost, ...args: string[]): Promise<string> {
    return sh('ip', ['-n', h.ns, ...args]);
  }

  /** Runs a command to completion inside a namespace; rejects with its stderr on a non-zero exit. */
  async exec(h: LabHost, cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
    return sh('ip', ['netns', 'exec', h.ns, cmd, ...args], timeoutMs);
  }

  /** Starts a long-running process inside a namespace; it is killed by destroy(). */
  spawn(h: LabHost, cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', h.ns, cmd, ...args], { stdio: 'pipe', ...options });
    this.procs.push(child);
    return child;
  }

  /** Lets this process exit while the started processes keep running (`tsipsec demo --keep`). */
  detach(): void {
    for (const p of this.procs) p.unref();
  }

  /** Registers extra cleanup (run first, in reverse order). */
  onDestroy(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  /** Kills every process started here, deletes the namespaces and the scratch folder. Never throws. */
  async destroy(): Promise<void> {
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // keep cleaning
      }
    }
    for (const p of this.procs) {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
    for (const h of [this.left, this.right, ...(this.third !== undefined ? [this.third] : [])]) {
      try {
        const pids = (await sh('ip', ['netns', 'pids', h.ns])).split(/\s+/).filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      } catch {
        // namespace may not exist
      }
      try {
        await sh('ip', ['netns', 'del', h.ns]);
      } catch {
        // already gone
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

async function sh(cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(err.stderr || err.stdout || err.message).trim()}`);
  }
}

/** Waits until `probe` resolves true, polling every `stepMs`, or throws after `timeoutMs` with `what`. */
export async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 10_000, stepMs = 100) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
