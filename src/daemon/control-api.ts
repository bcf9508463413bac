/**
 * The control commands the daemon answers (`up`, `down`, `sas`, `conns`, `pools`, `stats`): requests checked and
 * turned into SA manager and engine calls, answers built by the views of control-views.ts.
 */
import { ControlError } from '../control/protocol.js';
import type { ChildSaInfo, ConnectionInfo, DaemonStats, IkeSaInfo, PoolInfo } from '../control/schema.js';
import type { IkeEngine } from '../ike/engine.js';
import type { KernelIpsec } from '../kernel/kernel-ipsec.js';
import type { ChildInstaller } from './child-installer.js';
import type { DaemonConfig } from './config-map.js';
import { daemonStats, listConns, listSas } from './control-views.js';
import type { SaManager } from './sa-manager.js';
import type { RemoteAccess } from './remote-access.js';

export interface ControlDeps {
  readonly engine: IkeEngine;
  readonly sa: SaManager;
  readonly children: ChildInstaller;
  readonly remote: RemoteAccess;
  readonly kernel: KernelIpsec & { readonly stats: { readonly drops: Readonly<Record<string, number>> } };
  readonly config: () => DaemonConfig;
  readonly nowMs: () => number;
  readonly startedAtMs: number;
  readonly ikeCounters: { readonly ikeIn: number; readonly ikeOut: number };
  /** Cleartext packets from protected networks dropped by the inbound check (cleartext-guard.ts). */
  readonly cleartextDrops: () => Promise<number>;
  readonly pump: () => void;
  /** The data plane's offloads, for `stats`. */
  readonly offloads?: () => DaemonStats['offloads'];
}

export class ControlApi {
  readonly #d: ControlDeps;

  constructor(deps: ControlDeps) {
    this.#d = deps;
  }

  /** `up NAME`: resolves once a CHILD_SA asked for is installed; rejects with the reason otherwise. */
  async up(name: string, timeoutSec: number): Promise<{ children: ChildSaInfo[] }> {
    const { sa } = this.#d;
    const connName = sa.connection(name) !== undefined ? name : sa.connNameOfChild(name);
    if (connName === undefined) throw new ControlError('unknown-name', `no connection or child named '${name}'`);
    const child = connName === name ? undefined : name;
    const text = `no CHILD_SA for '${name}' after ${timeoutSec} s (no answer from the peer?)`;
    const w = sa.waiters.wait(child ?? connName, connName, this.#d.nowMs() + timeoutSec * 1000, text);
    try {
      sa.bringUp(connName, child === undefined ? undefined : [child]);
    } catch (e) {
      w.cancel(e as Error);
    }
    this.#d.pump(); // the waiter's deadline joins the clock's
    return { children: await w.done };
  }

  /** `down NAME`: deletes the IKE_SAs of that connection, or else the CHILD_SAs of that name. */
  down(name: string): { deleted: string[] } {
    const deleted: string[] = [];
    const { engine } = this.#d;
    const now = this.#d.nowMs();
    for (const s of this.#d.sa.established.values()) {
      if (s.name !== name) continue;
      engine.terminate(s.id, now);
      deleted.push(`IKE_SA ${s.name}[${s.id}]`);
    }
    if (deleted.length === 0)
      for (const c of this.#d.children.all()) {
        if (c.info.name !== name) continue;
        engine.terminateChild(c.info.id, now);
        deleted.push(`CHILD_SA ${c.info.name}{${c.info.id}}`);
      }
    if (deleted.length === 0) throw new ControlError('not-up', `nothing named '${name}' is up`);
    this.#d.pump();
    return { deleted };
  }

  sas(): Promise<{ ikeSas: IkeSaInfo[] }> {
    const { engine, children, kernel } = this.#d;
    const vips = this.#d.remote.vips;
    return listSas({ engine, established: this.#d.sa.established, children, kernel, vips }, this.#d.nowMs());
  }

  conns(): { connections: ConnectionInfo[] } {
    return listConns(this.#d.config());
  }

  pools(): { pools: PoolInfo[] } {
    return this.#d.remote.list(this.#d.config());
  }

  async stats(): Promise<DaemonStats> {
    return daemonStats(await this.sas(), this.#d.engine, {
      uptimeSec: (this.#d.nowMs() - this.#d.startedAtMs) / 1000,
      childSas: this.#d.children.size,
      ikeIn: this.#d.ikeCounters.ikeIn,
      ikeOut: this.#d.ikeCounters.ikeOut,
      dataplaneDrops: { ...this.#d.kernel.stats.drops, cleartext: await this.#d.cleartextDrops() },
      ...(this.#d.offloads !== undefined ? { offloads: this.#d.offloads() } : {}),
    });
  }
}
