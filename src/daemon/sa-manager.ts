/**
 * What the daemon does with the IKE engine's events and its own connection decisions: established IKE_SAs
 * remembered for listings, CHILD_SAs installed and removed, `up` waiters answered, and the connection
 * manager's commands (initiate, trap, rekey, delete) carried out on the engine. Timers are deadlines the
 * daemon's clock drives (`nextDeadlineMs`, `handleTimer`); after changing the engine it asks for a pump.
 */
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';
import { nameOf } from '../crypto/ids.js';
import { ControlError } from '../control/protocol.js';
import { NotifyType } from '../ike/codec/constants.js';
import type { IkeEngine } from '../ike/engine.js';
import type { ChildSaInfo, Endpoint, IkeEvent } from '../ike/events.js';
import { IkeSaState } from '../ike/sa-state.js';
import type { ChildInstaller } from './child-installer.js';
import type { DaemonConfig, DaemonConnection } from './config-map.js';
import { shuntRequests } from './config-policies.js';
import { ConnectionActions } from './connection-actions.js';
import type { ActionCommand } from './connection-actions.js';
import { childView } from './control-views.js';
import type { IkeRecord } from './control-views.js';
import type { CleartextGuard } from './cleartext-guard.js';
import { InstallError } from './policy-installer.js';
import type { Installed, PolicyInstaller } from './policy-installer.js';
import type { SaLog } from './sa-log.js';
import { DeferredDeletes } from './unique-ids.js';
import { NatKeepalives } from './nat-keepalives.js';
import { UpWaiters } from './up-waiters.js';
import type { Mobike } from './mobike.js';
import { InitiateFromRoute } from './initiate-from-route.js';
import type { VirtualIps } from './virtual-ips.js';

export interface SaManagerDeps {
  readonly engine: IkeEngine;
  readonly config: () => DaemonConfig;
  readonly nowMs: () => number;
  readonly log: Logger;
  readonly children: ChildInstaller;
  readonly policies: PolicyInstaller;
  readonly guard: CleartextGuard;
  readonly saLog: SaLog;
  /** Send what the engine produced and re-arm the timer. */
  readonly pump: () => void;
  readonly vips: VirtualIps;
  /** The source address the system picks towards `destination` (route lookup), for `local_addrs = %any`. */
  readonly sourceFor: (destination: string) => Promise<string | undefined>;
  /** MOBIKE: CHILD_SAs follow a moved IKE_SA. */
  readonly mobike: Mobike;
  /** One NAT-keepalive (RFC 3948 2.3) from our NAT-T endpoint to the peer's. */
  readonly sendKeepalive: (from: Endpoint, to: Endpoint) => void;
  /** Between NAT-keepalives (strongswan.conf `charon.keep_alive`); 0 = none. Default NAT_KEEPALIVE_INTERVAL_MS. */
  readonly keepaliveIntervalMs?: number;
}

export class SaManager {
  /** Established IKE_SAs, for listings and for finding the IKE_SA a new CHILD_SA goes on. */
  readonly established = new Map<number, IkeRecord>();
  readonly waiters = new UpWaiters();
  readonly #d: SaManagerDeps;
  readonly #actions: ConnectionActions;
  readonly #keepalives: NatKeepalives;
  #shunts: Installed[] = [];
  readonly #deferred: DeferredDeletes;
  readonly #fromRoute: InitiateFromRoute;

  constructor(deps: SaManagerDeps) {
    this.#d = deps;
    this.#keepalives = new NatKeepalives(deps.keepaliveIntervalMs);
    this.#actions = new ConnectionActions(deps.config, deps.log);
    this.#deferred = new DeferredDeletes(deps.log);
    this.#fromRoute = new InitiateFromRoute(deps, this.waiters);
  }

  nextDeadlineMs(): number | undefined {
    const all = [
      this.#actions.nextDeadlineMs(),
      this.waiters.nextDeadlineMs(),
      this.#keepalives.nextDeadlineMs(),
      this.#deferred.nextDeadlineMs(),
      this.#d.children.nextDeadlineMs(),
    ];
    const due = all.filter((t) => t !== undefined);
    return due.length > 0 ? Math.min(...due) : undefined;
  }

