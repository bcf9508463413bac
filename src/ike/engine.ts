/**
 * The IKEv2 engine for one local endpoint, sans-I/O (RFC 7296): feed it datagrams, timer ticks and API
 * calls; take out datagrams to send, the next timer deadline and events. It never throws out of
 * `receiveDatagram` or `handleTimer`: bad input is dropped (and counted in `drops`).
 *
 *   const e = new IkeEngine(config);
 *   e.initiate('home', local, remote, nowMs);
 *   for (const d of e.datagramsToSend()) socket.send(d.bytes, d.to);
 *   setTimeout(() => e.handleTimer(clock()), e.nextTimerMs()! - clock());
 *   for (let ev; (ev = e.nextEvent()); ) dataplane.handle(ev);
 */
import { ParseError } from '../common/errors.js';
import { LogLevel, nullLogger } from '../common/log.js';
import type { Logger } from '../common/log.js';
import type { Rng } from '../crypto/types.js';
import { ExchangeType, IKE_HEADER_LENGTH, IKE_MAJOR_VERSION, NotifyType } from './codec/constants.js';
import { decodeHeader } from './codec/header.js';
import { encodeMessage } from './codec/message.js';
import type { IkeHeader } from './codec/types.js';
import type { ChildConfig, ConnectionConfig, EngineConfig, IkeIdentity } from './config.js';
import { DEFAULT_RETRANSMIT } from './config.js';
import { ClosedSaResponses } from './closed-sa-responses.js';
import { InitResponder } from './init-responder.js';
import type { EngineCore } from './engine-core.js';
import type { ChildSaInfo, Endpoint, IkeEvent, OutgoingDatagram, SaEndCause } from './events.js';
import { decodeIdentity, formatIdentity } from './identity.js';
import { hasContact, replacedByInitialContact } from './initial-contact.js';
import {
  DEFAULT_INVALID_SPI_BURST,
  DEFAULT_INVALID_SPI_PER_SEC,
  TokenBucket,
  encodeInvalidSpiAnswer,
  wantsInvalidSpiAnswer,
} from './invalid-spi.js';
import { notify } from './payload-util.js';
import { describeSelected } from './proposals.js';
import { ChildSa, IkeSa } from './sa.js';
import { ChildSaState, IkeSaState, transition } from './sa-state.js';
import { DeadlineQueue, deadlineOf, SaRegistry } from './sa-registry.js';
import { inheritVirtualIps, releaseVirtualIps } from './virtual-ips.js';
import { planReauth, REAUTH_RETRY_MS, Reauths } from './reauth.js';
import type { Task } from './task.js';
import { TaskManager } from './task-manager.js';
import type { DropReason } from './task-manager.js';
import { ChildCreateTask } from './tasks/child-create.js';
import { ChildDeleteTask } from './tasks/child-delete.js';
import { ChildRekeyTask } from './tasks/child-rekey.js';
import { IkeAuthTask } from './tasks/ike-auth.js';
import { IkeConfigTask } from './tasks/ike-config.js';
import { IkeEapTask } from './tasks/ike-eap.js';
import { IkeDeleteTask } from './tasks/ike-delete.js';
import { IkeInitTask } from './tasks/ike-init.js';
import { IkeMobikeTask, MobikeUpdateTask, dpdTask } from './tasks/ike-mobike.js';
import { IkeRekeyTask } from './tasks/ike-rekey.js';

export type { DropReason };

const IKE_SPI_LENGTH = 8;
const CHILD_SPI_LENGTH = 4;
/** IKE message size before SKF fragmentation: 1280 bytes minus IPv6 and UDP headers and the non-ESP marker. */
const DEFAULT_FRAGMENT_SIZE = 1280 - 40 - 8 - 4;

export class IkeEngine implements EngineCore {
  readonly config: EngineConfig;
  readonly rng: Rng;
  readonly log: Logger;
  readonly nonceLength: number;
  readonly drops: Record<DropReason, number> = {
    malformed: 0,
    unknownSpi: 0,
    notExpected: 0,
    integrity: 0,
    cookie: 0,
    internal: 0,
    halfOpenLimit: 0,
    keLimit: 0,
  };
  private readonly tm: TaskManager;
  private readonly sas = new SaRegistry();
  private readonly deadlines = new DeadlineQueue();
  /** IKE_SAs whose deadlines may have changed in the current call; requeued before the call returns. */
  private readonly touched = new Set<IkeSa>();
  private readonly front: InitResponder;
  private readonly out: OutgoingDatagram[] = [];
  private readonly events: IkeEvent[] = [];
  private nextId = 1;
  private readonly childSpis = new Set<number>();
  /** IKE_SAs that got tasks queued since the last datagram (so only they are looked at). */
  private readonly queued = new Set<IkeSa>();
  /** INVALID_IKE_SPI answers (RFC 7296 2.21.4): sent, and left unsent by the rate limit. */
  readonly invalidSpi = { sent: 0, limited: 0 };
  private readonly invalidSpiBucket: TokenBucket;
  /** Last responses of IKE_SAs that are gone, for retransmitted requests (a DELETE whose answer was lost). */
  private readonly closed = new ClosedSaResponses();
  /** The clock of the datagram or timer being handled (for bookkeeping outside the task path). */
  private nowMs = 0;
  /** Make-before-break reauthentications in progress (reauth.ts). */
  private readonly reauths: Reauths;

