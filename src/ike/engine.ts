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
import { ExchangeType, IKE_HEADER_LENGTH, IKE_MAJOR_VERSION, NotifyType, PayloadType } from './codec/constants.js';
import { decodeHeader } from './codec/header.js';
import { decodeMessage, encodeMessage } from './codec/message.js';
import type { IkeHeader, Payload } from './codec/types.js';
import type { ChildConfig, ConnectionConfig, EngineConfig, IkeIdentity, RetransmitConfig } from './config.js';
import { DEFAULT_RETRANSMIT } from './config.js';
import { CookieJar } from './cookie.js';
import type { EngineCore } from './engine-core.js';
import { IkeError } from './errors.js';
import type { ChildSaInfo, Endpoint, IkeEvent, OutgoingDatagram } from './events.js';
import { decodeIdentity, formatIdentity, identityMatches } from './identity.js';
import { findNotify, first, notify } from './payload-util.js';
import { describeSelected } from './proposals.js';
import { createSkCrypter } from './protection/sk-crypter.js';
import { ChildSa, IkeSa } from './sa.js';
import { ChildSaState, IkeSaState, transitionChild, transitionIke } from './sa-state.js';
import type { Task, TaskContext } from './task.js';
import { ChildCreateTask } from './tasks/child-create.js';
import { ChildDeleteTask } from './tasks/child-delete.js';
import { ChildRekeyTask } from './tasks/child-rekey.js';
import { IkeAuthTask } from './tasks/ike-auth.js';
import { IkeDeleteTask } from './tasks/ike-delete.js';
import { IkeDpdTask } from './tasks/ike-dpd.js';
import { IkeInitTask } from './tasks/ike-init.js';
import { IkeRekeyTask } from './tasks/ike-rekey.js';
import { InformationalTask } from './tasks/informational.js';
import { parseAddress } from './traffic-selectors.js';

/** RFC 3948 2.2: IKE on port 4500 starts with four zero bytes. */
export const NON_ESP_MARKER_LENGTH = 4;
export const NAT_T_PORT = 4500;
const IKE_SPI_LENGTH = 8;
const CHILD_SPI_LENGTH = 4;

