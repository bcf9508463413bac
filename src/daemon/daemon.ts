/**
 * The daemon: wiring and lifecycle around the sans-I/O IKE engine and the user-space data plane.
 *
 *   IkeTransport (UDP 500/4500) --IKE--> IkeEngine --events--> SaManager --> ChildInstaller --> UserspaceDataplane
 *        ^                                   |                   |  \--> ConnectionActions, UpWaiters
 *        +--------------datagrams------------+                   +--> PolicyInstaller --> routes (DaemonIo)
 *                                                                +--> CleartextGuard --> nft table (DaemonIo)
 *
 * Every input (datagram, clock deadline, control command, kernel upcall) is handed on, then `pump()` applies
 * the engine's events, carries out the connection manager's commands, sends what the engine produced and
 * arms the clock's one timer at the earliest deadline of the engine, the SA manager and `stop()`.
 */
import { IpProto } from '../common/ip.js';
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';
import type { Rng } from '../crypto/types.js';
import type { ChildSaInfo, ConnectionInfo, DaemonStats, IkeSaInfo, PoolInfo } from '../control/schema.js';
import type { ConnectionConfig, RetransmitConfig } from '../ike/config.js';
import { IkeEngine } from '../ike/engine.js';
import type { Endpoint } from '../ike/events.js';
import { UserspaceDataplane } from '../dataplane/userspace-dataplane.js';
import type { IpFamily, PacketSocket, TunDevice } from '../io/types.js';
import type { XfrmResult } from '../xfrm/xfrm-tables.js';
import { ChildInstaller } from './child-installer.js';
import { CleartextGuard } from './cleartext-guard.js';
import type { DaemonConfig } from './config-map.js';
import { ControlApi } from './control-api.js';
import { offloadStats } from './control-views.js';
import type { DaemonIo } from './daemon-io.js';
import { IkeTransport } from './ike-transport.js';
import { ManualKeying } from './manual-keying.js';
import { Mobike } from './mobike.js';
import { PolicyInstaller } from './policy-installer.js';
import { SaLog } from './sa-log.js';
import { SaManager } from './sa-manager.js';
import type { SaveKeysFiles } from './save-keys.js';
import { RemoteAccess } from './remote-access.js';
import type { CharonLimits } from './strongswan-conf.js';

export interface DaemonOptions {
  readonly config: DaemonConfig;
  readonly io: DaemonIo;
  readonly rng: Rng;
  readonly log: Logger;
  /** `--save-keys DIR`: Wireshark's esp_sa and ikev2_decryption_table, kept current. */
  readonly saveKeys?: SaveKeysFiles;
  /** strongswan.conf's `charon.*` half-open limits (strongswan-conf.ts); the engine's defaults otherwise. */
  readonly limits?: CharonLimits;
  /** strongswan.conf's `charon.retransmit_*` (also the IKEv2 DPD timeout); the engine's default otherwise. */
  readonly retransmit?: RetransmitConfig;
  /** strongswan.conf's `charon.keep_alive`, seconds between NAT-keepalives (0 = none; default 20). */
  readonly keepAliveSec?: number;
  /** Is this one of our addresses (manual SAs without `dir`: inbound when dst is ours)? */
  readonly isLocalAddress?: (address: string) => boolean;
}

export class Daemon {
  #config: DaemonConfig;
  readonly #io: DaemonIo;
  readonly #log: Logger;
  readonly #engine: IkeEngine;
  readonly #dataplane: UserspaceDataplane;
  readonly #tun: TunDevice;
  readonly #raw: PacketSocket[] = [];
  readonly #transport: IkeTransport;
  readonly #policies: PolicyInstaller;
  readonly #guard: CleartextGuard;
  readonly #sa: SaManager;
  readonly #remote: RemoteAccess;
  readonly #control: ControlApi;
  readonly #manual: ManualKeying;
  readonly #mobike: Mobike;
  /** `stop()` waiting for the peers' answers to our DELETEs. */
  #draining: { readonly untilMs: number; readonly done: () => void } | undefined;
  #pumping = false;
  #pumpAgain = false;
  #closed = false;
  /** Waiting for the engine's asynchronous work (an EAP-TLS step); see #awaitWork. */
  #awaitingWork = false;

