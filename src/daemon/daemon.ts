/**
 * The daemon: the I/O glue around the sans-I/O IKE engine and the user-space data plane.
 *
 *   UDP 500/4500 --IKE--> IkeEngine --events--> SA bookkeeping --addSa/addPolicy--> UserspaceDataplane
 *        ^                    |                                                        |      ^
 *        +----datagrams-------+                             TUN <--- open/seal ---> raw ESP / UDP 4500
 *
 * Everything is driven from the event loop: each input (datagram, timer, control command, upcall) is
 * handed to the engine, then `pump()` sends what the engine produced, applies its events and re-arms the
 * single timer at the engine's next deadline.
 */
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';
import type { Rng } from '../crypto/types.js';
import { IkeEngine } from '../ike/engine.js';
import type { ConnectionConfig, EngineConfig } from '../ike/config.js';
import type { ChildSaInfo as EngineChild, Endpoint, IkeEvent, OutgoingDatagram } from '../ike/events.js';
import { formatTs } from '../ike/traffic-selectors.js';
import type { TrafficSelector } from '../ike/codec/types.js';
import { nameOf, EncrId, IntegId } from '../crypto/ids.js';
import { NotifyType } from '../ike/codec/constants.js';
import { UserspaceDataplane } from '../dataplane/userspace-dataplane.js';
import { selectorsFromTs } from '../kernel/traffic-selectors.js';
import type { IpFamily, PacketSocket, TunDevice, UdpEndpoint } from '../io/types.js';
import { ControlError } from '../control/protocol.js';
import type { ChildSaInfo, ConnectionInfo, DaemonStats, IkeSaInfo } from '../control/schema.js';
import { connectionCertificates, saCertificates } from '../pki/listing.js';
import type { DaemonConfig, DaemonConnection } from './config-map.js';
import type { AddressSpec } from '../config/swanctl-model.js';
import type { DaemonIo } from './daemon-io.js';
import type { SelectorInput } from '../spd/selector.js';
import { XfrmTables } from '../xfrm/xfrm-tables.js';
import type { XfrmResult } from '../xfrm/xfrm-tables.js';
import { parseXfrmLine } from '../xfrm/parse.js';
import { loadXfrmFile } from '../xfrm/load-file.js';
import type { XfrmPolicyJson } from '../xfrm/format-list.js';
import { espSasOfChild, ikeSaOfKeys } from './save-keys.js';
import type { SaveKeysFiles } from './save-keys.js';
import { rangeToPrefixes, singleHost } from './routes.js';

const IKE_PORT = 500;
const NAT_T_PORT = 4500;
const NON_ESP_MARKER = Buffer.alloc(4);
const ESP_PROTOCOL = 50;
const AH_PROTOCOL = 51;
/** The engine's reasons for an SA going away that trigger close_action and dpd_action. */
const DELETED_BY_PEER = 'deleted by peer';
const PEER_NOT_RESPONDING = 'peer not responding';

export interface DaemonOptions {
  readonly config: DaemonConfig;
  readonly io: DaemonIo;
  readonly rng: Rng;
  readonly log: Logger;
  /** `--save-keys DIR`: Wireshark's esp_sa and ikev2_decryption_table, kept current. */
  readonly saveKeys?: SaveKeysFiles;
  /** Is this one of our addresses (manual SAs without `dir`: inbound when dst is ours)? */
  readonly isLocalAddress?: (address: string) => boolean;
}

/** What the daemon remembers of an IKE_SA for listings. */
interface IkeRecord {
  id: number;
  name: string;
  state: string;
  initiator: boolean;
  local: Endpoint;
  remote: Endpoint;
  localId: string;
  remoteId: string;
  spiI: string;
  spiR: string;
  proposal: string;
  natLocal: boolean;
  natRemote: boolean;
  establishedAtMs: number | undefined;
}

/** A CHILD_SA installed in the data plane. */
interface ChildRecord {
  info: EngineChild;
  /** The IKE_SA it belongs to now (an IKE rekey moves it to the new IKE_SA). */
  ikeSaId: number;
  reqid: number;
  installedAtMs: number;
}

/** Policies and routes of one child config while it has SAs. */
interface ReqidRecord {
  reqid: number;
  policyIds: number[];
  routes: { prefix: string; dev: string }[];
  refs: number;
}

interface InitAttempt {
  conn: string;
  children: readonly string[] | undefined;
  attempt: number;
}

type Waiter = {
  name: string;
  conn: string;
  resolve: (children: ChildSaInfo[]) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
};

export class Daemon {
  private config: DaemonConfig;
  private readonly io: DaemonIo;
  private readonly log: Logger;
  private readonly engine: IkeEngine;
  private readonly dataplane: UserspaceDataplane;
  private readonly tun: TunDevice;
  private readonly udp = new Map<string, UdpEndpoint>();
  private readonly raw: Partial<Record<IpFamily, PacketSocket>> = {};
  private readonly rawAh: Partial<Record<IpFamily, PacketSocket>> = {};
  private readonly ikeSas = new Map<number, IkeRecord>();
  private readonly children = new Map<number, ChildRecord>();
  private readonly reqids = new Map<string, ReqidRecord>();
  private readonly waiters = new Set<Waiter>();
  private readonly shunts: { remove: () => Promise<void> }[] = [];
  /** IKE_SAs we initiated and not yet established: for keyingtries. */
  private readonly initiated = new Map<number, InitAttempt>();
  private readonly attempts = new Map<string, InitAttempt>();
  private readonly retryTimers = new Set<ReturnType<typeof setTimeout>>();
  private readonly saveKeys: SaveKeysFiles | undefined;
  /** Manually keyed SAs and policies (`ip xfrm` syntax), beside the IKE ones. */
  private readonly xfrm: XfrmTables;
  private readonly xfrmRoutes = new Map<string, { prefix: string; src: string | undefined }>();
  private nextReqid = 1;
  private readonly startedAtMs: number;
  private readonly counters = { ikeIn: 0, ikeOut: 0 };
  private closed = false;