/** Why datagrams were dropped (counters). */
export type DropReason = 'malformed' | 'unknownSpi' | 'notExpected' | 'integrity' | 'cookie' | 'internal' | 'esp';

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
    esp: 0,
  };
  private readonly retransmit: RetransmitConfig;
  private readonly cookies: CookieJar;
  private readonly bySpi = new Map<string, IkeSa>();
  private readonly halfOpen = new Map<string, IkeSa>();
  private readonly out: OutgoingDatagram[] = [];
  private readonly events: IkeEvent[] = [];
  private nextId = 1;
  private readonly childSpis = new Set<number>();

  constructor(config: EngineConfig) {
    this.config = config;
    this.rng = config.rng;
    this.log = config.log ?? nullLogger;
    this.nonceLength = config.nonceLength ?? 32;
    this.retransmit = config.retransmit ?? DEFAULT_RETRANSMIT;
    this.cookies = new CookieJar(config.rng, config.cookieSecretLifetimeSec ?? 120);
  }

  // ---- API ---------------------------------------------------------------------------------------

  /** Start an IKE_SA for connection `name` (and its children unless childless). Returns the IKE_SA id. */
  initiate(name: string, local: Endpoint, remote: Endpoint, nowMs: number, children?: readonly string[]): number {
    const conn = this.config.connections.find((c) => c.name === name);
    if (conn === undefined) throw new Error(`no connection named '${name}'`);
    const sa = new IkeSa(this.nextId++, true, this.newIkeSpi(), local, remote, conn.name);
    sa.conn = conn;
    this.bySpi.set(sa.spiI.toString('hex'), sa);
    transitionIke(sa, IkeSaState.CONNECTING, 'initiate', this.log);
    sa.halfOpenDeadlineMs = 0;
    this.queueTask(sa, new IkeInitTask());
    this.queueTask(sa, new IkeAuthTask());
    const wanted = conn.children.filter((c) => children === undefined || children.includes(c.name));
    const [firstChild, ...rest] = conn.childless === 'force' ? [] : wanted;
    if (firstChild !== undefined) this.queueTask(sa, new ChildCreateTask({ config: firstChild, inAuth: true }));
    for (const c of rest) this.queueTask(sa, new ChildCreateTask({ config: c, inAuth: false }));
    this.startNext(sa, nowMs);
    return sa.id;
  }

  /** Create another CHILD_SA on an established IKE_SA (CREATE_CHILD_SA, RFC 7296 1.3.1). */
  createChild(ikeSaId: number, childName: string, nowMs: number): void {
    const sa = this.ike(ikeSaId);
    const config = sa.conn?.children.find((c) => c.name === childName);
    if (config === undefined) throw new Error(`no child '${childName}' in ${sa.label}`);
    this.queueTask(sa, new ChildCreateTask({ config, inAuth: false }));
    this.startNext(sa, nowMs);
  }

  /** Delete an IKE_SA and its CHILD_SAs (INFORMATIONAL DELETE, RFC 7296 1.4.1). */
  terminate(ikeSaId: number, nowMs: number): void {
    const sa = this.ike(ikeSaId);
    if (sa.state === IkeSaState.CONNECTING || sa.state === IkeSaState.CREATED) {
      this.destroyIke(sa, 'terminated');
      return;
    }
    this.queueTask(sa, new IkeDeleteTask('terminated'));
    this.startNext(sa, nowMs);
  }

  /** Delete one CHILD_SA. */
  terminateChild(childSaId: number, nowMs: number): void {
    const [sa, child] = this.child(childSaId);
    this.queueTask(sa, new ChildDeleteTask([child], 'terminated'));
    this.startNext(sa, nowMs);
  }

  /** Rekey an IKE_SA (RFC 7296 1.3.2). */
  rekeyIke(ikeSaId: number, nowMs: number): void {
    const sa = this.ike(ikeSaId);
    this.queueTask(sa, new IkeRekeyTask());
    this.startNext(sa, nowMs);
  }

  /** Rekey a CHILD_SA (RFC 7296 1.3.3). */
  rekeyChild(childSaId: number, nowMs: number): void {
    const [sa, child] = this.child(childSaId);
    this.queueTask(sa, new ChildRekeyTask(child));
    this.startNext(sa, nowMs);
  }

  /** Send a liveness check now (RFC 7296 2.4). */
  checkLiveness(ikeSaId: number, nowMs: number): void {
    const sa = this.ike(ikeSaId);
    this.queueTask(sa, new IkeDpdTask());
    this.startNext(sa, nowMs);
  }

  /**
   * The data plane reports traffic on a CHILD_SA (both directions summed); crossing the soft limit
   * starts a rekey, crossing the hard limit deletes it.
   */
  reportTraffic(childSaId: number, bytes: number, packets: number, nowMs: number): void {
    const found = this.findChild(childSaId);
    if (found === undefined) return;
    const [sa, child] = found;
    child.bytes += bytes;
    child.packets += packets;
    this.checkChildLimits(sa, child, nowMs);
    this.startNext(sa, nowMs);
  }

  /** Feed one received UDP payload. Never throws. */
  receiveDatagram(bytes: Uint8Array, from: Endpoint, to: Endpoint, nowMs: number): void {
    try {
      let buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (from.port === NAT_T_PORT || to.port === NAT_T_PORT) {
        if (buf.length < NON_ESP_MARKER_LENGTH || buf.readUInt32BE(0) !== 0) {
          this.drops.esp++;
          return;
        }
        buf = buf.subarray(NON_ESP_MARKER_LENGTH);
      }
      this.receive(Buffer.from(buf), from, to, nowMs);
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

  /** Run due timers: retransmissions, rekeys, expiries, liveness checks. Never throws. */
  handleTimer(nowMs: number): void {
    for (const sa of [...new Set(this.bySpi.values())]) {
      try {
        this.timersOf(sa, nowMs);
      } catch (e) {
        this.drops.internal++;
        this.log.log('ike', LogLevel.CONTROL, `timer failed: ${e instanceof Error ? e.message : String(e)}`, sa.label);
      }
    }
  }

  /** The earliest absolute time handleTimer() has something to do, or undefined. */
  nextTimerMs(): number | undefined {
    let next = Infinity;
    const at = (t: number): void => {
      if (t > 0 && t < next) next = t;
    };
    for (const sa of new Set(this.bySpi.values())) {
      if (sa.active) at(sa.active.deadlineMs);
      at(sa.halfOpenDeadlineMs);
      if (sa.state === IkeSaState.ESTABLISHED) {
        at(sa.rekeyAtMs);
        at(sa.dpdAtMs);
      }
      at(sa.expireAtMs);
      for (const c of sa.children) {
        if (c.state === ChildSaState.INSTALLED) at(c.rekeyAtMs);
        at(c.expireAtMs);
      }
    }
    return next === Infinity ? undefined : next;
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
    return [...new Set(this.bySpi.values())];
  }

  /** Number of half-open responder IKE_SAs (RFC 7296 2.6). */
  halfOpenCount(): number {
    return this.ikeSas().filter((s) => !s.initiator && s.state === IkeSaState.CONNECTING).length;
  }

  // ---- EngineCore ------------------------------------------------------------------------------

  emit(event: IkeEvent): void {
    this.events.push(event);
  }

  newIkeSpi(): Buffer {
    for (;;) {
      const spi = this.rng.bytes(IKE_SPI_LENGTH);
      if (!spi.equals(Buffer.alloc(IKE_SPI_LENGTH)) && !this.bySpi.has(spi.toString('hex'))) return spi;
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
    sa.rekeyOf = old.id;
    this.bySpi.set(sa.spiLocal.toString('hex'), sa);
    return sa;
  }

  installChild(sa: IkeSa, child: ChildSa, nowMs: number): void {
    if (child.state !== ChildSaState.CREATED) return;
    transitionChild(child, ChildSaState.INSTALLED, 'installed', this.log);
    if (!sa.children.includes(child)) sa.children.push(child);
    const l = child.config.lifetimes;
    child.installedAtMs = nowMs;
    child.rekeyAtMs = l.rekeyTimeSec > 0 ? nowMs + (l.rekeyTimeSec - this.jitter(l.randTimeSec)) * 1000 : 0;
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

  removeChild(sa: IkeSa, child: ChildSa, reason: string): void {
    const i = sa.children.indexOf(child);
    if (i >= 0) sa.children.splice(i, 1);
    if (child.state === ChildSaState.DESTROYED) return;
    const wasInstalled = child.state !== ChildSaState.CREATED;
    transitionChild(child, ChildSaState.DESTROYED, reason, this.log);
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
        reason,
      });
  }

  establishIke(sa: IkeSa, nowMs: number): void {
    transitionIke(sa, IkeSaState.ESTABLISHED, 'authenticated', this.log);
    const conn = sa.conn;
    sa.establishedAtMs = nowMs;
    sa.halfOpenDeadlineMs = 0;
    sa.lastHeardMs = nowMs;
    if (conn !== undefined) {
      sa.rekeyAtMs = conn.rekeyTimeSec > 0 ? nowMs + (conn.rekeyTimeSec - this.jitter(conn.randTimeSec)) * 1000 : 0;
      sa.expireAtMs = conn.rekeyTimeSec > 0 ? nowMs + (conn.rekeyTimeSec + conn.overTimeSec) * 1000 : 0;
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
    };
    this.emit(sa.rekeyOf === undefined ? base : { ...base, rekeyOf: sa.rekeyOf });
  }

  destroyIke(sa: IkeSa, reason: string): void {
    if (sa.state === IkeSaState.DESTROYED) return;
    for (const c of [...sa.children]) this.removeChild(sa, c, reason);
    const wasEstablished = sa.establishedAtMs > 0;
    transitionIke(sa, IkeSaState.DESTROYED, reason, this.log);
    sa.active = undefined;
    sa.queue = [];
    for (const [k, v] of this.bySpi) if (v === sa) this.bySpi.delete(k);
    for (const [k, v] of this.halfOpen) if (v === sa) this.halfOpen.delete(k);
    if (wasEstablished || sa.initiator)
      this.emit({ type: 'ikeSaDeleted', ikeSaId: sa.id, name: sa.conn?.name ?? '', reason });
  }

  queueTask(sa: IkeSa, task: Task): void {
    sa.queue.push(task);
  }

  connections(): readonly ConnectionConfig[] {
    return this.config.connections;
  }

  psk(local: IkeIdentity, remote: IkeIdentity): Uint8Array | undefined {
    return this.config.psk(local, remote);
  }

  initialContact(sa: IkeSa, peer: IkeIdentity): void {
    for (const other of this.ikeSas()) {
      if (other === sa || other.conn !== sa.conn || other.state !== IkeSaState.ESTABLISHED) continue;
      const id = other.initiator ? other.idR : other.idI;
      const otherPeer = id === undefined ? undefined : decodeIdentity(id.type, id.data);
      if (otherPeer !== undefined && identityMatches(otherPeer, peer))
        this.destroyIke(other, 'INITIAL_CONTACT from the same peer');
    }
  }

  childByPeerSpi(sa: IkeSa, protocol: 'esp' | 'ah', spi: Uint8Array): ChildSa | undefined {
    return sa.children.find((c) => c.protocol === protocol && Buffer.compare(c.spiOut, Buffer.from(spi)) === 0);
  }

  // ---- internals -------------------------------------------------------------------------------

  private jitter(maxSec: number): number {
    if (maxSec <= 0) return 0;
    return this.rng.bytes(4).readUInt32BE(0) % (Math.floor(maxSec) + 1);
  }

  private ike(id: number): IkeSa {
    const sa = this.ikeSas().find((s) => s.id === id);
    if (sa === undefined) throw new Error(`no IKE_SA with id ${id}`);
    return sa;
  }

  private findChild(id: number): [IkeSa, ChildSa] | undefined {
    for (const sa of this.ikeSas()) {
      const c = sa.children.find((x) => x.id === id);
      if (c !== undefined) return [sa, c];
    }
    return undefined;
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
      local: sa.local,
      remote: sa.remote,
      encap: sa.natLocal || sa.natRemote,
      lifeBytes: c.lifeBytes,
      lifePackets: c.lifePackets,
    };
  }

  private checkChildLimits(sa: IkeSa, c: ChildSa, nowMs: number): void {
    const hard = (c.lifeBytes > 0 && c.bytes >= c.lifeBytes) || (c.lifePackets > 0 && c.packets >= c.lifePackets);
    const hardTime = c.expireAtMs > 0 && nowMs >= c.expireAtMs;
    if ((hard || hardTime) && c.state !== ChildSaState.DELETING && c.state !== ChildSaState.DESTROYED) {
      c.expireAtMs = 0;
      this.queueTask(sa, new ChildDeleteTask([c], 'hard lifetime expired'));
      return;
    }
    const soft =
      (c.rekeyBytes > 0 && c.bytes >= c.rekeyBytes) ||
      (c.rekeyPackets > 0 && c.packets >= c.rekeyPackets) ||
      (c.rekeyAtMs > 0 && nowMs >= c.rekeyAtMs);
    if (soft && c.state === ChildSaState.INSTALLED && sa.state === IkeSaState.ESTABLISHED) {
      c.rekeyAtMs = 0;
      c.rekeyBytes = 0;
      c.rekeyPackets = 0;
      this.queueTask(sa, new ChildRekeyTask(c));
    }
  }

  private timersOf(sa: IkeSa, nowMs: number): void {
    if (sa.active !== undefined && nowMs >= sa.active.deadlineMs) this.retransmitOrGiveUp(sa, nowMs);
    if (sa.state === IkeSaState.DESTROYED) return;
    if (sa.halfOpenDeadlineMs > 0 && nowMs >= sa.halfOpenDeadlineMs && sa.state === IkeSaState.CONNECTING) {
      this.destroyIke(sa, 'half-open timeout');
      return;
    }
    if (sa.expireAtMs > 0 && nowMs >= sa.expireAtMs) {
      this.destroyIke(sa, 'IKE_SA hard lifetime expired');
      return;
    }
    if (sa.state === IkeSaState.ESTABLISHED) {
      if (sa.rekeyAtMs > 0 && nowMs >= sa.rekeyAtMs) {
        sa.rekeyAtMs = 0;
        this.queueTask(sa, new IkeRekeyTask());
      }
      if (sa.dpdAtMs > 0 && nowMs >= sa.dpdAtMs) {
        const delay = (sa.conn?.dpdDelaySec ?? 0) * 1000;
        if (nowMs - sa.lastHeardMs >= delay && sa.active === undefined && sa.queue.length === 0)
          this.queueTask(sa, new IkeDpdTask());
        sa.dpdAtMs = Math.max(nowMs, sa.lastHeardMs) + delay;
      }
      for (const c of [...sa.children]) this.checkChildLimits(sa, c, nowMs);
    }
    this.startNext(sa, nowMs);
  }

  private timeoutMs(tries: number): number {
    const r = this.retransmit;
    let t = r.timeoutSec * Math.pow(r.base, tries) * 1000;
    if (r.limitSec > 0) t = Math.min(t, r.limitSec * 1000);
    return t;
  }

  private retransmitOrGiveUp(sa: IkeSa, nowMs: number): void {
    const a = sa.active;
    if (a === undefined) return;
    if (a.tries >= this.retransmit.tries) {
      this.log.log('ike', LogLevel.CONTROL, `giving up after ${a.tries} retransmits`, sa.label);
      const ctx = this.ctx(sa, nowMs);
      sa.active = undefined;
      for (const t of a.tasks) t.failed?.(ctx, 'peer not responding', 0);
      if (sa.state !== IkeSaState.DESTROYED) {
        if (a.exchangeType === ExchangeType.IKE_SA_INIT || a.exchangeType === ExchangeType.IKE_AUTH)
          this.emit({
            type: 'ikeSaFailed',
            ikeSaId: sa.id,
            name: sa.conn?.name ?? '',
            notifyType: 0,
            reason: 'peer not responding',
          });
        this.destroyIke(sa, 'peer not responding');
      }
      return;
    }
    a.tries++;
    a.deadlineMs = nowMs + this.timeoutMs(a.tries);
    this.log.log('ike', LogLevel.CONTROL, `retransmit ${a.tries} of request with message ID ${a.messageId}`, sa.label);
    for (const p of a.packets) this.send(sa.local, sa.remote, p);
  }

  private ctx(sa: IkeSa, nowMs: number): TaskContext {
    return { core: this, sa, nowMs };
  }

  /** Tasks may queue work on other IKE_SAs (rekeys): give every IKE_SA its turn. */
  private startAll(nowMs: number): void {
    for (const sa of this.ikeSas()) if (sa.active === undefined && sa.queue.length > 0) this.startNext(sa, nowMs);
  }

  /** Start the next queued exchange if the window (size 1, RFC 7296 2.3) is free. */
  private startNext(sa: IkeSa, nowMs: number): void {
    while (sa.active === undefined && sa.queue.length > 0 && sa.state !== IkeSaState.DESTROYED) {
      const head = sa.queue[0];
      if (head === undefined) return;
      const established = sa.state !== IkeSaState.CONNECTING && sa.state !== IkeSaState.CREATED;
      if (!established && head.exchangeType !== ExchangeType.IKE_SA_INIT && head.exchangeType !== ExchangeType.IKE_AUTH)
        return;
      if (sa.state === IkeSaState.DELETING && !(head instanceof IkeDeleteTask)) {
        sa.queue.shift();
        continue;
      }
      const tasks: Task[] = [head];
      sa.queue.shift();
      if (head.exchangeType === ExchangeType.IKE_AUTH)
        while (sa.queue[0]?.exchangeType === ExchangeType.IKE_AUTH) tasks.push(sa.queue.shift() as Task);
      this.sendRequest(sa, tasks, nowMs, sa.nextRequestId++);
    }
  }

  private sendRequest(sa: IkeSa, tasks: Task[], nowMs: number, messageId: number): void {
    const ctx = this.ctx(sa, nowMs);
    const exchangeType = tasks[0]?.exchangeType ?? ExchangeType.INFORMATIONAL;
    const payloads: Payload[] = [];
    const built: Task[] = [];
    for (const [i, t] of tasks.entries()) {
      try {
        payloads.push(...t.buildI(ctx));
        built.push(t);
      } catch (e) {
        if (!(e instanceof IkeError)) throw e;
        this.log.log('ike', LogLevel.CONTROL, `cannot build ${t.kind}: ${e.reason}`, sa.label);
        if (i === 0 && (exchangeType === ExchangeType.IKE_SA_INIT || exchangeType === ExchangeType.IKE_AUTH)) {
          this.emit({
            type: 'ikeSaFailed',
            ikeSaId: sa.id,
            name: sa.conn?.name ?? '',
            notifyType: e.notifyType,
            reason: e.reason,
          });
          this.destroyIke(sa, e.reason);
          return;
        }
        t.failed?.(ctx, e.reason, e.notifyType);
      }
    }
    if (built.length === 0) {
      sa.nextRequestId--;
      return;
    }
    const header = this.header(sa, exchangeType, false, messageId);
    const packet = this.encode(sa, header, payloads);
    if (exchangeType === ExchangeType.IKE_SA_INIT) sa.initRequest = packet;
    sa.active = {
      messageId,
      exchangeType,
      tasks: built,
      packets: [packet],
      tries: 0,
      deadlineMs: nowMs + this.timeoutMs(0),
    };
    this.send(sa.local, sa.remote, packet);
  }

  private header(sa: IkeSa, exchangeType: number, response: boolean, messageId: number): IkeHeader {
    return {
      spiI: sa.spiI,
      spiR: sa.spiR,
      nextPayload: 0,
      majorVersion: IKE_MAJOR_VERSION,
      minorVersion: 0,
      exchangeType,
      flags: { initiator: sa.initiator, response, version: false },
      messageId,
      length: 0,
    };
  }

  private crypters(sa: IkeSa): void {
    if (sa.protectOut !== undefined || sa.keys === undefined || sa.proposal?.encr === undefined) return;
    const k = sa.keys;
    const encrId = sa.proposal.encr.id;
    const integ = sa.proposal.integ;
    const mk = (skE: Buffer, skA: Buffer) =>
      createSkCrypter(integ === undefined ? { encrId, skE } : { encrId, integId: integ, skE, skA }, this.rng);
    const i = mk(k.skEi, k.skAi);
    const r = mk(k.skEr, k.skAr);
    [sa.protectOut, sa.protectIn] = sa.initiator ? [i, r] : [r, i];
  }

  private encode(sa: IkeSa, header: IkeHeader, payloads: Payload[]): Buffer {
    if (header.exchangeType === ExchangeType.IKE_SA_INIT) return encodeMessage({ header, payloads });
    this.crypters(sa);
    if (sa.protectOut === undefined) throw new Error('no SK keys');
    return sa.protectOut.seal(header, payloads);
  }

  private send(from: Endpoint, to: Endpoint, packet: Buffer): void {
    const natT = from.port === NAT_T_PORT || to.port === NAT_T_PORT;
    const bytes = natT ? Buffer.concat([Buffer.alloc(NON_ESP_MARKER_LENGTH), packet]) : packet;
    this.out.push({ from, to, bytes });
  }

  private receive(buf: Buffer, from: Endpoint, to: Endpoint, nowMs: number): void {
    if (buf.length < IKE_HEADER_LENGTH) {
      this.drops.malformed++;
      return;
    }
    const header = decodeHeader(buf);
    if (header.majorVersion !== IKE_MAJOR_VERSION || header.length !== buf.length) {
      this.drops.malformed++;
      return;
    }
    const zero = Buffer.alloc(IKE_SPI_LENGTH);
    if (!header.flags.response && header.exchangeType === ExchangeType.IKE_SA_INIT && header.spiR.equals(zero)) {
      this.receiveInitRequest(buf, header, from, to, nowMs);
      return;
    }
    // Our SPI is the responder SPI in messages from the original initiator, else the initiator SPI.
    const ours = header.flags.initiator ? header.spiR : header.spiI;
    const sa = this.bySpi.get(ours.toString('hex'));
    if (sa === undefined || sa.initiator === header.flags.initiator || sa.state === IkeSaState.DESTROYED) {
      this.drops.unknownSpi++;
      return;
    }
    if (header.flags.response) this.receiveResponse(sa, buf, header, nowMs);
    else this.receiveRequest(sa, buf, header, from, to, nowMs);
  }

  private open(sa: IkeSa, buf: Buffer, header: IkeHeader): Payload[] | undefined {
    if (header.exchangeType === ExchangeType.IKE_SA_INIT) {
      return decodeMessage(buf).payloads;
    }
    this.crypters(sa);
    if (sa.protectIn === undefined) {
      this.drops.notExpected++;
      return undefined;
    }
    const r = sa.protectIn.open(buf);
    if (!r.ok) {
      if (r.reason === 'integrity') this.drops.integrity++;
      else this.drops.malformed++;
      return undefined;
    }
    if (!r.header.spiI.equals(sa.spiI) || !r.header.spiR.equals(sa.spiR)) {
      this.drops.unknownSpi++;
      return undefined;
    }
    return r.payloads;
  }

  private receiveResponse(sa: IkeSa, buf: Buffer, header: IkeHeader, nowMs: number): void {
    const a = sa.active;
    if (a === undefined || a.messageId !== header.messageId || a.exchangeType !== header.exchangeType) {
      this.drops.notExpected++;
      return;
    }
    if (header.exchangeType === ExchangeType.IKE_SA_INIT) {
      const zero = Buffer.alloc(IKE_SPI_LENGTH);
      if (!header.spiR.equals(zero)) sa.spiR = Buffer.from(header.spiR);
      sa.initResponse = buf;
    }
    const payloads = this.open(sa, buf, header);
    if (payloads === undefined) return;
    if (payloads.some((p) => p.type === 'unknown' && p.critical)) {
      this.drops.malformed++;
      return;
    }
    sa.lastHeardMs = nowMs;
    sa.active = undefined;
    const ctx = this.ctx(sa, nowMs);
    const retry: Task[] = [];
    for (const [i, t] of a.tasks.entries()) {
      if (sa.state === IkeSaState.DESTROYED) break;
      try {
        if (t.processI(ctx, payloads) === 'retry') retry.push(t);
        else t.completed?.(ctx);
      } catch (e) {
        if (!(e instanceof IkeError)) throw e;
        this.log.log('ike', LogLevel.CONTROL, `${t.kind} failed: ${e.reason}`, sa.label);
        const fatal =
          i === 0 && (a.exchangeType === ExchangeType.IKE_SA_INIT || a.exchangeType === ExchangeType.IKE_AUTH);
        if (fatal) {
          const name = sa.conn?.name ?? '';
          if (e.notifyType === NotifyType.AUTHENTICATION_FAILED)
            this.emit({
              type: 'authFailed',
              ikeSaId: sa.id,
              name,
              byUs: !findNotify(payloads, NotifyType.AUTHENTICATION_FAILED),
              reason: e.reason,
            });
          else this.emit({ type: 'ikeSaFailed', ikeSaId: sa.id, name, notifyType: e.notifyType, reason: e.reason });
          for (const other of a.tasks.slice(1)) other.failed?.(ctx, e.reason, e.notifyType);
          this.destroyIke(sa, e.reason);
          return;
        }
        t.failed?.(ctx, e.reason, e.notifyType);
      }
    }
    if (sa.state === IkeSaState.DESTROYED) return;
    if (retry.length > 0) {
      if (a.exchangeType === ExchangeType.IKE_SA_INIT) {
        sa.spiR = Buffer.alloc(IKE_SPI_LENGTH);
        this.sendRequest(sa, retry, nowMs, 0);
      } else this.sendRequest(sa, retry, nowMs, sa.nextRequestId++);
      return;
    }
    if (a.exchangeType === ExchangeType.IKE_SA_INIT) this.maybeFloat(sa);
    this.startNext(sa, nowMs);
  }

  /** After IKE_SA_INIT: behind a NAT, continue on port 4500 (RFC 7296 2.23, RFC 3948). */
  private maybeFloat(sa: IkeSa): void {
    if ((sa.natLocal || sa.natRemote) && sa.remote.port !== NAT_T_PORT) {
      sa.remote = { address: sa.remote.address, port: NAT_T_PORT };
      sa.local = { address: sa.local.address, port: NAT_T_PORT };
    }
  }

  private receiveRequest(sa: IkeSa, buf: Buffer, header: IkeHeader, from: Endpoint, to: Endpoint, nowMs: number): void {
    const cached = sa.lastResponse;
    if (
      cached !== undefined &&
      header.messageId === cached.messageId &&
      header.messageId + 1 === sa.expectedRequestId
    ) {
      // A retransmitted request: answer from the cache (RFC 7296 2.1), without processing again.
      if (header.exchangeType === ExchangeType.IKE_SA_INIT || this.open(sa, buf, header) !== undefined)
        for (const p of cached.packets) this.send(sa.local, sa.remote, p);
      return;
    }
    if (header.messageId !== sa.expectedRequestId) {
      this.drops.notExpected++;
      return;
    }
    const payloads = this.open(sa, buf, header);
    if (payloads === undefined) return;
    sa.lastHeardMs = nowMs;
    if (from.port !== sa.remote.port || from.address !== sa.remote.address) {
      sa.remote = from; // NAT mapping change or float to 4500 (RFC 7296 2.23)
      sa.local = to;
    }
    const ctx = this.ctx(sa, nowMs);
    let tasks: Task[];
    if (payloads.some((p) => p.type === 'unknown' && p.critical)) {
      this.respond(sa, header, [notify(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD)]);
      return;
    }
    switch (header.exchangeType) {
      case ExchangeType.IKE_AUTH:
        if (sa.initiator || sa.state !== IkeSaState.CONNECTING)
          return this.respondError(sa, header, NotifyType.INVALID_SYNTAX);
        tasks = [new IkeAuthTask(), new ChildCreateTask({ inAuth: true })];
        break;
      case ExchangeType.CREATE_CHILD_SA:
        if (sa.state !== IkeSaState.ESTABLISHED && sa.state !== IkeSaState.REKEYING)
          return this.respondError(sa, header, NotifyType.TEMPORARY_FAILURE);
        tasks = [
          ChildRekeyTask.matches(payloads)
            ? new ChildRekeyTask()
            : IkeRekeyTask.matches(payloads)
              ? new IkeRekeyTask()
              : new ChildCreateTask({ inAuth: false }),
        ];
        break;
      case ExchangeType.INFORMATIONAL:
        tasks = [new InformationalTask()];
        break;
      default:
        this.drops.notExpected++;
        return;
    }
    const out: Payload[] = [];
    const ok: Task[] = [];
    let fatal: IkeError | undefined;
    for (const [i, t] of tasks.entries()) {
      try {
        t.processR(ctx, payloads);
        out.push(...t.buildR(ctx));
        ok.push(t);
      } catch (e) {
        if (!(e instanceof IkeError)) throw e;
        this.log.log('ike', LogLevel.CONTROL, `${t.kind} failed: ${e.reason}`, sa.label);
        if (i === 0 && header.exchangeType === ExchangeType.IKE_AUTH) {
          fatal = e;
          break;
        }
        if (e.notifyType !== 0) out.push(notify(e.notifyType, e.data));
        t.failed?.(ctx, e.reason, e.notifyType);
      }
    }
    if (fatal !== undefined) {
      this.respond(sa, header, [notify(fatal.notifyType || NotifyType.AUTHENTICATION_FAILED, fatal.data)]);
      const name = sa.conn?.name ?? '';
      if (fatal.notifyType === NotifyType.AUTHENTICATION_FAILED)
        this.emit({ type: 'authFailed', ikeSaId: sa.id, name, byUs: true, reason: fatal.reason });
      else this.emit({ type: 'ikeSaFailed', ikeSaId: sa.id, name, notifyType: fatal.notifyType, reason: fatal.reason });
      this.destroyIke(sa, fatal.reason);
      return;
    }
    this.respond(sa, header, out);
    for (const t of ok) if (sa.state !== IkeSaState.DESTROYED) t.completed?.(ctx);
    if (sa.state !== IkeSaState.DESTROYED) this.startNext(sa, nowMs);
  }

  private respondError(sa: IkeSa, header: IkeHeader, notifyType: number): void {
    this.respond(sa, header, [notify(notifyType)]);
  }

  private respond(sa: IkeSa, request: IkeHeader, payloads: Payload[]): void {
    const packet = this.encode(sa, this.header(sa, request.exchangeType, true, request.messageId), payloads);
    sa.lastResponse = { messageId: request.messageId, packets: [packet] };
    sa.expectedRequestId = request.messageId + 1;
    this.send(sa.local, sa.remote, packet);
  }

  private receiveInitRequest(buf: Buffer, header: IkeHeader, from: Endpoint, to: Endpoint, nowMs: number): void {
    const key = `${from.address}|${from.port}|${header.spiI.toString('hex')}`;
    const existing = this.halfOpen.get(key);
    if (existing !== undefined) {
      if (existing.initRequest.equals(buf)) this.send(to, from, existing.initResponse);
      else this.drops.notExpected++;
      return;
    }
    if (header.messageId !== 0) {
      this.drops.notExpected++;
      return;
    }
    const msg = decodeMessage(buf);
    const nonce = first(msg.payloads, PayloadType.NONCE);
    const stateless = (payloads: Payload[]): void => {
      const h: IkeHeader = {
        ...header,
        spiR: Buffer.alloc(IKE_SPI_LENGTH),
        flags: { initiator: false, response: true, version: false },
      };
      this.send(to, from, encodeMessage({ header: h, payloads }));
    };
    if (this.halfOpenCount() >= (this.config.cookieThreshold ?? 10)) {
      const ip = parseAddress(from.address) ?? Buffer.alloc(0);
      const nonceI = nonce?.data ?? Buffer.alloc(0);
      const first0 = msg.payloads[0];
      const got =
        first0?.type === PayloadType.NOTIFY && first0.notifyType === NotifyType.COOKIE ? first0.data : undefined;
      if (got === undefined || !this.cookies.verify(nowMs, got, nonceI, ip, header.spiI)) {
        this.drops.cookie++;
        stateless([notify(NotifyType.COOKIE, this.cookies.make(nowMs, nonceI, ip, header.spiI))]);
        return;
      }
    }
    const sa = new IkeSa(this.nextId++, false, Buffer.from(header.spiI), to, from, 'ike');
    sa.spiR = this.newIkeSpi();
    const task = new IkeInitTask();
    const ctx = this.ctx(sa, nowMs);
    let payloads: Payload[];
    try {
      task.processR(ctx, msg.payloads);
      payloads = task.buildR(ctx);
    } catch (e) {
      if (!(e instanceof IkeError)) throw e;
      this.log.log('ike', LogLevel.CONTROL, `IKE_SA_INIT refused: ${e.reason}`);
      if (e.notifyType !== 0) stateless([notify(e.notifyType, e.data)]);
      return;
    }
    sa.label = `${sa.conn?.name ?? 'ike'}[${sa.id}]`;
    transitionIke(sa, IkeSaState.CONNECTING, 'IKE_SA_INIT received', this.log);
    sa.initRequest = buf;
    sa.lastHeardMs = nowMs;
    sa.halfOpenDeadlineMs = nowMs + (this.config.halfOpenTimeoutSec ?? 30) * 1000;
    this.bySpi.set(sa.spiR.toString('hex'), sa);
    this.halfOpen.set(key, sa);
    const packet = encodeMessage({ header: this.header(sa, ExchangeType.IKE_SA_INIT, true, 0), payloads });
    sa.initResponse = packet;
    sa.lastResponse = { messageId: 0, packets: [packet] };
    sa.expectedRequestId = 1;
    this.send(to, from, packet);
  }
}