  constructor(config: EngineConfig) {
    this.config = config;
    this.rng = config.rng;
    this.log = config.log ?? nullLogger;
    this.nonceLength = config.nonceLength ?? 32;
    this.reauths = new Reauths(this.log);
    this.invalidSpiBucket = new TokenBucket(
      config.invalidSpiPerSec ?? DEFAULT_INVALID_SPI_PER_SEC,
      config.invalidSpiBurst ?? DEFAULT_INVALID_SPI_BURST,
    );
    this.tm = new TaskManager(this, {
      retransmit: config.retransmit ?? DEFAULT_RETRANSMIT,
      maxMessageLength: config.fragmentSizeBytes ?? DEFAULT_FRAGMENT_SIZE,
      drops: this.drops,
      send: (from, to, packet) => this.send(from, to, packet),
    });
    this.front = new InitResponder({
      core: this,
      drops: this.drops,
      send: (from, to, packet) => this.send(from, to, packet),
      newSaId: () => this.nextId++,
      register: (sa) => this.register(sa.spiR, sa),
      header: (sa, exchangeType, response, messageId) => this.tm.header(sa, exchangeType, response, messageId),
    });
  }

  // ---- API ---------------------------------------------------------------------------------------

  /** Start an IKE_SA for connection `name` (and its children unless childless). Returns the IKE_SA id. */
  initiate(name: string, local: Endpoint, remote: Endpoint, nowMs: number, children?: readonly string[]): number {
    const conn = this.config.connections.find((c) => c.name === name);
    if (conn === undefined) throw new Error(`no connection named '${name}'`);
    const wanted = conn.children.filter((c) => children === undefined || children.includes(c.name));
    return this.startIkeSa(conn, local, remote, wanted, nowMs).id;
  }

  /**
   * Reauthenticate an established IKE_SA, make-before-break (reauth.ts): a new IKE_SA with CHILD_SAs of the
   * same child configurations; the old IKE_SA is deleted once they are all up. Returns the new IKE_SA's id,
   * or undefined when this side leaves reauthentication to the peer (logged).
   */
  reauthenticate(ikeSaId: number, nowMs: number): number | undefined {
    const old = this.ike(ikeSaId);
    if (old.state !== IkeSaState.ESTABLISHED) throw new Error(`${old.label} is not established`);
    const plan = planReauth(old);
    if (typeof plan === 'string' || old.conn === undefined) {
      this.log.log('ike', LogLevel.CONTROL, `not reauthenticating: ${String(plan)}`, old.label);
      return undefined;
    }
    old.reauthAtMs = 0;
    old.rekeyAtMs = 0; // it goes away soon: no IKE rekey of it meanwhile
    const fresh = this.startIkeSa(old.conn, plan.local, plan.remote, plan.children, nowMs);
    this.reauths.started(fresh, old);
    this.log.log('ike', LogLevel.CONTROL, `reauthenticating, make-before-break, as ${fresh.label}`, old.label);
    return fresh.id;
  }

  private startIkeSa(
    conn: ConnectionConfig,
    local: Endpoint,
    remote: Endpoint,
    wanted: readonly ChildConfig[],
    nowMs: number,
  ): IkeSa {
    const sa = new IkeSa(this.nextId++, true, this.newIkeSpi(), local, remote, conn.name);
    sa.conn = conn;
    this.register(sa.spiI, sa);
    transition(sa, IkeSaState.CONNECTING, 'initiate', this.log);
    sa.halfOpenDeadlineMs = 0;
    this.queueTask(sa, new IkeInitTask());
    this.queueTask(sa, conn.eapClient !== undefined ? new IkeEapTask() : new IkeAuthTask());
    this.queueTask(sa, new IkeConfigTask());
    this.queueTask(sa, new IkeMobikeTask());
    const [firstChild, ...rest] = conn.childless === 'force' ? [] : wanted;
    if (firstChild !== undefined) this.queueTask(sa, new ChildCreateTask({ config: firstChild, inAuth: true }));
    for (const c of rest) this.queueTask(sa, new ChildCreateTask({ config: c, inAuth: false }));
    this.tm.startNext(sa, nowMs);
    return sa;
  }