  constructor(options: DaemonOptions) {
    this.config = options.config;
    this.io = options.io;
    this.log = options.log;
    this.startedAtMs = this.io.clock.nowMs();
    const current = (): DaemonConfig => this.config;
    const engineConfig: EngineConfig = {
      get connections(): readonly ConnectionConfig[] {
        return current().connections.map((c) => c.ike);
      },
      psk: (l, r) => current().psk(l, r),
      rng: options.rng,
      log: options.log,
    };
    this.engine = new IkeEngine(engineConfig);
    this.tun = this.io.openTun();
    for (const family of [4, 6] as const) {
      for (const port of [IKE_PORT, NAT_T_PORT]) {
        try {
          this.udp.set(`${family}/${port}`, this.io.openUdp(family, port));
        } catch (e) {
          this.log.log('net', LogLevel.CONTROL, `no IPv${family} UDP ${port}: ${(e as Error).message}`);
        }
      }
      try {
        this.raw[family] = this.io.openRaw(family, ESP_PROTOCOL);
      } catch (e) {
        this.log.log('net', LogLevel.CONTROL, `no IPv${family} raw ESP socket: ${(e as Error).message}`);
      }
      try {
        this.rawAh[family] = this.io.openRaw(family, AH_PROTOCOL);
      } catch (e) {
        this.log.log('net', LogLevel.CONTROL, `no IPv${family} raw AH socket: ${(e as Error).message}`);
      }
    }
    const natTEndpoints: Partial<Record<IpFamily, UdpEndpoint>> = {};
    for (const family of [4, 6] as const) {
      const ep = this.udp.get(`${family}/${NAT_T_PORT}`);
      if (ep) natTEndpoints[family] = ep;
    }
    this.dataplane = new UserspaceDataplane({
      tun: this.tun,
      espSockets: this.raw,
      ahSockets: this.rawAh,
      natTEndpoints,
      rng: options.rng,
      nowMs: () => this.io.clock.nowMs(),
      logger: options.log,
    });
    this.saveKeys = options.saveKeys;
    this.xfrm = new XfrmTables(
      this.dataplane,
      options.isLocalAddress ? { isLocalAddress: options.isLocalAddress } : {},
    );
    this.dataplane.setListener({
      acquire: (e) => this.onAcquire(e.reqid),
      expire: (e) => this.onExpire(e.id.spi, e.hard),
      mapping: () => undefined,
    });
  }

  /** Opens the sockets and the TUN, installs trap and shunt policies, starts `start_action = start` children. */
  async start(): Promise<void> {
    await this.io.setup();
    this.dataplane.start();
    for (const [key, ep] of this.udp) {
      const port = Number(key.split('/')[1]);
      ep.start({
        ike: (message, remote, local) => this.onIke(message, remote, local, port),
        esp: this.dataplane.espReceiver,
        keepalive: () => undefined,
      });
    }
    this.log.log(
      'dmn',
      LogLevel.AUDIT,
      `started: TUN ${this.tun.name}, ${this.config.connections.length} connection(s)`,
    );
    await this.applyStartActions();
  }

  /** The TUN device name (routes point at it). */
  get tunName(): string {
    return this.tun.name;
  }

  // ------------------------------------------------------------------ engine glue

  private now(): number {
    return this.io.clock.nowMs();
  }

  private onIke(message: Buffer, remote: Endpoint, local: Endpoint, port: number): void {
    if (this.closed) return;
    this.counters.ikeIn++;
    // The endpoint strips the non-ESP marker on 4500; the engine expects the datagram as it came.
    const bytes = port === NAT_T_PORT ? Buffer.concat([NON_ESP_MARKER, message]) : message;
    const localEp = { address: local.address, port };
    this.engine.receiveDatagram(bytes, { address: remote.address, port: remote.port }, localEp, this.now());
    this.pump();
  }

  /**
   * Applies the engine's events, sends what it produced, re-arms the timer. When a CHILD_SA was installed,
   * its messages leave only once the SAs, policies and routes are in place (as a kernel-based IKE daemon
   * does), so the peer's first packets are not lost to a half-installed SA.
   */
  private pump(): void {
    const datagrams = this.engine.datagramsToSend();
    const installs: Promise<void>[] = [];
    for (let ev = this.engine.nextEvent(); ev !== undefined; ev = this.engine.nextEvent()) {
      const p = this.onEvent(ev);
      if (p !== undefined) installs.push(p);
    }
    if (installs.length === 0) this.send(datagrams);
    else void Promise.all(installs).then(() => this.send(datagrams));
    if (!this.closed) this.io.clock.setDeadline(this.engine.nextTimerMs(), (now) => this.onTimer(now));
  }

  private send(datagrams: readonly OutgoingDatagram[]): void {
    for (const d of datagrams) {
      const family: IpFamily = d.to.address.includes(':') ? 6 : 4;
      const ep = this.udp.get(`${family}/${d.from.port}`);
      if (ep === undefined) {
        this.log.log('net', LogLevel.CONTROL, `no socket for ${d.from.address}[${d.from.port}], message dropped`);
        continue;
      }
      const payload = d.from.port === NAT_T_PORT || d.to.port === NAT_T_PORT ? d.bytes.subarray(4) : d.bytes;
      ep.sendIke(payload, { address: d.to.address, port: d.to.port });
      this.counters.ikeOut++;
    }
  }

