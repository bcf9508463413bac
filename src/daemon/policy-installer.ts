/**
 * The one place policies and routes are installed, for CHILD_SAs, trap policies, pass/drop shunts and
 * manually keyed policies alike. Each install names its outbound policies and the traffic to steer into
 * the TUN; what was installed comes back as a handle that removes exactly that.
 *
 * An install is all or nothing: when a policy, route or bypass rule cannot be put in place, what this install
 * already did is undone and `InstallError` says what failed, so a CHILD_SA is never half routed (a prefix
 * left out of the TUN would leave in the clear).
 *
 * One rule for a route's preferred source address (`ip route ... src`): when every local selector of the
 * route's family is the same single host, that host; otherwise none (the kernel picks). Adding a route
 * replaces one for the same prefix (`ip route replace`).
 */
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';
import type { AddPolicyArgs, KernelIpsec } from '../kernel/kernel-ipsec.js';
import type { BypassRule, DaemonIo } from './daemon-io.js';

/** A route into the TUN for `prefix`, with the local prefixes the source rule looks at. */
export interface RouteRequest {
  readonly prefix: string;
  readonly locals: readonly string[];
}

export interface InstallRequest {
  /** For logs: `CHILD_SA net{3}`, `trap policy ...`, `pass policy ...`, `manual policy ...`. */
  readonly label: string;
  readonly policies: readonly AddPolicyArgs[];
  readonly routes: readonly RouteRequest[];
  /** `pass` shunts: traffic kept out of the TUN by a routing rule. */
  readonly bypass?: readonly BypassRule[];
}

/** Raised when part of an install failed; nothing of that install is left in place. */
export class InstallError extends Error {
  override readonly name = 'InstallError';
  readonly label: string;
  readonly part: 'policies' | 'route' | 'bypass';
  constructor(label: string, part: 'policies' | 'route' | 'bypass', detail: string) {
    super(`${label}: ${part} failed: ${detail}`);
    this.label = label;
    this.part = part;
  }
}

/** What one install put in place. */
export interface Installed {
  readonly label: string;
  readonly policyIds: number[];
  readonly routes: string[];
  readonly bypass: BypassRule[];
}

function familyOf(prefix: string): 4 | 6 {
  return prefix.includes(':') ? 6 : 4;
}

/** The single host a prefix names (`/32`, `/128` or no length), else undefined. */
export function hostOf(prefix: string): string | undefined {
  const [addr, len] = prefix.split('/');
  if (addr === undefined) return undefined;
  if (len === undefined) return addr;
  return Number(len) === (familyOf(prefix) === 4 ? 32 : 128) ? addr : undefined;
}

/** The preferred source for a route to `prefix`: the one local host of its family, if there is exactly one. */
export function routeSource(prefix: string, locals: readonly string[]): string | undefined {
  const same = locals.filter((l) => familyOf(l) === familyOf(prefix));
  const hosts = new Set(same.map(hostOf));
  if (same.length === 0 || hosts.size !== 1) return undefined;
  return [...hosts][0];
}

export class PolicyInstaller {
  readonly #kernel: KernelIpsec;
  readonly #io: DaemonIo;
  readonly #tun: string;
  readonly #log: Logger;
  /**
   * Routes currently in the TUN's table, counted (two installs may route the same prefix), with their
   * source. A later install that names a source for a route without one (a trap beside a drop shunt)
   * replaces it, so the host's own packets leave from the address the policy protects.
   */
  readonly #routeRefs = new Map<string, { refs: number; src: string | undefined }>();

  constructor(kernel: KernelIpsec, io: DaemonIo, tunName: string, log: Logger) {
    this.#kernel = kernel;
    this.#io = io;
    this.#tun = tunName;
    this.#log = log;
  }

  /** Installs every part or, when one fails, none (InstallError). Policies go in as one batch. */
  async install(req: InstallRequest): Promise<Installed> {
    const done: Installed = { label: req.label, policyIds: [], routes: [], bypass: [] };
    let failed: InstallError | undefined;
    try {
      if (req.policies.length > 0) done.policyIds.push(...(await this.#kernel.addPolicies(req.policies)));
    } catch (e) {
      failed = new InstallError(req.label, 'policies', (e as Error).message);
    }
    for (const r of req.routes) {
      if (failed !== undefined) break;
      try {
        await this.#addRoute(r, req.label);
        done.routes.push(r.prefix);
      } catch (e) {
        failed = new InstallError(req.label, 'route', `${r.prefix}: ${(e as Error).message}`);
      }
    }
    for (const b of req.bypass ?? []) {
      if (failed !== undefined) break;
      try {
        await this.#io.addBypass(b);
        done.bypass.push(b);
      } catch (e) {
        failed = new InstallError(req.label, 'bypass', `${b.local} -> ${b.prefix}: ${(e as Error).message}`);
      }
    }
    if (failed === undefined) return done;
    await this.remove(done);
    this.#log.log('knl', LogLevel.AUDIT, `${failed.message}; rolled back its policies, routes and rules`);
    throw failed;
  }

  async remove(installed: Installed): Promise<void> {
    const ids = installed.policyIds.splice(0);
    if (ids.length > 0) await this.#kernel.delPolicies(ids).catch(() => undefined);
    for (const prefix of installed.routes.splice(0)) await this.#delRoute(prefix);
    for (const b of installed.bypass.splice(0)) await this.#io.delBypass(b).catch(() => undefined);
  }

  /** Every route still in place (stop). */
  async removeAllRoutes(): Promise<void> {
    const prefixes = [...this.#routeRefs.keys()];
    this.#routeRefs.clear();
    // All at once, so the I/O can batch them.
    await Promise.all(prefixes.map((prefix) => this.#io.delRoute(prefix, this.#tun).catch(() => undefined)));
  }

  /** Adds (or counts) the route; rejects when the system refuses it. */
  async #addRoute(r: RouteRequest, label: string): Promise<void> {
    const current = this.#routeRefs.get(r.prefix);
    const src = routeSource(r.prefix, r.locals);
    if (current !== undefined && (src === undefined || src === current.src)) {
      current.refs++;
      return;
    }
    const what = `route ${r.prefix} via ${this.#tun}${src !== undefined ? ` src ${src}` : ''}`;
    await this.#io.addRoute(r.prefix, this.#tun, src);
    this.#routeRefs.set(r.prefix, { refs: (current?.refs ?? 0) + 1, src });
    this.#log.log('knl', LogLevel.CONTROL, `${what} (${label})`);
  }

  async #delRoute(prefix: string): Promise<void> {
    const current = this.#routeRefs.get(prefix);
    if (current !== undefined && current.refs > 1) {
      current.refs--;
      return;
    }
    this.#routeRefs.delete(prefix);
    await this.#io.delRoute(prefix, this.#tun).catch(() => undefined);
  }
}