  /** Create another CHILD_SA on an established IKE_SA (CREATE_CHILD_SA, RFC 7296 1.3.1). */
  createChild(ikeSaId: number, childName: string, nowMs: number): void {
    const sa = this.ike(ikeSaId);
    const config = sa.conn?.children.find((c) => c.name === childName);
    if (config === undefined) throw new Error(`no child '${childName}' in ${sa.label}`);
    this.queueTask(sa, new ChildCreateTask({ config, inAuth: false }));
    this.tm.startNext(sa, nowMs);
  }

  /** Delete an IKE_SA and its CHILD_SAs (INFORMATIONAL DELETE, RFC 7296 1.4.1). */
  terminate(ikeSaId: number, nowMs: number): void {
    const sa = this.ike(ikeSaId);
    if (sa.state === IkeSaState.CONNECTING || sa.state === IkeSaState.CREATED) {
      this.destroyIke(sa, 'local', 'terminated');
      return;
    }
    // A replaced IKE_SA is deleted by the rekey's initiator (RFC 7296 2.18). A DELETE from us while the peer
    // still waits for our rekey answer collides with its rekey, and the peer drops the new IKE_SA with it.
    if (sa.state === IkeSaState.REKEYED) return;
    this.queueTask(sa, new IkeDeleteTask('local', 'terminated'));
    this.tm.startNext(sa, nowMs);
  }

  /** Delete one CHILD_SA. */
  terminateChild(childSaId: number, nowMs: number): void {
    const [sa, child] = this.child(childSaId);
    this.queueTask(sa, new ChildDeleteTask([child], 'local', 'terminated'));
    this.tm.startNext(sa, nowMs);
  }

  /** Rekey an IKE_SA (RFC 7296 1.3.2). */
  rekeyIke(ikeSaId: number, nowMs: number): void {
    const sa = this.ike(ikeSaId);
    this.queueTask(sa, new IkeRekeyTask());
    this.tm.startNext(sa, nowMs);
  }

  /** Rekey a CHILD_SA (RFC 7296 1.3.3). */
  rekeyChild(childSaId: number, nowMs: number): void {
    const [sa, child] = this.child(childSaId);
    this.queueTask(sa, new ChildRekeyTask(child));
    this.tm.startNext(sa, nowMs);
  }

  /** Send a liveness check now (RFC 7296 2.4). */
  checkLiveness(ikeSaId: number, nowMs: number): void {
    const sa = this.ike(ikeSaId);
    this.queueTask(sa, dpdTask(sa));
    this.tm.startNext(sa, nowMs);
  }

  /**
   * The data plane reached a CHILD_SA's hard byte or packet limit (it counts the traffic and enforces the
   * volume limits the engine drew, `ChildSaInfo.lifeBytes` and friends): the CHILD_SA is gone now, the
   * peer is told with a DELETE. A soft limit is a `rekeyChild`.
   */
  expireChild(childSaId: number, nowMs: number): void {
    const [sa, child] = this.child(childSaId);
    this.hardExpire(sa, child);
    this.tm.startNext(sa, nowMs);
  }

  /**
   * The data plane saw an authenticated ESP-in-UDP packet of this IKE_SA's peer from a new address or port
   * (a NAT mapping changed, RFC 7296 2.23). When the peer is behind a NAT, IKE follows it as strongSwan
   * does: later messages go to `remote`. Returns whether it did.
   */
  peerMoved(ikeSaId: number, remote: Endpoint): boolean {
    const sa = this.ike(ikeSaId);
    if (!sa.natRemote || sa.state === IkeSaState.DESTROYED) return false;
    this.log.log('ike', LogLevel.CONTROL, `peer moved to ${remote.address}[${remote.port}]`, sa.label);
    sa.remote = remote;
    return true;
  }

  /**
   * Our address towards the peer of IKE_SA `ikeSaId` changed (MOBIKE, RFC 4555 3.5): as the original initiator
   * of an IKE_SA with MOBIKE, tell the peer with UPDATE_SA_ADDRESSES from `localAddress`; its answer moves the
   * CHILD_SAs (`ikeSaMoved`). Returns whether an update was queued (false without MOBIKE, as the responder, when
   * not established or when one is already waiting for its turn).
   */
  updateAddresses(ikeSaId: number, localAddress: string, nowMs: number): boolean {
    const sa = this.ike(ikeSaId);
    if (!sa.mobike || !sa.initiator || sa.state !== IkeSaState.ESTABLISHED) return false;
    sa.local = { address: localAddress, port: sa.local.port };
    if (sa.queue.some((t) => t instanceof MobikeUpdateTask)) return false;
    this.log.log('ike', LogLevel.CONTROL, `local address changed to ${localAddress}: updating the peer`, sa.label);
    this.queueTask(sa, new MobikeUpdateTask());
    this.tm.startNext(sa, nowMs);
    return true;
  }