  private onTimer(nowMs: number): void {
    this.engine.handleTimer(nowMs);
    this.pump();
  }

  private onEvent(ev: IkeEvent): Promise<void> | undefined {
    switch (ev.type) {
      case 'ikeSaEstablished':
        this.ikeSas.set(ev.ikeSaId, {
          id: ev.ikeSaId,
          name: ev.name,
          state: 'ESTABLISHED',
          initiator: ev.initiator,
          local: ev.local,
          remote: ev.remote,
          localId: ev.localId,
          remoteId: ev.remoteId,
          spiI: ev.spiI.toString('hex'),
          spiR: ev.spiR.toString('hex'),
          proposal: ev.proposal,
          natLocal: ev.natLocal,
          natRemote: ev.natRemote,
          establishedAtMs: this.now(),
        });
        this.saveIkeKeys(ev.ikeSaId);
        this.initiated.delete(ev.ikeSaId);
        if (ev.rekeyOf !== undefined) {
          // RFC 7296 1.3.2: the CHILD_SAs move to the new IKE_SA.
          for (const c of this.children.values()) if (c.ikeSaId === ev.rekeyOf) c.ikeSaId = ev.ikeSaId;
        }
        this.log.log(
          'ike',
          LogLevel.AUDIT,
          `IKE_SA ${ev.name}[${ev.ikeSaId}] established between ${ev.local.address}[${ev.localId}]...${ev.remote.address}[${ev.remoteId}]`,
        );
        break;
      case 'ikeSaDeleted':
        this.retryKeying(ev.ikeSaId, ev.reason);
        this.ikeSas.delete(ev.ikeSaId);
        this.saveKeys?.removeIke(ev.ikeSaId);
        this.log.log('ike', LogLevel.AUDIT, `IKE_SA ${ev.name}[${ev.ikeSaId}] deleted: ${ev.reason}`);
        this.failWaiters(ev.name, undefined, `IKE_SA ${ev.name}[${ev.ikeSaId}] deleted: ${ev.reason}`);
        if (ev.reason === DELETED_BY_PEER) this.afterLoss(ev.name, undefined, 'close');
        else if (ev.reason === PEER_NOT_RESPONDING) this.afterLoss(ev.name, undefined, 'dpd');
        break;
      case 'childSaInstalled':
        return this.installChild(ev.child);
      case 'childSaDeleted': {
        const ikeUp = this.ikeSas.get(ev.ikeSaId)?.state === 'ESTABLISHED';
        void this.removeChild(ev.childSaId, ev.reason).then(() => {
          // A CHILD_SA the peer deleted while its IKE_SA stays up: close_action for that child alone.
          if (ev.reason === DELETED_BY_PEER && ikeUp && this.ikeSas.has(ev.ikeSaId))
            this.afterLoss(undefined, ev.name, 'close');
        });
        break;
      }
      case 'childSaFailed':
        this.failWaiters(ev.name, ev.name, `CHILD_SA ${ev.name} failed: ${notifyText(ev.notifyType)}${ev.reason}`);
        break;
      case 'authFailed':
        this.failWaiters(
          ev.name,
          undefined,
          `${ev.byUs ? 'we rejected the peer' : 'the peer rejected us'}: ${ev.reason}`,
        );
        break;
      case 'ikeSaFailed':
        this.failWaiters(
          ev.name,
          undefined,
          `IKE_SA ${ev.name}[${ev.ikeSaId}] failed: ${notifyText(ev.notifyType)}${ev.reason}`,
        );
        break;
    }
    return undefined;
  }

  private connectionOf(name: string): DaemonConnection | undefined {
    return this.config.connections.find((c) => c.ike.name === name);
  }

  private reqidFor(conn: string, child: string): ReqidRecord {
    const key = `${conn}/${child}`;
    let r = this.reqids.get(key);
    if (r === undefined) {
      r = { reqid: this.nextReqid++, policyIds: [], routes: [], refs: 0 };
      this.reqids.set(key, r);
    }
    return r;
  }