  handleTimer(nowMs: number): void {
    this.waiters.handleTimer(nowMs);
    this.#actions.handleTimer(nowMs);
    this.#deferred.handleTimer(nowMs, (id) => this.established.has(id));
    this.#d.children.handleTimer(nowMs);
    for (const k of this.#keepalives.due(nowMs)) this.#d.sendKeepalive(k.from, k.to);
  }

  /** Applies one engine event; a CHILD_SA installation comes back as a promise. */
  onEvent(ev: IkeEvent): Promise<void> | undefined {
    this.#d.vips.onEvent(ev);
    switch (ev.type) {
      case 'ikeSaEstablished':
        this.established.set(ev.ikeSaId, {
          id: ev.ikeSaId,
          name: ev.name,
          localId: ev.localId,
          remoteId: ev.remoteId,
          ...(ev.remoteEapId !== undefined ? { remoteEapId: ev.remoteEapId } : {}),
          remoteAddress: ev.remote.address,
          proposal: ev.proposal,
          natLocal: ev.natLocal,
          natRemote: ev.natRemote,
          establishedAtMs: this.#d.nowMs(),
        });
        this.#actions.established(ev.ikeSaId);
        this.#keepalives.established(ev.ikeSaId, ev.natLocal, ev.local, ev.remote, this.#d.nowMs());
        // RFC 7296 1.3.2: the CHILD_SAs move to the new IKE_SA.
        if (ev.rekeyOf !== undefined) this.#d.children.moveChildren(ev.rekeyOf, ev.ikeSaId);
        this.#d.saLog.ikeUp(ev);
        // A reauthentication of ours deletes the old IKE_SA itself, once the new CHILD_SAs are up.
        if (ev.rekeyOf === undefined && ev.reauthOf === undefined) {
          const unique = this.connection(ev.name)?.source.unique;
          this.#deferred.established(unique, ev.name, ev.ikeSaId, this.established, this.#d.nowMs());
        }
        break;
      case 'ikeSaDeleted': {
        const rec = this.established.get(ev.ikeSaId);
        this.established.delete(ev.ikeSaId);
        this.#keepalives.deleted(ev.ikeSaId);
        this.#d.saLog.ikeDown(ev);
        this.waiters.fail(ev.name, undefined, `IKE_SA ${ev.name}[${ev.ikeSaId}] deleted: ${ev.reason}`);
        // The peer deleting an IKE_SA it has replaced (a reauthentication) is no loss: no close_action.
        const cause = ev.cause === 'peerDeleted' && rec !== undefined && this.#successor(rec) ? 'replaced' : ev.cause;
        this.#actions.ikeSaDeleted(ev.ikeSaId, ev.name, cause, ev.reason, this.#d.nowMs());
        break;
      }
      case 'ikeSaMoved': {
        const rec = this.established.get(ev.ikeSaId);
        if (rec !== undefined)
          this.established.set(ev.ikeSaId, {
            ...rec,
            remoteAddress: ev.remote.address,
            natLocal: ev.natLocal,
            natRemote: ev.natRemote,
          });
        this.#keepalives.deleted(ev.ikeSaId);
        this.#keepalives.established(ev.ikeSaId, ev.natLocal, ev.local, ev.remote, this.#d.nowMs());
        // The answer to the peer's UPDATE_SA_ADDRESSES leaves once its CHILD_SAs moved.
        return this.#d.mobike.moved(ev);
      }
      case 'childSaInstalled':
        // A route's source address (the virtual IP) must be on the TUN first. Without one, the installation
        // starts now: its inbound SA is in place before the ESP that came in the same receive batch as the
        // IKE message (a peer may send on the new SA right after its answer) is opened.
        if (!this.#d.vips.has(ev.child.ikeSaId)) return this.#installChild(ev.child, ev.rekeyOf);
        return this.#d.vips.ready(ev.child.ikeSaId).then(() => this.#installChild(ev.child, ev.rekeyOf));
      case 'childSaDeleted': {
        const ikeUp = this.established.has(ev.ikeSaId);
        void this.#d.children.remove(ev.childSaId, this.#d.nowMs()).then((rec) => {
          if (rec === undefined) return;
          this.#d.saLog.childDown(rec.info, ev.reason);
          const stillUp = ikeUp && this.established.has(ev.ikeSaId);
          this.#actions.childSaDeleted({ conn: rec.conn, child: ev.name }, ev.cause, stillUp);
          this.#d.pump();
        });
        break;
      }
      case 'childSaFailed': {
        const conn = this.established.get(ev.ikeSaId)?.name ?? this.connNameOfChild(ev.name) ?? ev.name;
        this.waiters.fail(conn, ev.name, `CHILD_SA ${ev.name} failed: ${notifyText(ev.notifyType)}${ev.reason}`);
        if (ev.notifyType === NotifyType.INTERNAL_ADDRESS_FAILURE && this.established.has(ev.ikeSaId))
          this.#deferred.noVirtualIp(conn, ev.ikeSaId);
        break;
      }
      case 'authFailed': {
        const who = ev.byUs ? 'we rejected the peer' : 'the peer rejected us';
        this.waiters.fail(ev.name, undefined, `${who}: ${ev.reason}`);
        break;
      }
      case 'ikeSaFailed': {
        const what = `IKE_SA ${ev.name}[${ev.ikeSaId}] failed`;
        this.waiters.fail(ev.name, undefined, `${what}: ${notifyText(ev.notifyType)}${ev.reason}`);
        break;
      }
    }
    return undefined;
  }