  /** Feed one received IKE message (on port 4500 the socket layer already removed the non-ESP marker). Never throws. */
  receiveDatagram(bytes: Uint8Array, from: Endpoint, to: Endpoint, nowMs: number): void {
    this.nowMs = nowMs;
    try {
      this.receiveAndStart(bytes, from, to, nowMs);
    } finally {
      this.requeueTouched();
    }
  }

  private receiveAndStart(bytes: Uint8Array, from: Endpoint, to: Endpoint, nowMs: number): void {
    try {
      this.receive(Buffer.from(bytes), from, to, nowMs);
      this.settleReauths(nowMs);
      this.startAll(nowMs);
    } catch (e) {
      if (e instanceof ParseError) {
        this.drops.malformed++;
        this.log.log('enc', LogLevel.DETAIL, `dropped malformed datagram: ${e.message}`);
        return;
      }
      this.drops.internal++;
      this.log.log('enc', LogLevel.CONTROL, `dropped datagram: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /**
   * Resolves when asynchronous work an exchange waits for (an EAP-TLS handshake step) has settled: then call
   * `resume`. Undefined when nothing waits. The engine stays sans-I/O; whoever drives it awaits this.
   */
  pendingWork(): Promise<void> | undefined {
    return this.tm.pendingWork();
  }

  /** Continue the exchanges whose asynchronous work settled (send their response or next request). Never throws. */
  resume(nowMs: number): void {
    this.nowMs = nowMs;
    try {
      for (const sa of this.tm.resume(nowMs)) this.touch(sa);
      this.startAll(nowMs);
    } catch (e) {
      this.drops.internal++;
      this.log.log('ike', LogLevel.CONTROL, `resuming failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.requeueTouched();
  }

  /** Run due timers: retransmissions, rekeys, expiries, liveness checks. Never throws. */
  handleTimer(nowMs: number): void {
    this.nowMs = nowMs;
    this.requeueTouched();
    for (const sa of this.deadlines.takeDue(nowMs)) {
      try {
        this.timersOf(sa, nowMs);
      } catch (e) {
        this.drops.internal++;
        this.log.log('ike', LogLevel.CONTROL, `timer failed: ${e instanceof Error ? e.message : String(e)}`, sa.label);
      }
      this.touch(sa);
    }
    try {
      this.settleReauths(nowMs);
      this.startAll(nowMs);
    } catch (e) {
      this.drops.internal++;
      this.log.log('ike', LogLevel.CONTROL, `timer failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.requeueTouched();
  }

  /** The earliest absolute time handleTimer() has something to do, or undefined (no scan: a deadline queue). */
  nextTimerMs(): number | undefined {
    this.requeueTouched();
    return this.deadlines.next();
  }

  /** Datagrams produced since the last call. */
  datagramsToSend(): OutgoingDatagram[] {
    return this.out.splice(0, this.out.length);
  }

  /** The next event, or undefined. */
  nextEvent(): IkeEvent | undefined {
    return this.events.shift();
  }

  /** IKE_SAs for inspection (read-only use). */
  ikeSas(): IkeSa[] {
    return this.sas.all();
  }

  /** Requests retransmitted since the engine started (RFC 7296 2.1). */
  get retransmits(): number {
    return this.tm.retransmits;
  }

  /** Number of half-open responder IKE_SAs (RFC 7296 2.6), counted as they come and go. */
  halfOpenCount(): number {
    return this.front.halfOpenCount();
  }

  // ---- EngineCore ------------------------------------------------------------------------------

  emit(event: IkeEvent): void {
    this.events.push(event);
  }

  newIkeSpi(): Buffer {
    for (;;) {
      const spi = this.rng.bytes(IKE_SPI_LENGTH);
      if (!spi.equals(Buffer.alloc(IKE_SPI_LENGTH)) && !this.sas.has(spi.toString('hex'))) return spi;
    }
  }

  newChildSa(config: ChildConfig): ChildSa {
    let spi: Buffer;
    do spi = this.rng.bytes(CHILD_SPI_LENGTH);
    while (spi.readUInt32BE(0) < 256 || this.childSpis.has(spi.readUInt32BE(0))); // 1..255 reserved (RFC 4303 2.1)
    this.childSpis.add(spi.readUInt32BE(0));
    return new ChildSa(this.nextId++, config, spi);
  }

  newRekeyedIkeSa(old: IkeSa, initiator: boolean, spiI: Buffer, spiR: Buffer): IkeSa {
    const sa = new IkeSa(this.nextId++, initiator, spiI, old.local, old.remote, old.conn?.name ?? 'ike');
    sa.spiR = spiR;
    sa.conn = old.conn;
    sa.idI = initiator === old.initiator ? old.idI : old.idR;
    sa.idR = initiator === old.initiator ? old.idR : old.idI;
    sa.natLocal = old.natLocal;
    sa.natRemote = old.natRemote;
    sa.peerFragmentation = old.peerFragmentation;
    sa.mobike = old.mobike; // natSeenHash not: NAT detection hashes cover the SPIs, the next check sets it anew
    sa.rekeyOf = old.id;
    sa.localCert = old.localCert;
    sa.peerCert = old.peerCert;
    sa.localEapId = old.localEapId;
    sa.remoteEapId = old.remoteEapId;
    // Reauthentication survives IKE rekeys (it is about the credentials, not the keys).
    sa.reauthAtMs = old.reauthAtMs;
    sa.reauthDueMs = old.reauthDueMs;
    sa.initLocal = old.initLocal;
    sa.initRemote = old.initRemote;
    sa.originalInitiator = old.originalInitiator;
    this.reauths.rekeyed(old, sa);
    inheritVirtualIps(old, sa, this.config.pools);
    this.register(sa.spiLocal, sa);
    return sa;
  }

  installChild(sa: IkeSa, child: ChildSa, nowMs: number): void {
    if (child.state !== ChildSaState.CREATED) return;
    transition(child, ChildSaState.INSTALLED, 'installed', this.log);
    if (!sa.children.includes(child)) sa.children.push(child);
    const l = child.config.lifetimes;
    child.installedAtMs = nowMs;
    child.rekeyAtMs = l.rekeyTimeSec > 0 ? nowMs + l.rekeyTimeSec * 1000 - this.jitter(l.randTimeSec * 1000) : 0;
    child.expireAtMs = l.lifeTimeSec > 0 ? nowMs + l.lifeTimeSec * 1000 : 0;
    child.rekeyBytes = l.rekeyBytes > 0 ? l.rekeyBytes - this.jitter(l.randBytes) : 0;
    child.rekeyPackets = l.rekeyPackets > 0 ? l.rekeyPackets - this.jitter(l.randPackets) : 0;
    child.lifeBytes = l.lifeBytes;
    child.lifePackets = l.lifePackets;
    const info = this.childInfo(sa, child);
    this.log.log(
      'chd',
      LogLevel.CONTROL,
      `CHILD_SA ${child.label} established with SPIs ${child.spiIn.toString('hex')}_i ${child.spiOut.toString('hex')}_o`,
      sa.label,
    );
    this.emit(
      child.rekeyOf === undefined
        ? { type: 'childSaInstalled', child: info }
        : { type: 'childSaInstalled', child: info, rekeyOf: child.rekeyOf },
    );
  }

  removeChild(sa: IkeSa, child: ChildSa, cause: SaEndCause, reason: string): void {
    const i = sa.children.indexOf(child);
    if (i >= 0) sa.children.splice(i, 1);
    if (child.state === ChildSaState.DESTROYED) return;
    const wasInstalled = child.state !== ChildSaState.CREATED;
    transition(child, ChildSaState.DESTROYED, reason, this.log);
    this.childSpis.delete(child.spiIn.readUInt32BE(0));
    if (wasInstalled)
      this.emit({
        type: 'childSaDeleted',
        childSaId: child.id,
        ikeSaId: sa.id,
        name: child.config.name,
        protocol: child.protocol,
        spiIn: child.spiIn.readUInt32BE(0),
        spiOut: child.spiOut.readUInt32BE(0),
        cause,
        reason,
      });
  }

  establishIke(sa: IkeSa, nowMs: number): void {
    transition(sa, IkeSaState.ESTABLISHED, 'authenticated', this.log);
    const conn = sa.conn;
    sa.establishedAtMs = nowMs;
    sa.halfOpenDeadlineMs = 0;
    this.front.settled(sa);
    sa.lastHeardMs = nowMs;
    if (conn !== undefined) {
      sa.rekeyAtMs =
        conn.rekeyTimeSec > 0 ? nowMs + conn.rekeyTimeSec * 1000 - this.jitter(conn.randTimeSec * 1000) : 0;
      if (conn.reauthTimeSec > 0 && sa.reauthDueMs === 0) {
        sa.reauthDueMs = nowMs + conn.reauthTimeSec * 1000;
        sa.reauthAtMs = sa.reauthDueMs - this.jitter(conn.randTimeSec * 1000);
      }
      // Hard expiry over_time after rekey_time or reauth_time, the earlier; over_time 0 means none (the rekey
      // is retried until it works).
      const rekeyDueMs = conn.rekeyTimeSec > 0 ? nowMs + conn.rekeyTimeSec * 1000 : 0;
      const due = [rekeyDueMs, sa.reauthDueMs].filter((t) => t > 0);
      sa.expireAtMs = due.length > 0 && conn.overTimeSec > 0 ? Math.min(...due) + conn.overTimeSec * 1000 : 0;
      sa.dpdAtMs = conn.dpdDelaySec > 0 ? nowMs + conn.dpdDelaySec * 1000 : 0;
    }
    const ids = (x: { type: number; data: Buffer } | undefined): string => {
      const id = x === undefined ? undefined : decodeIdentity(x.type, x.data);
      return id === undefined ? '?' : formatIdentity(id);
    };
    const [localId, remoteId] = sa.initiator ? [ids(sa.idI), ids(sa.idR)] : [ids(sa.idR), ids(sa.idI)];
    this.log.log('ike', LogLevel.CONTROL, `IKE_SA ${sa.label} established between ${localId}...${remoteId}`, sa.label);
    const base = {
      type: 'ikeSaEstablished' as const,
      ikeSaId: sa.id,
      name: conn?.name ?? '',
      initiator: sa.initiator,
      spiI: sa.spiI,
      spiR: sa.spiR,
      local: sa.local,
      remote: sa.remote,
      localId,
      remoteId,
      proposal: sa.proposal === undefined ? '' : describeSelected(sa.proposal),
      natLocal: sa.natLocal,
      natRemote: sa.natRemote,
      ...(sa.localEapId !== undefined ? { localEapId: sa.localEapId } : {}),
      ...(sa.remoteEapId !== undefined ? { remoteEapId: sa.remoteEapId } : {}),
    };
    const replacing = this.reauths.replacing(sa);
    this.emit(
      sa.rekeyOf !== undefined
        ? { ...base, rekeyOf: sa.rekeyOf, childSaIds: sa.children.map((c) => c.id) }
        : replacing !== undefined
          ? { ...base, reauthOf: replacing.id }
          : base,
    );
  }

  destroyIke(sa: IkeSa, cause: SaEndCause, reason: string): void {
    if (sa.state === IkeSaState.DESTROYED) return;
    for (const c of [...sa.children]) this.removeChild(sa, c, cause, reason);
    const wasEstablished = sa.establishedAtMs > 0;
    transition(sa, IkeSaState.DESTROYED, reason, this.log);
    releaseVirtualIps(sa, this.config.pools);
    sa.active = undefined;
    sa.queue = [];
    this.sas.remove(sa);
    this.touch(sa);
    const last = sa.lastResponse;
    const crypter = sa.protectIn;
    if (last !== undefined && crypter !== undefined)
      this.closed.remember(sa.spiLocal.toString('hex'), last, (b) => crypter.open(b).ok, this.nowMs);
    this.front.forget(sa);
    if (wasEstablished || sa.initiator)
      this.emit({ type: 'ikeSaDeleted', ikeSaId: sa.id, name: sa.conn?.name ?? '', cause, reason });
  }

  queueTask(sa: IkeSa, task: Task): void {
    sa.queue.push(task);
    this.queued.add(sa);
    this.touch(sa);
  }

  /** Mark an IKE_SA whose timers may have changed; its deadline is requeued before the engine call returns. */
  touch(sa: IkeSa): void {
    this.touched.add(sa);
  }

  private register(spi: Buffer, sa: IkeSa): void {
    this.sas.add(spi.toString('hex'), sa);
    this.touch(sa);
  }

  private requeueTouched(): void {
    for (const sa of this.touched) this.deadlines.update(sa, deadlineOf(sa));
    this.touched.clear();
  }

  connections(): readonly ConnectionConfig[] {
    return this.config.connections;
  }

  psk(local: IkeIdentity, remote: IkeIdentity): Uint8Array | undefined {
    return this.config.psk(local, remote);
  }

  initialContact(sa: IkeSa): void {
    for (const other of replacedByInitialContact(this.ikeSas(), sa))
      this.destroyIke(other, 'replaced', 'INITIAL_CONTACT from the same peer');
  }

  hasContact(sa: IkeSa, conn: ConnectionConfig): boolean {
    return hasContact(this.ikeSas(), sa, conn);
  }

  allowKeyExchange(group: number, nowMs: number): boolean {
    return this.front.allowKeyExchange(group, nowMs);
  }

  childByPeerSpi(sa: IkeSa, protocol: 'esp' | 'ah', spi: Uint8Array): ChildSa | undefined {
    return sa.children.find((c) => c.protocol === protocol && Buffer.compare(c.spiOut, Buffer.from(spi)) === 0);
  }

  // ---- internals -------------------------------------------------------------------------------

  /** A random amount in [0, max] (rand_time in ms, rand_bytes, rand_packets) from the engine's Rng. */
  private jitter(max: number): number {
    if (max <= 0) return 0;
    return this.rng.bytes(4).readUInt32BE(0) % (Math.floor(max) + 1);
  }

  private ike(id: number): IkeSa {
    const sa = this.sas.byId(id);
    if (sa === undefined) throw new Error(`no IKE_SA with id ${id}`);
    this.touch(sa);
    return sa;
  }

  private findChild(id: number): [IkeSa, ChildSa] | undefined {
    const found = this.sas.child(id);
    if (found !== undefined) this.touch(found[0]);
    return found;
  }

  private child(id: number): [IkeSa, ChildSa] {
    const found = this.findChild(id);
    if (found === undefined) throw new Error(`no CHILD_SA with id ${id}`);
    return found;
  }

  childInfo(sa: IkeSa, c: ChildSa): ChildSaInfo {
    const keys = c.keys;
    const p = c.proposal;
    if (keys === undefined || p === undefined) throw new Error('child without keys');
    const [keysOut, keysIn] = c.createdAsInitiator ? [keys.i, keys.r] : [keys.r, keys.i];
    return {
      id: c.id,
      ikeSaId: sa.id,
      name: c.config.name,
      protocol: c.protocol,
      mode: c.mode,
      spiIn: c.spiIn.readUInt32BE(0),
      spiOut: c.spiOut.readUInt32BE(0),
      encrId: p.encr?.id ?? 0,
      encrKeyBits: p.encr?.keyLengthBits ?? 0,
      integId: p.integ ?? 0,
      esn: p.esn === 1,
      keysIn,
      keysOut,
      tsLocal: c.tsLocal,
      tsRemote: c.tsRemote,
      createdAsInitiator: c.createdAsInitiator,
      local: sa.local,
      remote: sa.remote,
      encap: sa.natLocal || sa.natRemote,
      rekeyBytes: c.rekeyBytes,
      rekeyPackets: c.rekeyPackets,
      lifeBytes: c.lifeBytes,
      lifePackets: c.lifePackets,
    };
  }

  /** Time lifetimes (volume ones are the data plane's, see `expireChild`). */
  private checkChildLimits(sa: IkeSa, c: ChildSa, nowMs: number): void {
    if (c.expireAtMs > 0 && nowMs >= c.expireAtMs) {
      this.hardExpire(sa, c);
      return;
    }
    const soft = c.rekeyAtMs > 0 && nowMs >= c.rekeyAtMs;
    if (soft && c.state === ChildSaState.INSTALLED && sa.state === IkeSaState.ESTABLISHED) {
      c.rekeyAtMs = 0;
      this.queueTask(sa, new ChildRekeyTask(c));
    }
  }

  /** Hard expiry: the CHILD_SA stops now; the peer is told with a DELETE when the window allows. */
  private hardExpire(sa: IkeSa, c: ChildSa): void {
    if (c.state === ChildSaState.DESTROYED) return;
    c.expireAtMs = 0;
    this.removeChild(sa, c, 'expired', 'hard lifetime expired');
    this.queueTask(sa, new ChildDeleteTask([c], 'expired', 'hard lifetime expired', true));
  }

  private timersOf(sa: IkeSa, nowMs: number): void {
    if (sa.active !== undefined && nowMs >= sa.active.deadlineMs) this.tm.retransmitOrGiveUp(sa, nowMs);
    if (sa.state === IkeSaState.DESTROYED) return;
    if (sa.halfOpenDeadlineMs > 0 && nowMs >= sa.halfOpenDeadlineMs && sa.state === IkeSaState.CONNECTING) {
      this.destroyIke(sa, 'failed', 'half-open timeout');
      return;
    }
    if (sa.expireAtMs > 0 && nowMs >= sa.expireAtMs) {
      this.destroyIke(sa, 'expired', 'IKE_SA hard lifetime expired');
      return;
    }
    if (sa.state === IkeSaState.ESTABLISHED) {
      if (sa.reauthAtMs > 0 && nowMs >= sa.reauthAtMs) this.reauthenticate(sa.id, nowMs);
      if (sa.rekeyAtMs > 0 && nowMs >= sa.rekeyAtMs) {
        sa.rekeyAtMs = 0;
        this.queueTask(sa, new IkeRekeyTask());
      }
      if (sa.dpdAtMs > 0 && nowMs >= sa.dpdAtMs) {
        const delay = (sa.conn?.dpdDelaySec ?? 0) * 1000;
        if (nowMs - sa.lastHeardMs >= delay && sa.active === undefined && sa.queue.length === 0)
          this.queueTask(sa, dpdTask(sa));
        sa.dpdAtMs = Math.max(nowMs, sa.lastHeardMs) + delay;
      }
      for (const c of [...sa.children]) this.checkChildLimits(sa, c, nowMs);
    }
    this.tm.startNext(sa, nowMs);
  }

  /** Make-before-break: delete the IKE_SAs whose replacement is complete; retry failed reauthentications. */
  private settleReauths(nowMs: number): void {
    if (this.reauths.size === 0) return;
    const { retire, retry } = this.reauths.settle();
    for (const { old, fresh } of retire) {
      const reason = `reauthenticated as ${fresh.label}`;
      this.log.log(
        'ike',
        LogLevel.CONTROL,
        `${fresh.label} and its CHILD_SAs are up: deleting ${old.label}`,
        old.label,
      );
      this.queueTask(old, new IkeDeleteTask('replaced', reason));
    }
    for (const old of retry) {
      old.reauthAtMs = nowMs + REAUTH_RETRY_MS;
      this.touch(old);
    }
  }

  /** Tasks may queue work on other IKE_SAs (rekeys): give every IKE_SA its turn. */
  private startAll(nowMs: number): void {
    for (const sa of [...this.queued]) {
      this.queued.delete(sa);
      this.touch(sa);
      if (sa.active === undefined && sa.queue.length > 0) this.tm.startNext(sa, nowMs);
    }
  }

  /** RFC 7296 2.21.4: an unprotected INVALID_IKE_SPI back to where the request came from, rate-limited. */
  private answerInvalidSpi(request: IkeHeader, from: Endpoint, to: Endpoint, nowMs: number): void {
    if (!this.invalidSpiBucket.take(nowMs)) {
      this.invalidSpi.limited++;
      return;
    }
    this.invalidSpi.sent++;
    this.log.log('ike', LogLevel.DETAIL, `request for unknown IKE_SA from ${from.address}: INVALID_IKE_SPI`);
    this.send(to, from, encodeInvalidSpiAnswer(request));
  }

  private send(from: Endpoint, to: Endpoint, packet: Buffer): void {
    this.out.push({ from, to, bytes: packet });
  }

  private receive(buf: Buffer, from: Endpoint, to: Endpoint, nowMs: number): void {
    if (buf.length < IKE_HEADER_LENGTH) {
      this.drops.malformed++;
      return;
    }
    const header = decodeHeader(buf);
    if (header.majorVersion > IKE_MAJOR_VERSION && !header.flags.response) {
      // RFC 7296 2.5: answer a request of a higher major version with the version we speak.
      this.drops.malformed++;
      const h: IkeHeader = {
        ...header,
        majorVersion: IKE_MAJOR_VERSION,
        minorVersion: 0,
        flags: { initiator: !header.flags.initiator, response: true, version: false },
      };
      const version = Buffer.from([IKE_MAJOR_VERSION << 4]);
      this.send(to, from, encodeMessage({ header: h, payloads: [notify(NotifyType.INVALID_MAJOR_VERSION, version)] }));
      return;
    }
    if (header.majorVersion !== IKE_MAJOR_VERSION || header.length !== buf.length) {
      this.drops.malformed++;
      return;
    }
    const zero = Buffer.alloc(IKE_SPI_LENGTH);
    if (!header.flags.response && header.exchangeType === ExchangeType.IKE_SA_INIT) {
      // IKE_SA_INIT is unprotected: one naming an existing IKE_SA (SPIr set) must not touch its window.
      if (header.spiR.equals(zero)) this.front.receive(buf, header, from, to, nowMs);
      else this.drops.notExpected++;
      return;
    }
    // Our SPI is the responder SPI in messages from the original initiator, else the initiator SPI.
    const ours = header.flags.initiator ? header.spiR : header.spiI;
    const sa = this.sas.get(ours.toString('hex'));
    if (sa === undefined || sa.initiator === header.flags.initiator || sa.state === IkeSaState.DESTROYED) {
      this.drops.unknownSpi++;
      if (!wantsInvalidSpiAnswer(header)) return;
      const again = this.closed.answer(ours.toString('hex'), header.messageId, buf, nowMs);
      if (again !== undefined) for (const p of again) this.send(to, from, p);
      else this.answerInvalidSpi(header, from, to, nowMs);
      return;
    }
    this.touch(sa);
    if (header.flags.response) this.tm.receiveResponse(sa, buf, header, nowMs);
    else this.tm.receiveRequest(sa, buf, header, from, to, nowMs);
  }
}