  private async installChild(c: EngineChild): Promise<void> {
    const ike = this.ikeSas.get(c.ikeSaId);
    const connName = ike?.name ?? this.connNameOfChild(c.name);
    const conn = connName === undefined ? undefined : this.connectionOf(connName);
    const swanChild = conn?.children.get(c.name);
    const r = this.reqidFor(connName ?? '?', c.name);
    const selectors = selectorsFromTs(c.tsLocal, c.tsRemote);
    const common = {
      protocol: c.protocol,
      mode: c.mode,
      reqid: r.reqid,
      esn: c.esn,
      replayWindow: swanChild?.replayWindow ?? 32,
      ...(c.encap ? {} : {}),
    };
    const enc = c.protocol === 'esp' ? { id: c.encrId as EncrId, key: c.keysIn.encr } : undefined;
    const integ = c.integId !== 0 ? { id: c.integId as IntegId, key: c.keysIn.integ } : undefined;
    const encOut = c.protocol === 'esp' ? { id: c.encrId as EncrId, key: c.keysOut.encr } : undefined;
    const integOut = c.integId !== 0 ? { id: c.integId as IntegId, key: c.keysOut.integ } : undefined;
    try {
      await this.dataplane.addSa({
        ...common,
        spi: c.spiIn,
        inbound: true,
        src: c.remote.address,
        dst: c.local.address,
        ...(enc ? { enc } : {}),
        ...(integ ? { integ } : {}),
        ...(c.encap ? { encap: { sport: c.remote.port, dport: c.local.port } } : {}),
        selectors,
      });
      await this.dataplane.addSa({
        ...common,
        spi: c.spiOut,
        inbound: false,
        src: c.local.address,
        dst: c.remote.address,
        ...(encOut ? { enc: encOut } : {}),
        ...(integOut ? { integ: integOut } : {}),
        ...(c.encap ? { encap: { sport: c.local.port, dport: c.remote.port } } : {}),
        lifetime: {
          ...(swanChild && swanChild.rekeyBytes > 0 ? { softBytes: swanChild.rekeyBytes } : {}),
          ...(c.lifeBytes > 0 ? { hardBytes: c.lifeBytes } : {}),
          ...(swanChild && swanChild.rekeyPackets > 0 ? { softPackets: swanChild.rekeyPackets } : {}),
          ...(c.lifePackets > 0 ? { hardPackets: c.lifePackets } : {}),
        },
        selectors,
      });
      this.children.set(c.id, { info: c, ikeSaId: c.ikeSaId, reqid: r.reqid, installedAtMs: this.now() });
      this.saveKeys?.addChild(c.id, espSasOfChild(c));
      r.refs++;
      if (r.policyIds.length === 0) {
        for (const selector of selectors) {
          r.policyIds.push(
            await this.dataplane.addPolicy({ direction: 'out', selector, action: 'protect', reqid: r.reqid }),
          );
        }
      }
      if (r.routes.length === 0) await this.addRoutes(r, c.tsLocal, c.tsRemote);
      this.log.log(
        'chd',
        LogLevel.AUDIT,
        `CHILD_SA ${c.name}{${c.id}} established with SPIs ${hex8(c.spiIn)}_i ${hex8(c.spiOut)}_o and TS ${c.tsLocal.map(formatTs).join(' ')} === ${c.tsRemote.map(formatTs).join(' ')}`,
      );
      this.resolveWaiters(c);
    } catch (e) {
      this.log.log('knl', LogLevel.AUDIT, `installing CHILD_SA ${c.name}{${c.id}} failed: ${(e as Error).message}`);
      this.failWaiters(connName ?? c.name, c.name, `installing the CHILD_SA failed: ${(e as Error).message}`);
      this.engine.terminateChild(c.id, this.now());
      this.pump();
    }
  }

  private connNameOfChild(child: string): string | undefined {
    return this.config.connections.find((c) => c.children.has(child))?.ike.name;
  }

  private async addRoutes(r: ReqidRecord, local: readonly TrafficSelector[], remote: readonly TrafficSelector[]) {
    const src = local.length === 1 && local[0] ? singleHost(local[0].startAddr, local[0].endAddr) : undefined;
    for (const ts of remote) {
      for (const prefix of rangeToPrefixes(ts.startAddr, ts.endAddr)) {
        const sameFamily = src !== undefined && src.includes(':') === prefix.includes(':');
        try {
          await this.io.addRoute(prefix, this.tun.name, sameFamily ? src : undefined);
          r.routes.push({ prefix, dev: this.tun.name });
          this.log.log(
            'knl',
            LogLevel.CONTROL,
            `route ${prefix} via ${this.tun.name}${sameFamily ? ` src ${src}` : ''}`,
          );
        } catch (e) {
          this.log.log('knl', LogLevel.CONTROL, `route ${prefix} via ${this.tun.name} failed: ${(e as Error).message}`);
        }
      }
    }
  }

  private async removeChild(childSaId: number, reason: string): Promise<void> {
    const rec = this.children.get(childSaId);
    if (rec === undefined) return;
    this.children.delete(childSaId);
    this.saveKeys?.removeChild(childSaId);
    const c = rec.info;
    await this.dataplane.delSa({ protocol: c.protocol, spi: c.spiIn, dst: c.local.address }).catch(() => undefined);
    await this.dataplane.delSa({ protocol: c.protocol, spi: c.spiOut, dst: c.remote.address }).catch(() => undefined);
    this.log.log('chd', LogLevel.AUDIT, `CHILD_SA ${c.name}{${c.id}} deleted: ${reason}`);
    const r = [...this.reqids.values()].find((x) => x.reqid === rec.reqid);
    if (r === undefined) return;
    r.refs--;
    if (r.refs > 0) return;
    const conn = this.connNameOfChild(c.name);
    const swan = conn === undefined ? undefined : this.connectionOf(conn)?.children.get(c.name);
    if (swan?.startAction.includes('trap')) return; // trap policies stay to catch the next packet
    for (const id of r.policyIds.splice(0)) await this.dataplane.delPolicy(id).catch(() => undefined);
    for (const rt of r.routes.splice(0)) await this.io.delRoute(rt.prefix, rt.dev).catch(() => undefined);
  }

  private onAcquire(reqid: number): void {
    for (const [key, r] of this.reqids) {
      if (r.reqid !== reqid) continue;
      const [conn, child] = key.split('/') as [string, string];
      this.log.log('knl', LogLevel.CONTROL, `acquire for ${conn}/${child} (reqid ${reqid})`);
      try {
        this.bringUp(conn, [child]);
      } catch (e) {
        this.log.log('ike', LogLevel.CONTROL, `cannot start ${conn}/${child}: ${(e as Error).message}`);
      }
      return;
    }
  }

  private onExpire(spi: number, hard: boolean): void {
    for (const rec of this.children.values()) {
      if (rec.info.spiIn !== spi && rec.info.spiOut !== spi) continue;
      if (hard) this.engine.terminateChild(rec.info.id, this.now());
      else this.engine.rekeyChild(rec.info.id, this.now());
      this.pump();
      return;
    }
  }

