/**
 * CHILD_SAs into the kernel boundary: both SAs of a CHILD_SA (with the byte and packet limits the engine drew
 * for the data plane to enforce: it counts the traffic; time lifetimes stay with the IKE engine),
 * the PROTECT policies and routes of its reqid, and trap policies under their own reqid; each reqid's
 * selectors also go to the cleartext guard, so cleartext from them is dropped unless it left the TUN.
 * A responder's replacement CHILD_SA holds its outbound SA back until the one it replaces goes (`pendingOut`);
 * the replaced one's inbound SA lingers DELETE_REKEYED_DELAY_MS after that (deadlines driven by the daemon's clock).
 */
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';
import type { EncrId, IntegId } from '../crypto/ids.js';
import type { ChildSaInfo, Endpoint } from '../ike/events.js';
import type { AddSaArgs, KernelIpsec } from '../kernel/kernel-ipsec.js';
import { selectorsFromTs } from '../kernel/selectors-from-ts.js';
import type { DaemonConnection } from './config-map.js';
import { trapRequest } from './config-policies.js';
import { GuardError } from './cleartext-guard.js';
import type { CleartextGuard } from './cleartext-guard.js';
import { InstallError } from './policy-installer.js';
import type { Installed, PolicyInstaller } from './policy-installer.js';
import type { ChildRef } from './reqid-registry.js';
import { ReqidRegistry } from './reqid-registry.js';
import { rangeToPrefixes } from './routes.js';

/** A CHILD_SA installed in the data plane. */
export interface ChildRecord {
  /** As the engine installed it; `remote` follows NAT mapping changes. */
  info: ChildSaInfo;
  readonly conn: string;
  /** The IKE_SA it belongs to now (an IKE rekey moves it to the new IKE_SA). */
  ikeSaId: number;
  readonly reqid: number;
  readonly installedAtMs: number;
  /**
   * The outbound SA, not installed yet: a CHILD_SA we created as responder while another of its reqid is up (a
   * rekey, a reauthentication) sends only once the peer, which installs after us, deleted what it replaces
   * (make-before-break without loss: until then the old SA carries our traffic). See `#mayRelease`.
   */
  pendingOut: AddSaArgs | undefined;
  /** The CHILD_SA this one rekeyed, if it came from a rekey. */
  readonly rekeyOf: number | undefined;
}

/**
 * How long the inbound SA of a replaced CHILD_SA (rekeyed, or its IKE_SA reauthenticated) stays after the
 * DELETE, for packets the peer sent on it just before (strongSwan's `charon.delete_rekeyed_delay`, 5 s).
 */
export const DELETE_REKEYED_DELAY_MS = 5000;

/** Replay window when the configuration gives none (strongSwan's default). */
const DEFAULT_REPLAY_WINDOW = 32;

export class ChildInstaller {
  readonly reqids = new ReqidRegistry();
  readonly #kernel: KernelIpsec;
  readonly #policies: PolicyInstaller;
  readonly #guard: CleartextGuard;
  readonly #log: Logger;
  readonly #children = new Map<number, ChildRecord>();
  /** The CHILD_SAs of each reqid (one, or two during a rekey or reauthentication): no scan per CHILD_SA. */
  readonly #childrenOfReqid = new Map<number, Set<ChildRecord>>();
  /** Policies and routes per reqid, of a CHILD_SA or of a trap. */
  readonly #byReqid = new Map<number, Installed>();
  /** Inbound SAs of replaced CHILD_SAs, removed at `atMs`. */
  #lingering: { readonly info: ChildSaInfo; readonly atMs: number }[] = [];

  constructor(kernel: KernelIpsec, policies: PolicyInstaller, guard: CleartextGuard, log: Logger) {
    this.#kernel = kernel;
    this.#policies = policies;
    this.#guard = guard;
    this.#log = log;
  }

  get(childSaId: number): ChildRecord | undefined {
    return this.#children.get(childSaId);
  }

  all(): IterableIterator<ChildRecord> {
    return this.#children.values();
  }

  get size(): number {
    return this.#children.size;
  }