  constructor(options: DaemonOptions) {
    this.#config = options.config;
    this.#io = options.io;
    this.#log = options.log;
    const config = (): DaemonConfig => this.#config;
    const nowMs = (): number => this.#io.clock.nowMs();
    const pump = (): void => this.#pump();
    this.#tun = this.#io.openTun();
    this.#remote = new RemoteAccess(this.#io, this.#tun.name, this.#log, options.config);
    this.#engine = new IkeEngine({
      get connections(): readonly ConnectionConfig[] {
        return config().connections.map((c) => c.ike);
      },
      pools: this.#remote.pools,
      psk: (l, r) => config().psk(l, r),
      eapPassword: (id) => config().eapPassword(id),
      ...options.limits,
      ...(options.retransmit !== undefined ? { retransmit: options.retransmit } : {}),
      rng: options.rng,
      log: options.log,
    });
    this.#transport = new IkeTransport(this.#io, this.#log);
    this.#dataplane = new UserspaceDataplane({
      tun: this.#tun,
      espSockets: this.#openRaw('ESP'),
      ahSockets: this.#openRaw('AH'),
      natTEndpoints: this.#transport.natTEndpoints(),
      rng: options.rng,
      nowMs,
      logger: options.log,
    });
    const engine = this.#engine;
    const policies = new PolicyInstaller(this.#dataplane, this.#io, this.#tun.name, this.#log);
    const guard = new CleartextGuard(this.#io, this.#tun.name, this.#log);
    const children = new ChildInstaller(this.#dataplane, policies, guard, this.#log);
    const saLog = new SaLog(this.#log, engine, options.saveKeys);
    this.#policies = policies;
    this.#guard = guard;
    const sendKeepalive = this.#transport.sendKeepalive.bind(this.#transport);
    this.#mobike = new Mobike({ engine, io: this.#io, children, log: this.#log, nowMs, pump });
    this.#sa = new SaManager({
      engine,
      config,
      nowMs,
      log: this.#log,
      children,
      policies,
      guard,
      saLog,
      pump,
      sendKeepalive,
      ...(options.keepAliveSec !== undefined ? { keepaliveIntervalMs: options.keepAliveSec * 1000 } : {}),
      vips: this.#remote.vips,
      mobike: this.#mobike,
      sourceFor: (destination) => this.#io.sourceFor(destination),
    });
    this.#control = new ControlApi({
      engine,
      sa: this.#sa,
      children,
      remote: this.#remote,
      kernel: this.#dataplane,
      config,
      nowMs,
      startedAtMs: nowMs(),
      ikeCounters: this.#transport.counters,
      cleartextDrops: () => guard.dropped(),
      pump,
      offloads: () => offloadStats(this.#tun, Object.values(this.#transport.natTEndpoints())),
    });
    this.#manual = new ManualKeying(this.#dataplane, policies, options.isLocalAddress);
    this.#dataplane.setListener({
      acquire: (e) => this.#sa.acquire(e.reqid),
      expire: (e) => this.#sa.expire(e.id.spi, e.hard),
      mapping: (e) => void this.#sa.mapping(e.id.spi, e.newSrc),
    });
  }

  /**
   * Installs the routing rules and the cleartext check's nft table, starts the sockets, installs shunts and
   * traps, starts `start_action = start` children.
   */
  async start(): Promise<void> {
    await this.#io.setup();
    await this.#guard.start();
    this.#dataplane.start();
    this.#transport.start((message, from, to) => this.#onIke(message, from, to), this.#dataplane.espReceiver);
    this.#mobike.start();
    const conns = this.#config.connections.length;
    this.#log.log('dmn', LogLevel.AUDIT, `started: TUN ${this.#tun.name}, ${conns} connection(s)`);
    await this.#sa.applyStartActions();
  }

  /** The TUN device name (routes point at it). */
  get tunName(): string {
    return this.#tun.name;
  }

  #onIke(message: Buffer, from: Endpoint, to: Endpoint): void {
    if (this.#closed) return;
    this.#engine.receiveDatagram(message, from, to, this.#io.clock.nowMs());
    this.#pump();
  }

  /**
   * Applies the engine's events, carries out the connection manager's commands (which may give the engine
   * more work: the loop goes on until they are done), sends what the engine produced and re-arms the timer.
   * When a CHILD_SA was installed, its messages leave only once its SAs, policies and routes are in place
   * (as a kernel-based IKE daemon does), so the peer's first packets are not lost to a half-installed SA.
   */
  #pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        const datagrams = this.#engine.datagramsToSend();
        const installs: Promise<void>[] = [];
        for (let ev = this.#engine.nextEvent(); ev !== undefined; ev = this.#engine.nextEvent()) {
          const p = this.#sa.onEvent(ev);
          if (p !== undefined) installs.push(p);
        }
        const send = (): void => this.#sa.sendThenDelete(() => this.#transport.send(datagrams));
        if (installs.length === 0) send();
        else void Promise.all(installs).then(send);
        if (this.#sa.runCommands()) this.#pumpAgain = true;
      } while (this.#pumpAgain);
    } finally {
      this.#pumping = false;
    }
    if (this.#draining !== undefined && this.#sa.established.size === 0) this.#draining.done();
    this.#armTimer();
    this.#awaitWork();
  }

  /** An exchange waits for asynchronous work (an EAP-TLS step): continue it once that settled. */
  #awaitWork(): void {
    if (this.#awaitingWork || this.#closed) return;
    const work = this.#engine.pendingWork();
    if (work === undefined) return;
    this.#awaitingWork = true;
    void work.then(() => {
      this.#awaitingWork = false;
      if (this.#closed) return;
      this.#engine.resume(this.#io.clock.nowMs());
      this.#pump();
    });
  }

  #armTimer(): void {
    if (this.#closed) return;
    const deadlines = [this.#engine.nextTimerMs(), this.#sa.nextDeadlineMs(), this.#draining?.untilMs];
    const due = deadlines.filter((t) => t !== undefined);
    this.#io.clock.setDeadline(due.length > 0 ? Math.min(...due) : undefined, (now) => this.#onTimer(now));
  }

  #onTimer(nowMs: number): void {
    if (this.#draining !== undefined && nowMs >= this.#draining.untilMs) this.#draining.done();
    this.#sa.handleTimer(nowMs);
    this.#engine.handleTimer(nowMs);
    this.#pump();
  }

  /** Raw ESP or AH sockets for each family the system allows. */
  #openRaw(protocol: 'ESP' | 'AH'): Partial<Record<IpFamily, PacketSocket>> {
    const out: Partial<Record<IpFamily, PacketSocket>> = {};
    for (const family of [4, 6] as const) {
      try {
        out[family] = this.#io.openRaw(family, IpProto[protocol]);
      } catch (e) {
        this.#log.log('net', LogLevel.CONTROL, `no IPv${family} raw ${protocol} socket: ${(e as Error).message}`);
      }
    }
    this.#raw.push(...Object.values(out));
    return out;
  }

  // ------------------------------------------------------------------ control commands

  /** `up NAME`: resolves once a CHILD_SA asked for is installed; rejects with the reason otherwise. */
  up(name: string, timeoutSec: number): Promise<{ children: ChildSaInfo[] }> {
    return this.#control.up(name, timeoutSec);
  }

  /** `down NAME`: deletes the IKE_SAs of that connection, or else the CHILD_SAs of that name. */
  down(name: string): { deleted: string[] } {
    return this.#control.down(name);
  }

  sas(): Promise<{ ikeSas: IkeSaInfo[] }> {
    return this.#control.sas();
  }

  conns(): { connections: ConnectionInfo[] } {
    return this.#control.conns();
  }

  pools(): { pools: PoolInfo[] } {
    return this.#control.pools();
  }

  stats(): Promise<DaemonStats> {
    return this.#control.stats();
  }

  /** One `ip xfrm` command line (`tsipsec xfrm ...`); policies get their routes into the TUN. */
  xfrmLine(line: string): Promise<XfrmResult> {
    return this.#manual.line(line);
  }

  /** `--xfrm FILE`: every line applied in order; the first failure stops with file:line. */
  xfrmFile(file: string): Promise<void> {
    return this.#manual.file(file);
  }

  /** Replaces the configuration (SIGHUP, `tsipsec load`): SAs stay up; shunts and traps of the new one are installed. */
  async reload(config: DaemonConfig): Promise<string[]> {
    this.#config = config;
    this.#remote.reload(config);
    await this.#sa.applyStartActions();
    return config.connections.map((c) => c.ike.name);
  }

  /** Deletes every IKE_SA (DELETE to each peer), waits up to `graceMs` on the clock for the answers, closes everything. */
  async stop(graceMs = 1500): Promise<void> {
    const now = this.#io.clock.nowMs();
    for (const s of this.#sa.established.values()) this.#engine.terminate(s.id, now);
    await this.#sa.stop();
    if (this.#sa.established.size > 0 && graceMs > 0)
      await new Promise<void>((resolve) => {
        this.#draining = { untilMs: now + graceMs, done: resolve };
        this.#pump();
      });
    else this.#pump();
    this.#draining = undefined;
    this.#closed = true;
    this.#mobike.stop();
    this.#io.clock.cancel();
    await this.#policies.removeAllRoutes();
    await this.#remote.vips.removeAll();
    await this.#guard.stop();
    await this.#transport.close();
    for (const s of this.#raw) await s.close();
    await this.#tun.close();
    await this.#io.teardown();
  }
}