  /** Initiates `children` of `conn` (all when undefined) on the existing IKE_SA, or on a new IKE_SA carrying them. */
  private bringUp(connName: string, children: readonly string[] | undefined, retry = false): void {
    const conn = this.connectionOf(connName);
    if (conn === undefined) throw new ControlError('unknown-name', `no connection named '${connName}'`);
    const existing = [...this.ikeSas.values()].find((s) => s.name === connName && s.state === 'ESTABLISHED');
    const now = this.now();
    if (existing !== undefined) {
      const names = children ?? conn.ike.children.map((c) => c.name);
      for (const n of names) this.engine.createChild(existing.id, n, now);
    } else {
      if (conn.localAddr === undefined || conn.remoteAddr === undefined) {
        throw new ControlError(
          'no-address',
          `connection '${connName}' needs concrete local_addrs and remote_addrs to initiate (it has %any)`,
        );
      }
      const id = this.engine.initiate(
        connName,
        { address: conn.localAddr, port: conn.localPort },
        { address: conn.remoteAddr, port: conn.remotePort },
        now,
        children,
      );
      const previous = this.attempts.get(connName);
      this.initiated.set(id, {
        conn: connName,
        children,
        attempt: retry && previous !== undefined ? previous.attempt + 1 : 1,
      });
      this.attempts.set(connName, this.initiated.get(id) as InitAttempt);
    }
    this.pump();
  }

  /**
   * `mode = pass` and `mode = drop` children: bypass and discard policies, no IKE (RFC 4301 4.4.1). A pass
   * child's traffic is kept out of the TUN by a routing rule as narrow as its selector (protocol and ports
   * included), so it never widens what leaves in the clear.
   */
  private async installShunts(): Promise<void> {
    for (const sh of this.shunts.splice(0)) await sh.remove().catch(() => undefined);
    for (const conn of this.config.connections) {
      for (const child of conn.shunts) {
        for (const lts of child.localTs)
          for (const rts of child.remoteTs) {
            const local = lts.address.kind === 'dynamic' ? conn.localAddr : tsPrefix(lts.text);
            const remote = rts.address.kind === 'dynamic' ? conn.remoteAddr : tsPrefix(rts.text);
            if (local === undefined || remote === undefined || local.includes(':') !== remote.includes(':')) continue;
            const protocol = lts.protocol || rts.protocol;
            const selector: SelectorInput = {
              local,
              remote,
              ...(protocol !== 0 ? { protocol } : {}),
              ...(portRange(lts) ? { localPort: portRange(lts) as { start: number; end: number } } : {}),
              ...(portRange(rts) ? { remotePort: portRange(rts) as { start: number; end: number } } : {}),
            };
            const action = child.mode === 'pass' ? 'bypass' : 'discard';
            const what = `${child.mode} policy ${lts.text} === ${rts.text} (${conn.ike.name}/${child.name})`;
            try {
              const id = await this.dataplane.addPolicy({ direction: 'out', selector, action });
              const prefix = asPrefix(remote);
              const rule = { prefix, protocol, ports: portRange(rts) };
              if (action === 'bypass') await this.io.addBypass(rule);
              else await this.io.addRoute(prefix, this.tun.name);
              this.shunts.push({
                remove: async () => {
                  await this.dataplane.delPolicy(id);
                  if (action === 'bypass') await this.io.delBypass(rule);
                  else await this.io.delRoute(prefix, this.tun.name);
                },
              });
              this.log.log('cfg', LogLevel.CONTROL, what);
            } catch (e) {
              this.log.log('knl', LogLevel.AUDIT, `${what} failed: ${(e as Error).message}`);
            }
          }
      }
    }
  }

  /**
   * swanctl's `keyingtries`: an IKE_SA we initiated that failed before it was established is tried again,
   * up to keyingtries attempts in all (0: for ever), one second apart. Authentication failures are final.
   */
  private retryKeying(ikeSaId: number, reason: string): void {
    const a = this.initiated.get(ikeSaId);
    if (a === undefined) return;
    this.initiated.delete(ikeSaId);
    const conn = this.connectionOf(a.conn);
    if (conn === undefined || this.closed || /AUTHENTICATION_FAILED|authentication/i.test(reason)) return;
    const tries = conn.source.keyingtries;
    if (tries !== 0 && a.attempt >= tries) {
      if (tries > 1) this.log.log('ike', LogLevel.AUDIT, `${a.conn}: giving up after ${a.attempt} keying tries`);
      return;
    }
    this.log.log(
      'ike',
      LogLevel.CONTROL,
      `${a.conn}: keying try ${a.attempt + 1}${tries ? ` of ${tries}` : ''} in 1 s (${reason})`,
    );
    const t = setTimeout(() => {
      this.retryTimers.delete(t);
      try {
        this.bringUp(a.conn, a.children, true);
      } catch (e) {
        this.log.log('ike', LogLevel.AUDIT, `${a.conn}: retry failed: ${(e as Error).message}`);
      }
    }, 1000);
    this.retryTimers.add(t);
  }