  /** Carries out the connection manager's pending commands; true when there were any. */
  runCommands(): boolean {
    let ran = false;
    for (let c = this.#actions.nextCommand(); c !== undefined; c = this.#actions.nextCommand()) {
      this.#carryOut(c);
      ran = true;
    }
    return ran;
  }

  /** Sends one pump's messages, then deletes the IKE_SAs condemned meanwhile (DeferredDeletes) and pumps again. */
  sendThenDelete(send: () => void): void {
    send();
    const ids = this.#deferred.take();
    for (const id of ids) if (this.established.has(id)) this.#d.engine.terminate(id, this.#d.nowMs());
    if (ids.length > 0) this.#d.pump();
  }

  /** A packet hit the trap policy holding `reqid`. */
  acquire(reqid: number): void {
    const ref = this.#d.children.reqids.trapOf(reqid);
    if (ref === undefined) return;
    this.#actions.acquire(ref);
    this.#d.pump();
  }

  /** A byte or packet limit of the SA with `spi` was reached. */
  expire(spi: number, hard: boolean): void {
    const rec = this.#d.children.bySpi(spi);
    if (rec === undefined) return;
    this.#actions.expire(rec.info.id, hard);
    this.#d.pump();
  }

  /**
   * The data plane's NAT mapping upcall: an authenticated ESP-in-UDP packet on inbound SA `spi` came from
   * `remote`. When the engine follows (the peer is behind a NAT), every CHILD_SA of that IKE_SA does too.
   */
  async mapping(spi: number, remote: Endpoint): Promise<void> {
    const rec = this.#d.children.bySpi(spi);
    if (rec === undefined || !this.#d.engine.peerMoved(rec.ikeSaId, remote)) return;
    for (const c of [...this.#d.children.all()])
      if (c.ikeSaId === rec.ikeSaId) await this.#d.children.followPeer(c, remote).catch(() => undefined);
    this.#d.pump();
  }

  connection(name: string): DaemonConnection | undefined {
    return this.#d.config().connections.find((c) => c.ike.name === name);
  }

  connNameOfChild(child: string): string | undefined {
    return this.#d.config().connections.find((c) => c.children.has(child))?.ike.name;
  }

  /** Initiates `children` of `conn` (all when undefined) on its established IKE_SA, or on a new IKE_SA carrying them. */
  bringUp(connName: string, children: readonly string[] | undefined, retry = false): void {
    const conn = this.connection(connName);
    if (conn === undefined) throw new ControlError('unknown-name', `no connection named '${connName}'`);
    const { engine } = this.#d;
    const now = this.#d.nowMs();
    const existing = engine
      .ikeSas()
      .find((s) => s.conn?.name === connName && s.state === IkeSaState.ESTABLISHED && this.established.has(s.id));
    if (existing !== undefined) {
      for (const n of children ?? conn.ike.children.map((c) => c.name)) engine.createChild(existing.id, n, now);
    } else {
      if (conn.remoteAddr === undefined)
        throw new ControlError(
          'no-address',
          `connection '${connName}' needs a concrete remote_addrs to initiate (it has %any)`,
        );
      const remote = { address: conn.remoteAddr, port: conn.remotePort };
      if (conn.localAddr === undefined) {
        this.#fromRoute.initiate(
          conn.ike.name,
          conn.localPort,
          remote,
          (id) => this.#actions.initiated(id, conn.ike.name, children, retry),
          children,
        );
        return;
      }
      const local = { address: conn.localAddr, port: conn.localPort };
      this.#actions.initiated(engine.initiate(connName, local, remote, now, children), connName, children, retry);
    }
    this.#d.pump();
  }

  /** Shunts of the (new) configuration, then its trap policies, then its `start_action = start` children. */
  async applyStartActions(): Promise<void> {
    for (const sh of this.#shunts.splice(0)) await this.#d.policies.remove(sh);
    const pass = this.#d
      .config()
      .connections.flatMap((conn) =>
        shuntRequests(conn).flatMap((r) => r.policies.filter((p) => p.action === 'bypass').map((p) => p.selector)),
      );
    await this.#d.guard.setPass(pass);
    for (const conn of this.#d.config().connections)
      for (const req of shuntRequests(conn)) {
        try {
          this.#shunts.push(await this.#d.policies.install(req));
          this.#d.log.log('cfg', LogLevel.CONTROL, req.label);
        } catch (e) {
          if (!(e instanceof InstallError)) throw e; // logged and rolled back by the installer
        }
      }
    this.#actions.startActions();
    // Traps are awaited in order, so a child started afterwards finds its trap's reqid.
    for (let c = this.#actions.nextCommand(); c !== undefined; c = this.#actions.nextCommand()) {
      const conn = c.kind === 'trap' ? this.connection(c.conn) : undefined;
      if (c.kind === 'trap' && conn !== undefined) await this.#d.children.installTrap(conn, c.child);
      else this.#carryOut(c);
    }
    this.#d.pump();
  }

  /** No more actions; shunts removed. */
  async stop(): Promise<void> {
    this.#actions.stop();
    this.waiters.rejectAll(new ControlError('stopping', 'the daemon is stopping'));
    for (const sh of this.#shunts.splice(0)) await this.#d.policies.remove(sh);
  }

  async #installChild(c: ChildSaInfo, rekeyOf: number | undefined): Promise<void> {
    const connName = this.established.get(c.ikeSaId)?.name ?? this.connNameOfChild(c.name);
    const conn = connName === undefined ? undefined : this.connection(connName);
    try {
      const rec = await this.#d.children.install(c, conn, this.#d.nowMs(), rekeyOf);
      this.#d.saLog.childUp(rec);
      this.waiters.installed(c.name, connName, childView(rec, this.#d.nowMs()));
    } catch (e) {
      const why = (e as Error).message;
      this.#d.log.log('knl', LogLevel.AUDIT, `installing CHILD_SA ${c.name}{${c.id}} failed: ${why}`);
      this.waiters.fail(connName ?? c.name, c.name, `installing the CHILD_SA failed: ${why}`);
      this.#d.engine.terminateChild(c.id, this.#d.nowMs());
      this.#d.pump();
    }
  }

  /** Another IKE_SA of the same connection between the same identities is up. */
  #successor(rec: IkeRecord): boolean {
    for (const s of this.established.values())
      if (s.id !== rec.id && s.name === rec.name && s.localId === rec.localId && s.remoteId === rec.remoteId)
        return true;
    return false;
  }

  #carryOut(c: ActionCommand): void {
    const now = this.#d.nowMs();
    try {
      switch (c.kind) {
        case 'initiate':
          this.bringUp(c.conn, c.children, c.retry);
          break;
        case 'trap': {
          const conn = this.connection(c.conn);
          if (conn !== undefined) void this.#d.children.installTrap(conn, c.child);
          break;
        }
        case 'rekeyChild':
          this.#d.engine.rekeyChild(c.childSaId, now);
          break;
        case 'expireChild':
          this.#d.engine.expireChild(c.childSaId, now);
          break;
      }
    } catch (e) {
      const what = c.kind === 'initiate' ? `${c.why} for ${c.conn}` : c.kind;
      this.#d.log.log('ike', LogLevel.AUDIT, `${what}: ${(e as Error).message}`);
    }
  }
}

/** `NO_PROPOSAL_CHOSEN: ` for a notify type, '' for none. */
function notifyText(notifyType: number): string {
  return notifyType > 0 ? `${nameOf(NotifyType, notifyType)}: ` : '';
}