  /** The CHILD_SA one of whose SPIs is `spi`. */
  bySpi(spi: number): ChildRecord | undefined {
    for (const c of this.#children.values()) if (c.info.spiIn === spi || c.info.spiOut === spi) return c;
    return undefined;
  }

  /**
   * The peer of an ESP-in-UDP CHILD_SA moved (a NAT mapping changed): both SAs follow, inbound expecting
   * and outbound sending to the new address and port.
   */
  async followPeer(rec: ChildRecord, remote: Endpoint): Promise<void> {
    const c = rec.info;
    if (!c.encap) return;
    await this.#kernel.updateSa({
      id: { protocol: c.protocol, spi: c.spiIn, dst: c.local.address },
      src: remote.address,
      encap: { sport: remote.port, dport: c.local.port },
    });
    if (rec.pendingOut !== undefined) {
      rec.pendingOut = { ...rec.pendingOut, dst: remote.address, encap: { sport: c.local.port, dport: remote.port } };
      rec.info = { ...c, remote };
      return;
    }
    await this.#kernel.updateSa({
      id: { protocol: c.protocol, spi: c.spiOut, dst: c.remote.address },
      dst: remote.address,
      encap: { sport: c.local.port, dport: remote.port },
    });
    rec.info = { ...c, remote };
  }

  /**
   * MOBIKE (RFC 4555 3.5): the IKE_SA moved, both SAs of the CHILD_SA take its new outer endpoints (inbound:
   * arriving at `local` from `remote`; outbound: sent to `remote`) and ESP-in-UDP when `encap` (a NAT on the new
   * path), switched on or off in place so sequence numbers and replay windows carry over. A transport mode
   * CHILD_SA keeps the encapsulation it was installed with (logged).
   */
  async move(rec: ChildRecord, local: Endpoint, remote: Endpoint, encap: boolean): Promise<void> {
    const c = rec.info;
    const switchable = c.mode === 'tunnel' || encap === c.encap;
    if (!switchable)
      this.#log.log(
        'knl',
        LogLevel.CONTROL,
        `transport mode CHILD_SA ${c.name}{${c.id}} keeps UDP encapsulation ${c.encap ? 'on' : 'off'} after the ` +
          `move (the new path would want it ${encap ? 'on' : 'off'}); set encap = yes for clients that roam across NATs`,
      );
    const udp = switchable ? encap : c.encap;
    const ports = (sport: number, dport: number) =>
      udp ? { encap: { sport, dport } } : c.encap ? { encap: null } : {};
    await this.#kernel.updateSa({
      id: { protocol: c.protocol, spi: c.spiIn, dst: c.local.address },
      src: remote.address,
      dst: local.address,
      ...ports(remote.port, local.port),
    });
    await this.#kernel.updateSa({
      id: { protocol: c.protocol, spi: c.spiOut, dst: c.remote.address },
      src: local.address,
      dst: remote.address,
      ...ports(local.port, remote.port),
    });
    if (udp !== c.encap)
      this.#log.log('knl', LogLevel.CONTROL, `CHILD_SA ${c.name}{${c.id}}: UDP encapsulation ${udp ? 'on' : 'off'}`);
    rec.info = { ...c, local, remote, encap: udp };
  }

  /** RFC 7296 1.3.2: the CHILD_SAs of a rekeyed IKE_SA move to the new one. */
  moveChildren(fromIkeSaId: number, toIkeSaId: number): void {
    for (const c of this.#children.values()) if (c.ikeSaId === fromIkeSaId) c.ikeSaId = toIkeSaId;
  }

  /**
   * Installs both SAs, then the policies and routes of the reqid if it has none yet. All or nothing: when an
   * SA, a policy or a route fails, what was installed is removed again and the error thrown.
   */
  async install(c: ChildSaInfo, conn: DaemonConnection | undefined, nowMs: number, rekeyOf?: number) {
    const ref: ChildRef = { conn: conn?.ike.name ?? '?', child: c.name };
    const swan = conn?.children.get(c.name);
    const selectors = selectorsFromTs(c.tsLocal, c.tsRemote);
    // A reauthentication's CHILD_SA (same config, selectors and peer) takes over the reqid of the old one.
    const same = JSON.stringify([c.protocol, c.mode, c.remote.address, selectors]);
    const reqid = this.reqids.assign(c.id, ref, rekeyOf, same);
    const common = {
      protocol: c.protocol,
      mode: c.mode,
      reqid,
      esn: c.esn,
      replayWindow: swan?.replayWindow ?? DEFAULT_REPLAY_WINDOW,
      selectors,
    };
    const algorithms = (keys: ChildSaInfo['keysIn']): Pick<AddSaArgs, 'enc' | 'integ'> => ({
      ...(c.protocol === 'esp' ? { enc: { id: c.encrId as EncrId, key: keys.encr } } : {}),
      ...(c.integId !== 0 ? { integ: { id: c.integId as IntegId, key: keys.integ } } : {}),
    });
    const outbound: AddSaArgs = {
      ...common,
      ...algorithms(c.keysOut),
      spi: c.spiOut,
      inbound: false,
      src: c.local.address,
      dst: c.remote.address,
      ...(c.encap ? { encap: { sport: c.local.port, dport: c.remote.port } } : {}),
      lifetime: {
        ...(c.rekeyBytes > 0 ? { softBytes: c.rekeyBytes } : {}),
        ...(c.lifeBytes > 0 ? { hardBytes: c.lifeBytes } : {}),
        ...(c.rekeyPackets > 0 ? { softPackets: c.rekeyPackets } : {}),
        ...(c.lifePackets > 0 ? { hardPackets: c.lifePackets } : {}),
      },
    };
    const holdOut = !c.createdAsInitiator && (this.#childrenOfReqid.get(reqid)?.size ?? 0) > 0;
    try {
      await this.#kernel.addSa({
        ...common,
        ...algorithms(c.keysIn),
        spi: c.spiIn,
        inbound: true,
        src: c.remote.address,
        dst: c.local.address,
        ...(c.encap ? { encap: { sport: c.remote.port, dport: c.local.port } } : {}),
      });
      if (!holdOut) await this.#kernel.addSa(outbound);
    } catch (e) {
      await this.#delSas(c);
      await this.#release(c.id);
      throw e;
    }
    if (!this.#byReqid.has(reqid)) {
      const locals = c.tsLocal.flatMap((t) => rangeToPrefixes(t.startAddr, t.endAddr));
      const routes = c.tsRemote
        .flatMap((t) => rangeToPrefixes(t.startAddr, t.endAddr))
        .map((prefix) => ({ prefix, locals }));
      const policies = selectors.map((selector) => ({
        direction: 'out' as const,
        selector,
        action: 'protect' as const,
        reqid,
      }));
      try {
        const label = `CHILD_SA ${c.name}{${c.id}}`;
        const installed = await this.#policies.install({ label, policies, routes });
        await this.#guard.protect(reqid, selectors).catch(async (e: unknown) => {
          await this.#policies.remove(installed);
          this.#log.log('knl', LogLevel.AUDIT, `${label}: ${(e as Error).message}; rolled back`);
          throw e;
        });
        this.#byReqid.set(reqid, installed);
      } catch (e) {
        // All or nothing: a CHILD_SA whose policies or routes are not all in place is not installed at all.
        await this.#delSas(c);
        await this.#release(c.id);
        throw e;
      }
    }
    const record: ChildRecord = {
      info: c,
      conn: ref.conn,
      ikeSaId: c.ikeSaId,
      reqid,
      installedAtMs: nowMs,
      pendingOut: holdOut ? outbound : undefined,
      rekeyOf,
    };
    this.#children.set(c.id, record);
    let sameReqid = this.#childrenOfReqid.get(reqid);
    if (sameReqid === undefined) this.#childrenOfReqid.set(reqid, (sameReqid = new Set()));
    sameReqid.add(record);
    return record;
  }

  /** Removes both SAs; the reqid's policies and routes go with its last CHILD_SA unless a trap holds them. */
  /**
   * Removes both SAs; the reqid's policies and routes go with its last CHILD_SA unless a trap holds them. A
   * CHILD_SA with a successor of its reqid (rekey, reauthentication) keeps its inbound SA until `nowMs` +
   * DELETE_REKEYED_DELAY_MS.
   */
  async remove(childSaId: number, nowMs?: number): Promise<ChildRecord | undefined> {
    const rec = this.#children.get(childSaId);
    if (rec === undefined) return undefined;
    this.#children.delete(childSaId);
    const sameReqid = this.#childrenOfReqid.get(rec.reqid);
    sameReqid?.delete(rec);
    if (sameReqid?.size === 0) this.#childrenOfReqid.delete(rec.reqid);
    const successors = [...(sameReqid ?? [])];
    // Successors that held back their outbound SAs for it send from now on (before it stops sending): rekeys
    // first, so a reauthentication's CHILD_SA sees whether its old IKE_SA still has one.
    for (const o of [...successors].sort((a, b) => Number(b.rekeyOf !== undefined) - Number(a.rekeyOf !== undefined)))
      if (o.pendingOut !== undefined && this.#mayRelease(o)) await this.#releaseOut(o);
    const c = rec.info;
    if (successors.length > 0 && nowMs !== undefined) {
      await this.#kernel.delSa({ protocol: c.protocol, spi: c.spiOut, dst: c.remote.address }).catch(() => undefined);
      this.#lingering.push({ info: c, atMs: nowMs + DELETE_REKEYED_DELAY_MS });
    } else await this.#delSas(c);
    await this.#release(childSaId);
    return rec;
  }

  /** When the next lingering inbound SA goes. */
  nextDeadlineMs(): number | undefined {
    return this.#lingering.length > 0 ? Math.min(...this.#lingering.map((l) => l.atMs)) : undefined;
  }

  /** Removes the lingering inbound SAs whose time is up. */
  handleTimer(nowMs: number): void {
    const due = this.#lingering.filter((l) => l.atMs <= nowMs);
    this.#lingering = this.#lingering.filter((l) => l.atMs > nowMs);
    for (const { info: c } of due)
      void this.#kernel.delSa({ protocol: c.protocol, spi: c.spiIn, dst: c.local.address }).catch(() => undefined);
  }

  /**
   * May a held-back outbound SA be used? The peer installed the CHILD_SA when it deleted the one it rekeyed
   * (rekey), or, for a CHILD_SA of a new IKE_SA (a reauthentication), when no CHILD_SA of the reqid is left on
   * another IKE_SA (the peer deleted the old IKE_SA). Until then it may not have it yet.
   */
  #mayRelease(rec: ChildRecord): boolean {
    if (rec.rekeyOf !== undefined) return !this.#children.has(rec.rekeyOf);
    for (const o of this.#childrenOfReqid.get(rec.reqid) ?? []) if (o.ikeSaId !== rec.ikeSaId) return false;
    return true;
  }

  async #releaseOut(rec: ChildRecord): Promise<void> {
    const out = rec.pendingOut;
    if (out === undefined) return;
    rec.pendingOut = undefined;
    try {
      await this.#kernel.addSa(out);
    } catch (e) {
      const c = rec.info;
      this.#log.log('knl', LogLevel.AUDIT, `CHILD_SA ${c.name}{${c.id}}: outbound SA: ${(e as Error).message}`);
    }
  }

  /** Both SAs of a CHILD_SA, whichever are there. */
  async #delSas(c: ChildSaInfo): Promise<void> {
    await this.#kernel.delSa({ protocol: c.protocol, spi: c.spiIn, dst: c.local.address }).catch(() => undefined);
    await this.#kernel.delSa({ protocol: c.protocol, spi: c.spiOut, dst: c.remote.address }).catch(() => undefined);
  }

  /** A trap policy for one child config (once: a reqid that has policies keeps them). */
  async installTrap(conn: DaemonConnection, childName: string): Promise<void> {
    const reqid = this.reqids.trap({ conn: conn.ike.name, child: childName });
    if (this.#byReqid.has(reqid)) return;
    const req = trapRequest(conn, childName, reqid);
    if (req === undefined) return;
    try {
      const installed = await this.#policies.install(req);
      await this.#guard
        .protect(
          reqid,
          req.policies.map((p) => p.selector),
        )
        .catch(async (e: unknown) => {
          await this.#policies.remove(installed);
          throw e;
        });
      this.#byReqid.set(reqid, installed);
    } catch (e) {
      if (e instanceof GuardError) this.#log.log('knl', LogLevel.AUDIT, `${req.label}: ${e.message}; not installed`);
      // The installer logged what failed and rolled it back; the trap is simply not there.
      if (e instanceof InstallError || e instanceof GuardError) return;
      throw e;
    }
    this.#log.log('cfg', LogLevel.CONTROL, `installed trap policies for ${conn.ike.name}/${childName}`);
  }

  async #release(childSaId: number): Promise<void> {
    const r = this.reqids.release(childSaId);
    if (r === undefined || !r.unused || r.trap) return;
    const installed = this.#byReqid.get(r.reqid);
    this.#byReqid.delete(r.reqid);
    if (installed === undefined) return;
    await this.#guard.release(r.reqid);
    await this.#policies.remove(installed);
  }
}