  /**
   * swanctl's `close_action` (the peer deleted the SA) and `dpd_action` (the peer stopped answering):
   * `start`/`restart` initiates again, `trap` keeps (or installs) the trap policy so the next packet does.
   */
  private afterLoss(connName: string | undefined, childName: string | undefined, why: 'close' | 'dpd'): void {
    if (this.closed) return;
    const conn =
      connName !== undefined
        ? this.connectionOf(connName)
        : this.connectionOf(this.connNameOfChild(childName ?? '') ?? '');
    if (conn === undefined) return;
    const restart: string[] = [];
    for (const [name, ch] of conn.children) {
      if (childName !== undefined && name !== childName) continue;
      const action = why === 'close' ? ch.closeAction : ch.dpdAction;
      if (action === 'start' || action === 'restart') restart.push(name);
      else if (action === 'trap') void this.installTrap(conn, name);
    }
    if (restart.length === 0) return;
    this.log.log('ike', LogLevel.CONTROL, `${why}_action: initiating ${conn.ike.name} (${restart.join(', ')}) again`);
    try {
      this.bringUp(conn.ike.name, restart);
    } catch (e) {
      this.log.log('ike', LogLevel.AUDIT, `${why}_action for ${conn.ike.name}: ${(e as Error).message}`);
    }
  }

  private async applyStartActions(): Promise<void> {
    await this.installShunts();
    for (const conn of this.config.connections) {
      for (const [name, ch] of conn.children) {
        if (ch.startAction.includes('trap')) await this.installTrap(conn, name);
      }
      for (const [name, ch] of conn.children) {
        if (ch.startAction.includes('start')) {
          try {
            this.bringUp(conn.ike.name, [name]);
          } catch (e) {
            this.log.log('ike', LogLevel.AUDIT, `start_action for ${conn.ike.name}/${name}: ${(e as Error).message}`);
          }
        }
      }
    }
  }

  /** A trap policy: protect with no SA yet, so the first packet raises an acquire (never leaves in the clear). */
  private async installTrap(conn: DaemonConnection, childName: string): Promise<void> {
    const child = conn.ike.children.find((c) => c.name === childName);
    const swan = conn.children.get(childName);
    if (child === undefined || swan === undefined) return;
    const r = this.reqidFor(conn.ike.name, childName);
    if (r.policyIds.length > 0) return;
    const locals = swan.localTs.map((t) => (t.address.kind === 'dynamic' ? conn.localAddr : t.text));
    const remotes = swan.remoteTs.map((t) => (t.address.kind === 'dynamic' ? conn.remoteAddr : t.text));
    for (const l of locals)
      for (const rm of remotes) {
        if (l === undefined || rm === undefined) continue;
        const local = tsPrefix(l);
        const remote = tsPrefix(rm);
        if (local.includes(':') !== remote.includes(':')) continue;
        try {
          r.policyIds.push(
            await this.dataplane.addPolicy({
              direction: 'out',
              selector: { local, remote },
              action: 'protect',
              reqid: r.reqid,
            }),
          );
          {
            const prefix = asPrefix(remote);
            const src = local.includes('/') ? undefined : local;
            await this.io.addRoute(prefix, this.tun.name, src);
            r.routes.push({ prefix, dev: this.tun.name });
          }
        } catch (e) {
          this.log.log('knl', LogLevel.CONTROL, `trap policy ${local} === ${remote} failed: ${(e as Error).message}`);
        }
      }
    this.log.log('cfg', LogLevel.CONTROL, `installed trap policies for ${conn.ike.name}/${childName}`);
  }

  // ------------------------------------------------------------------ control commands

  /** `up NAME`: resolves once every CHILD_SA asked for is installed; rejects with the reason otherwise. */
  up(name: string, timeoutSec: number): Promise<{ children: ChildSaInfo[] }> {
    let connName: string;
    let child: string | undefined;
    if (this.connectionOf(name) !== undefined) connName = name;
    else {
      const owner = this.connNameOfChild(name);
      if (owner === undefined) throw new ControlError('unknown-name', `no connection or child named '${name}'`);
      connName = owner;
      child = name;
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        name: child ?? connName,
        conn: connName,
        resolve: (children) => resolve({ children }),
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(
            new ControlError('timeout', `no CHILD_SA for '${name}' after ${timeoutSec} s (no answer from the peer?)`),
          );
        }, timeoutSec * 1000),
      };
      this.waiters.add(waiter);
      try {
        this.bringUp(connName, child === undefined ? undefined : [child]);
      } catch (e) {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        reject(e);
      }
    });
  }

  private resolveWaiters(c: EngineChild): void {
    for (const w of this.waiters) {
      const conn = this.ikeSas.get(c.ikeSaId)?.name;
      if (w.name === c.name || (w.conn === w.name && conn === w.conn)) {
        clearTimeout(w.timer);
        this.waiters.delete(w);
        w.resolve([this.childInfo(this.children.get(c.id) as ChildRecord)]);
      }
    }
  }

  private failWaiters(conn: string, child: string | undefined, reason: string): void {
    for (const w of this.waiters) {
      if (w.conn !== conn && w.name !== conn) continue;
      if (child !== undefined && w.name !== child && w.name !== w.conn) continue;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.reject(new ControlError('failed', reason));
    }
  }

  /** `down NAME`: deletes the children of that name, or the IKE_SAs of that connection. */
  down(name: string): { deleted: string[] } {
    const deleted: string[] = [];
    const now = this.now();
    for (const s of this.ikeSas.values()) {
      if (s.name === name) {
        this.engine.terminate(s.id, now);
        deleted.push(`IKE_SA ${s.name}[${s.id}]`);
      }
    }
    if (deleted.length === 0) {
      for (const c of this.children.values()) {
        if (c.info.name === name) {
          this.engine.terminateChild(c.info.id, now);
          deleted.push(`CHILD_SA ${c.info.name}{${c.info.id}}`);
        }
      }
    }
    if (deleted.length === 0) throw new ControlError('not-up', `nothing named '${name}' is up`);
    this.pump();
    return { deleted };
  }

  private saveIkeKeys(ikeSaId: number): void {
    if (this.saveKeys === undefined) return;
    const sa = this.engine.ikeSas().find((x) => x.id === ikeSaId);
    if (sa?.keys === undefined || sa.proposal?.encr === undefined) return;
    const t = {
      encrId: sa.proposal.encr.id,
      encrKeyBits: sa.proposal.encr.keyLengthBits ?? 0,
      integId: sa.proposal.integ ?? 0,
    };
    this.saveKeys.addIke(ikeSaId, ikeSaOfKeys(sa.spiI, sa.spiR, t, sa.keys));
  }

  /** One `ip xfrm` command line (`tsipsec xfrm ...`); policies get their routes into the TUN. */
  async xfrmLine(line: string): Promise<XfrmResult> {
    const result = await this.xfrm.executeLine(line);
    if (/\bpolicy\b/.test(line)) await this.syncXfrmRoutes();
    return result;
  }

  /** `--xfrm FILE`: every line applied in order; the first failure stops with file:line. */
  async xfrmFile(file: string): Promise<void> {
    await this.xfrm.applyFile(loadXfrmFile(file), file);
    await this.syncXfrmRoutes();
  }

  /** Routes for manual `dir out` policies with a template, as IKE's own policies have. */
  private async syncXfrmRoutes(): Promise<void> {
    const listed = (await this.xfrm.execute(parseXfrmLine('policy list'))).json as { policies?: XfrmPolicyJson[] };
    const want = new Map<string, { prefix: string; src: string | undefined }>();
    for (const p of listed.policies ?? []) {
      if (p.dir !== 'out' || p.action !== 'allow' || p.tmpls.length === 0) continue;
      const src = /\/(32|128)$/.test(p.sel.src) ? p.sel.src.replace(/\/\d+$/, '') : undefined;
      want.set(p.sel.dst, { prefix: p.sel.dst, src });
    }
    for (const [k, r] of this.xfrmRoutes) {
      if (want.has(k)) continue;
      await this.io.delRoute(r.prefix, this.tun.name).catch(() => undefined);
      this.xfrmRoutes.delete(k);
    }
    for (const [k, r] of want) {
      if (this.xfrmRoutes.has(k)) continue;
      await this.io.addRoute(r.prefix, this.tun.name, r.src);
      this.xfrmRoutes.set(k, r);
      this.log.log('knl', LogLevel.CONTROL, `route ${r.prefix} via ${this.tun.name} (manual policy)`);
    }
  }

  async sas(): Promise<{ ikeSas: IkeSaInfo[] }> {
    const now = this.now();
    const secondsUntil = (atMs: number): number | null => (atMs > 0 ? Math.max(0, (atMs - now) / 1000) : null);
    const out: IkeSaInfo[] = [];
    for (const sa of this.engine.ikeSas()) {
      const s = this.ikeSas.get(sa.id);
      const children: ChildSaInfo[] = [];
      for (const c of this.children.values()) {
        if (c.ikeSaId !== sa.id) continue;
        const info = await this.childInfoLive(c);
        const live = sa.children.find((x) => x.id === c.info.id);
        if (live !== undefined) {
          info.state = live.state;
          info.rekeyInSec = secondsUntil(live.rekeyAtMs);
          info.expiresInSec = secondsUntil(live.expireAtMs);
        }
        children.push(info);
      }
      out.push({
        name: s?.name ?? sa.conn?.name ?? '',
        uniqueId: sa.id,
        state: sa.state,
        initiator: sa.initiator,
        localAddr: sa.local.address,
        localPort: sa.local.port,
        remoteAddr: sa.remote.address,
        remotePort: sa.remote.port,
        localId: s?.localId ?? '',
        remoteId: s?.remoteId ?? '',
        spiI: sa.spiI.toString('hex'),
        spiR: sa.spiR.toString('hex'),
        proposal: s?.proposal ?? '',
        natLocal: s?.natLocal ?? false,
        natRemote: s?.natRemote ?? false,
        establishedSecAgo: s?.establishedAtMs === undefined ? null : (now - s.establishedAtMs) / 1000,
        rekeyInSec: secondsUntil(sa.rekeyAtMs),
        children,
        ...saCertificates(sa),
      });
    }
    return { ikeSas: out };
  }

  private childInfo(c: ChildRecord): ChildSaInfo {
    const i = c.info;
    const aead = i.integId === 0;
    return {
      name: i.name,
      uniqueId: i.id,
      reqid: c.reqid,
      state: 'INSTALLED',
      mode: i.mode,
      protocol: i.protocol,
      encap: i.encap,
      spiIn: hex8(i.spiIn),
      spiOut: hex8(i.spiOut),
      encryption:
        i.protocol === 'ah'
          ? 'NONE'
          : `${nameOf(EncrId, i.encrId).replace(/^ENCR_/, '')}${i.encrKeyBits ? '_' + i.encrKeyBits : ''}`,
      integrity: aead ? null : nameOf(IntegId, i.integId).replace(/^AUTH_/, ''),
      esn: i.esn,
      localTs: i.tsLocal.map(formatTs),
      remoteTs: i.tsRemote.map(formatTs),
      in: { bytes: 0, packets: 0 },
      out: { bytes: 0, packets: 0 },
      drops: {},
      installedSecAgo: (this.now() - c.installedAtMs) / 1000,
      rekeyInSec: null,
      expiresInSec: null,
    };
  }

  private async childInfoLive(c: ChildRecord): Promise<ChildSaInfo> {
    const info = this.childInfo(c);
    const i = c.info;
    try {
      const inUse = await this.dataplane.querySa({ protocol: i.protocol, spi: i.spiIn, dst: i.local.address });
      const outUse = await this.dataplane.querySa({ protocol: i.protocol, spi: i.spiOut, dst: i.remote.address });
      info.in = { bytes: inUse.bytes, packets: inUse.packets };
      info.out = { bytes: outUse.bytes, packets: outUse.packets };
      const drops: Record<string, number> = {};
      for (const use of [inUse, outUse])
        for (const [k, v] of Object.entries(use.drops)) if (v > 0) drops[k] = (drops[k] ?? 0) + v;
      info.drops = drops;
    } catch {
      // SA just went away: report without counters
    }
    return info;
  }

  conns(): { connections: ConnectionInfo[] } {
    return {
      connections: this.config.connections.map((c) => ({
        name: c.ike.name,
        localAddrs: c.source.localAddrs.map(addrText),
        remoteAddrs: c.source.remoteAddrs.map(addrText),
        version: c.source.version,
        proposals: c.ike.proposals.slice(),
        localAuth: c.source.local[0]?.auth ?? 'psk',
        localId: c.source.local[0]?.id ?? c.localAddr ?? '%any',
        remoteAuth: c.source.remote[0]?.auth ?? 'psk',
        remoteId: c.source.remote[0]?.id ?? '%any',
        ...connectionCertificates(c.ike),
        children: c.source.children.map((ch) => ({
          name: ch.name,
          mode: ch.mode,
          localTs: ch.localTs.map((t) => t.text),
          remoteTs: ch.remoteTs.map((t) => t.text),
          espProposals: ch.espProposals.map((p) => p.text),
          ahProposals: ch.ahProposals.map((p) => p.text),
          startAction: ch.startAction,
        })),
      })),
    };
  }

  async stats(): Promise<DaemonStats> {
    const sas = await this.sas();
    const drops: Record<string, number> = {};
    let packetsIn = 0;
    let packetsOut = 0;
    let bytesIn = 0;
    let bytesOut = 0;
    for (const s of sas.ikeSas)
      for (const c of s.children) {
        packetsIn += c.in.packets;
        packetsOut += c.out.packets;
        bytesIn += c.in.bytes;
        bytesOut += c.out.bytes;
        for (const [k, v] of Object.entries(c.drops)) drops[k] = (drops[k] ?? 0) + v;
      }
    for (const [k, v] of Object.entries(this.dataplane.stats.drops ?? {}))
      if (typeof v === 'number' && v > 0) drops[k] = (drops[k] ?? 0) + v;
    return {
      uptimeSec: (this.now() - this.startedAtMs) / 1000,
      ikeSas: sas.ikeSas.length,
      childSas: this.children.size,
      packetsIn,
      packetsOut,
      bytesIn,
      bytesOut,
      drops,
      ikeIn: this.counters.ikeIn,
      ikeOut: this.counters.ikeOut,
      ikeRetransmits: this.engine.retransmits,
      ikeDrops: Object.fromEntries(Object.entries(this.engine.drops).filter(([, n]) => n > 0)),
      memoryRssBytes: process.memoryUsage.rss(),
    };
  }

  /** Replaces the configuration (SIGHUP, `tsipsec load`): SAs stay up; trap policies of new children are installed. */
  async reload(config: DaemonConfig): Promise<string[]> {
    this.config = config;
    await this.applyStartActions();
    return config.connections.map((c) => c.ike.name);
  }

  /** Deletes every IKE_SA (DELETE to each peer), waits briefly for the answers, closes everything. */
  async stop(graceMs = 1500): Promise<void> {
    const now = this.now();
    for (const s of this.ikeSas.values()) this.engine.terminate(s.id, now);
    this.pump();
    const end = Date.now() + graceMs;
    while (this.ikeSas.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    this.closed = true;
    this.io.clock.cancel();
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new ControlError('stopping', 'the daemon is stopping'));
    }
    this.waiters.clear();
    for (const r of this.reqids.values())
      for (const rt of r.routes) await this.io.delRoute(rt.prefix, rt.dev).catch(() => undefined);
    for (const ep of this.udp.values()) await ep.close();
    for (const s of [...Object.values(this.raw), ...Object.values(this.rawAh)]) await s?.close();
    await this.tun.close();
    await this.io.teardown();
  }
}

/** A port range narrower than any, or undefined. */
function portRange(ts: {
  portFrom: number;
  portTo: number;
  opaque: boolean;
}): { start: number; end: number } | undefined {
  if (ts.opaque || (ts.portFrom === 0 && ts.portTo === 65535)) return undefined;
  return { start: ts.portFrom, end: ts.portTo };
}

/** An address or prefix as a prefix: a bare address becomes /32 or /128. */
function asPrefix(addr: string): string {
  return addr.includes('/') ? addr : `${addr}/${addr.includes(':') ? 128 : 32}`;
}

/** The address part of a traffic selector as written (`192.0.2.0/24[tcp/80]` -> `192.0.2.0/24`). */
function tsPrefix(text: string): string {
  return text.replace(/\[.*$/, '');
}

/** `NO_PROPOSAL_CHOSEN: ` for a notify type, '' for none. */
function notifyText(notifyType: number): string {
  return notifyType > 0 ? `${nameOf(NotifyType, notifyType)}: ` : '';
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function addrText(a: AddressSpec): string {
  switch (a.kind) {
    case 'any':
      return '%any';
    case 'address':
      return a.address;
    case 'subnet':
      return `${a.address}/${a.prefix}`;
    case 'range':
      return `${a.from}-${a.to}`;
    case 'dns':
      return a.name;
  }
}
