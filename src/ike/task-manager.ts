/**
 * The task manager (RFC 7296 2.1, 2.3): per IKE_SA, one request outstanding each way (window size 1).
 * It numbers and sends requests built by tasks, retransmits them with exponential back-off and gives up,
 * matches responses, answers requests in order and replays the cached response for a retransmitted
 * request. Protected messages go through SK (or SKF fragments, RFC 7383, when both peers support them).
 * IkeErrors from tasks become notifies (responder) or failures/teardowns (initiator) here, in one place.
 */
import { LogLevel } from '../common/log.js';
import { NAT_T_PORT } from '../common/nat-t.js';
import { ExchangeType, IKE_MAJOR_VERSION, NotifyType, PayloadType, nameOf } from './codec/constants.js';
import { encodeMessage, decodeMessage } from './codec/message.js';
import type { IkeHeader, IkeMessage, Payload } from './codec/types.js';
import { validateMessageRules } from './codec/rules.js';
import type { RuleViolation } from './codec/rules.js';
import type { RetransmitConfig } from './config.js';
import type { EngineCore } from './engine-core.js';
import { IkeError } from './errors.js';
import type { Endpoint } from './events.js';
import { findNotify, first, notify } from './payload-util.js';
import { FragmentReassembler, sealMessage } from './protection/fragments.js';
import { createSkCrypter } from './protection/sk-crypter.js';
import type { IkeSa } from './sa.js';
import { IkeSaState } from './sa-state.js';
import type { Task, TaskContext } from './task.js';
import { ChildCreateTask } from './tasks/child-create.js';
import { ChildRekeyTask } from './tasks/child-rekey.js';
import { IkeAuthTask } from './tasks/ike-auth.js';
import { IkeConfigTask } from './tasks/ike-config.js';
import { IkeEapTask, authenticationPending } from './tasks/ike-eap.js';
import { IkeDeleteTask } from './tasks/ike-delete.js';
import { IkeMobikeTask, MobikeInformationalTask } from './tasks/ike-mobike.js';
import { IkeRekeyTask } from './tasks/ike-rekey.js';
import { InformationalTask } from './tasks/informational.js';

const IKE_SPI_LENGTH = 8;

/** What opening a received message gave. */
export type Opened =
  | { readonly kind: 'ok'; readonly payloads: Payload[] }
  /** An authenticated fragment; the message is not complete (or was completed before). */
  | { readonly kind: 'partial'; readonly fragmentNumber: number }
  /** Authenticated, but the content does not decode (RFC 7296 2.21.2: INVALID_SYNTAX). */
  | { readonly kind: 'syntax' }
  /** Breaks the message rules table (src/ike/codec/rules.ts): the notify a request gets (RFC 7296 2.5, 2.21.2). */
  | { readonly kind: 'invalid'; readonly violation: RuleViolation }
  | { readonly kind: 'drop' };
const DROP: Opened = { kind: 'drop' };

/** Stand-ins for the SK/SKF payload when checking the outer shape of an opened message. */
const SK_MARK: Payload = { type: PayloadType.SK, firstPayload: 0, data: Buffer.alloc(0) };
const SKF_MARK: Payload = {
  type: PayloadType.SKF,
  firstPayload: 0,
  fragmentNumber: 1,
  totalFragments: 1,
  data: Buffer.alloc(0),
};

/** Apply the message rules table: which payloads this exchange and direction may carry, how many, where. */
function checked(msg: IkeMessage, inner: readonly Payload[] | undefined, payloads: Payload[]): Opened {
  const violation = validateMessageRules(msg, inner);
  return violation === undefined ? { kind: 'ok', payloads } : { kind: 'invalid', violation };
}

/** ` (NO_PROPOSAL_CHOSEN)` for logs, empty for silent failures. */
function notifyName(e: IkeError): string {
  return e.notifyType === 0 ? '' : ` (${nameOf(NotifyType, e.notifyType)})`;
}

/** Why datagrams were dropped (counters). */
export type DropReason =
  | 'malformed'
  | 'unknownSpi'
  | 'notExpected'
  | 'integrity'
  | 'cookie'
  | 'internal'
  /** IKE_SA_INIT beyond charon.block_threshold or charon.init_limit_half_open. */
  | 'halfOpenLimit'
  /** IKE_SA_INIT beyond the key exchange budget (keLimitMsPerSec). */
  | 'keLimit';

export interface TaskManagerOptions {
  readonly retransmit: RetransmitConfig;
  /** Largest IKE message (without IP/UDP headers) before SKF fragmentation (RFC 7383 2.5.1). */
  readonly maxMessageLength: number;
  readonly drops: Record<DropReason, number>;
  readonly send: (from: Endpoint, to: Endpoint, packet: Buffer) => void;
}

/** Our address and the peer's a request used: where its response goes. */
interface ReplyTo {
  readonly local: Endpoint;
  readonly remote: Endpoint;
}

/** The responder's IKE_AUTH tasks while EAP takes several rounds (RFC 7296 2.16). */
const authRounds = new WeakMap<IkeSa, Task[]>();

/**
 * An exchange held while a task's asynchronous work runs (task.waitingFor): our response to a request, or our
 * next request after a response. `resume` continues it once `settled`.
 */
type Deferred =
  | {
      readonly kind: 'respond';
      readonly header: IkeHeader;
      readonly replyTo: ReplyTo;
      readonly tasks: Task[];
      readonly payloads: Payload[];
      readonly ready: Promise<void>;
      settled: boolean;
    }
  | { readonly kind: 'request'; readonly tasks: Task[]; readonly ready: Promise<void>; settled: boolean };

/** (A function, so that the state is read again after calls that may destroy the IKE_SA.) */
function destroyed(sa: IkeSa): boolean {
  return sa.state === IkeSaState.DESTROYED;
}

/** Reassemblers per IKE_SA: [requests, responses]. */
const reassemblers = new WeakMap<IkeSa, [FragmentReassembler, FragmentReassembler]>();

export class TaskManager {
  private readonly core: EngineCore;
  private readonly retransmit: RetransmitConfig;
  private readonly maxMessageLength: number;
  private readonly drops: Record<DropReason, number>;
  private readonly send: (from: Endpoint, to: Endpoint, packet: Buffer) => void;
  private readonly deferred = new Map<IkeSa, Deferred>();

  constructor(core: EngineCore, options: TaskManagerOptions) {
    this.core = core;
    this.retransmit = options.retransmit;
    this.maxMessageLength = options.maxMessageLength;
    this.drops = options.drops;
    this.send = options.send;
  }

  private timeoutMs(tries: number): number {
    const r = this.retransmit;
    let t = r.timeoutSec * Math.pow(r.base, tries) * 1000;
    if (r.limitSec > 0) t = Math.min(t, r.limitSec * 1000);
    return t;
  }

  /** Requests sent again since the engine started (for statistics). */
  retransmits = 0;

  retransmitOrGiveUp(sa: IkeSa, nowMs: number): void {
    const a = sa.active;
    if (a === undefined) return;
    if (a.tries >= this.retransmit.tries) {
      this.core.log.log('ike', LogLevel.CONTROL, `giving up after ${a.tries} retransmits`, sa.label);
      const ctx = this.ctx(sa, nowMs);
      sa.active = undefined;
      for (const t of a.tasks) t.failed?.(ctx, 'peer not responding', 0);
      if (sa.state !== IkeSaState.DESTROYED) {
        if (a.exchangeType === ExchangeType.IKE_SA_INIT || a.exchangeType === ExchangeType.IKE_AUTH)
          this.core.emit({
            type: 'ikeSaFailed',
            ikeSaId: sa.id,
            name: sa.conn?.name ?? '',
            notifyType: 0,
            reason: 'peer not responding',
          });
        this.core.destroyIke(sa, 'peerDead', 'peer not responding');
      }
      return;
    }
    a.tries++;
    this.retransmits++;
    a.deadlineMs = nowMs + this.timeoutMs(a.tries);
    this.core.log.log(
      'ike',
      LogLevel.CONTROL,
      `retransmit ${a.tries} of request with message ID ${a.messageId}`,
      sa.label,
    );
    for (const p of a.packets) this.send(sa.local, sa.remote, p);
  }

  private ctx(sa: IkeSa, nowMs: number, request?: ReplyTo): TaskContext {
    return request === undefined
      ? { core: this.core, sa, nowMs }
      : { core: this.core, sa, nowMs, request: { from: request.remote, to: request.local } };
  }

  /** Resolves when some held exchange's work settled (then call `resume`); undefined when none is held. */
  pendingWork(): Promise<void> | undefined {
    const open = [...this.deferred.values()].filter((d) => !d.settled).map((d) => d.ready);
    if (this.deferred.size > open.length) return Promise.resolve();
    return open.length === 0 ? undefined : Promise.race(open);
  }

  /** Continue the held exchanges whose work settled; the IKE_SAs concerned. */
  resume(nowMs: number): IkeSa[] {
    const resumed: IkeSa[] = [];
    for (const [sa, d] of [...this.deferred]) {
      if (sa.state === IkeSaState.DESTROYED) {
        this.deferred.delete(sa);
        continue;
      }
      if (!d.settled) continue;
      this.deferred.delete(sa);
      resumed.push(sa);
      if (d.kind === 'request') this.sendRequest(sa, d.tasks, nowMs, sa.nextRequestId++);
      else this.answer(sa, d.header, d.replyTo, d.tasks, d.payloads, nowMs);
      if (!destroyed(sa)) this.startNext(sa, nowMs);
    }
    return resumed;
  }

  /** Hold an exchange if one of `tasks` waits for asynchronous work; true when held. */
  private defer(sa: IkeSa, tasks: readonly Task[], make: (ready: Promise<void>) => Deferred): boolean {
    const ready = tasks.map((t) => t.waitingFor?.()).find((p) => p !== undefined);
    if (ready === undefined) return false;
    const d = make(ready);
    this.deferred.set(sa, d);
    const settle = (): void => {
      d.settled = true;
    };
    ready.then(settle, settle);
    return true;
  }

  /** Start the next queued exchange if the window (size 1, RFC 7296 2.3) is free. */
  startNext(sa: IkeSa, nowMs: number): void {
    if (this.deferred.has(sa)) return;
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

  sendRequest(sa: IkeSa, tasks: Task[], nowMs: number, messageId: number): void {
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
        this.core.log.log('ike', LogLevel.CONTROL, `cannot build ${t.kind}: ${e.reason}`, sa.label);
        if (i === 0 && (exchangeType === ExchangeType.IKE_SA_INIT || exchangeType === ExchangeType.IKE_AUTH)) {
          this.core.emit({
            type: 'ikeSaFailed',
            ikeSaId: sa.id,
            name: sa.conn?.name ?? '',
            notifyType: e.notifyType,
            reason: e.reason,
          });
          this.core.destroyIke(sa, 'failed', e.reason);
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
    const packets = this.encode(sa, header, payloads);
    if (exchangeType === ExchangeType.IKE_SA_INIT) sa.initRequest = packets[0] ?? Buffer.alloc(0);
    sa.active = { messageId, exchangeType, tasks: built, packets, tries: 0, deadlineMs: nowMs + this.timeoutMs(0) };
    for (const p of packets) this.send(sa.local, sa.remote, p);
  }

  header(sa: IkeSa, exchangeType: number, response: boolean, messageId: number): IkeHeader {
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
      createSkCrypter(integ === undefined ? { encrId, skE } : { encrId, integId: integ, skE, skA }, this.core.rng);
    const i = mk(k.skEi, k.skAi);
    const r = mk(k.skEr, k.skAr);
    [sa.protectOut, sa.protectIn] = sa.initiator ? [i, r] : [r, i];
  }

  /** One datagram, or SKF fragments when both peers announced IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383 2.3). */
  encode(sa: IkeSa, header: IkeHeader, payloads: Payload[]): Buffer[] {
    if (header.exchangeType === ExchangeType.IKE_SA_INIT) return [encodeMessage({ header, payloads })];
    this.crypters(sa);
    if (sa.protectOut === undefined) throw new Error('no SK keys');
    const fragmentation = sa.peerFragmentation && (sa.conn?.fragmentation ?? false);
    return sealMessage(sa.protectOut, header, payloads, { fragmentation, maxMessageLength: this.maxMessageLength });
  }

  /**
   * Decode (IKE_SA_INIT) or verify and decrypt a message. SKF fragments (RFC 7383 2.6) are authenticated
   * one by one and reassembled per direction; `partial` until the last one arrives.
   */
  open(sa: IkeSa, buf: Buffer, header: IkeHeader): Opened {
    if (header.exchangeType === ExchangeType.IKE_SA_INIT) {
      const msg = decodeMessage(buf);
      return checked(msg, undefined, msg.payloads);
    }
    this.crypters(sa);
    const crypter = sa.protectIn;
    if (crypter === undefined) {
      this.drops.notExpected++;
      return DROP;
    }
    const r = header.nextPayload === PayloadType.SKF ? crypter.openFragment(buf) : crypter.open(buf);
    if (!r.ok) {
      if (r.reason === 'integrity') this.drops.integrity++;
      else if (r.reason === 'syntax') return { kind: 'syntax' };
      else this.drops.malformed++;
      return DROP;
    }
    if (!r.header.spiI.equals(sa.spiI) || !r.header.spiR.equals(sa.spiR)) {
      this.drops.unknownSpi++;
      return DROP;
    }
    if ('payloads' in r)
      return checked({ header: r.header, payloads: [...r.outerPayloads, SK_MARK] }, r.payloads, r.payloads);
    let pair = reassemblers.get(sa);
    if (pair === undefined) {
      pair = [new FragmentReassembler(), new FragmentReassembler()];
      reassemblers.set(sa, pair);
    }
    const done = pair[header.flags.response ? 1 : 0].add(r);
    switch (done.status) {
      case 'complete':
        return checked({ header: r.header, payloads: [SKF_MARK] }, done.payloads, done.payloads);
      case 'retransmit':
      case 'incomplete':
        return { kind: 'partial', fragmentNumber: r.fragmentNumber };
      case 'rejected':
        if (done.reason === 'syntax') return { kind: 'syntax' };
        this.drops.malformed++;
        return DROP;
    }
  }

  receiveResponse(sa: IkeSa, buf: Buffer, header: IkeHeader, nowMs: number): void {
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
    const opened = this.open(sa, buf, header);
    if (opened.kind !== 'ok') {
      // A response that breaks the rules is treated like a lost one: the request is retransmitted.
      if (opened.kind === 'syntax' || opened.kind === 'invalid') this.drops.malformed++;
      if (opened.kind === 'invalid')
        this.core.log.log('enc', LogLevel.CONTROL, `invalid response: ${opened.violation.reason}`, sa.label);
      return;
    }
    const payloads = opened.payloads;
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
        this.core.log.log('ike', LogLevel.CONTROL, `${t.kind} failed: ${e.reason}${notifyName(e)}`, sa.label);
        const fatal =
          i === 0 && (a.exchangeType === ExchangeType.IKE_SA_INIT || a.exchangeType === ExchangeType.IKE_AUTH);
        if (fatal) {
          const name = sa.conn?.name ?? '';
          const byUs = !findNotify(payloads, NotifyType.AUTHENTICATION_FAILED);
          if (e.notifyType === NotifyType.AUTHENTICATION_FAILED) {
            this.core.emit({ type: 'authFailed', ikeSaId: sa.id, name, byUs, reason: e.reason });
            // We refused the responder: tell it in a separate INFORMATIONAL, not waited for (RFC 7296 2.21.2).
            if (byUs && a.exchangeType === ExchangeType.IKE_AUTH) {
              const h = this.header(sa, ExchangeType.INFORMATIONAL, false, sa.nextRequestId++);
              for (const p of this.encode(sa, h, [notify(NotifyType.AUTHENTICATION_FAILED)]))
                this.send(sa.local, sa.remote, p);
            }
          } else
            this.core.emit({ type: 'ikeSaFailed', ikeSaId: sa.id, name, notifyType: e.notifyType, reason: e.reason });
          for (const other of a.tasks.slice(1)) other.failed?.(ctx, e.reason, e.notifyType);
          const cause = e.notifyType === NotifyType.AUTHENTICATION_FAILED ? 'authFailed' : 'failed';
          this.core.destroyIke(sa, cause, e.reason);
          return;
        }
        t.failed?.(ctx, e.reason, e.notifyType);
      }
    }
    if (sa.state === IkeSaState.DESTROYED) return;
    if (retry.length > 0) {
      if (this.defer(sa, retry, (ready) => ({ kind: 'request', tasks: retry, ready, settled: false }))) return;
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

  receiveRequest(sa: IkeSa, buf: Buffer, header: IkeHeader, from: Endpoint, to: Endpoint, nowMs: number): void {
    // While the answer to a request is being worked out (EAP-TLS), its retransmits wait for that answer.
    if (this.deferred.get(sa)?.kind === 'respond') return;
    const cached = sa.lastResponse;
    if (
      cached !== undefined &&
      header.messageId === cached.messageId &&
      header.messageId + 1 === sa.expectedRequestId
    ) {
      // A retransmitted request: answer from the cache (RFC 7296 2.1), without processing again.
      const again = header.exchangeType === ExchangeType.IKE_SA_INIT ? undefined : this.open(sa, buf, header);
      // A fragmented request: answer its first fragment only (RFC 7383 2.6.1).
      const answer =
        again === undefined || again.kind === 'ok' || (again.kind === 'partial' && again.fragmentNumber === 1);
      if (answer) for (const p of cached.packets) this.send(sa.local, sa.remote, p);
      return;
    }
    if (header.messageId !== sa.expectedRequestId) {
      this.drops.notExpected++;
      return;
    }
    const opened = this.open(sa, buf, header);
    if (opened.kind === 'syntax') {
      this.respondError(sa, header, NotifyType.INVALID_SYNTAX);
      return;
    }
    if (opened.kind === 'invalid') {
      const v = opened.violation;
      this.core.log.log('enc', LogLevel.CONTROL, `invalid request: ${v.reason}`, sa.label);
      const data =
        v.notifyType === NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD ? Buffer.from([v.payloadType ?? 0]) : undefined;
      this.respond(sa, header, [notify(v.notifyType, data)]);
      return;
    }
    if (opened.kind !== 'ok') return;
    const payloads = opened.payloads;
    sa.lastHeardMs = nowMs;
    // RFC 7296 2.23: the IKE_SA follows a new source only while it is being set up (the float to 4500 in
    // IKE_AUTH) or when the peer is behind a NAT (a changed mapping). Otherwise the response goes back where
    // the request came from (2.11), but the IKE_SA and its CHILD_SAs keep their endpoints.
    // With MOBIKE only UPDATE_SA_ADDRESSES moves an established IKE_SA (RFC 4555 3.8; ike-mobike.ts).
    const moved = from.port !== sa.remote.port || from.address !== sa.remote.address;
    if (moved && (sa.state === IkeSaState.CONNECTING || (sa.natRemote && !sa.mobike))) {
      sa.remote = from;
      sa.local = to;
    } else if (moved)
      this.core.log.log(
        'ike',
        LogLevel.CONTROL,
        `request from ${from.address}[${from.port}] answered there; IKE_SA stays at ${sa.remote.address}[${sa.remote.port}]` +
          (sa.mobike ? ' (MOBIKE: until the peer updates its addresses)' : ' (no NAT detected)'),
        sa.label,
      );
    const replyTo: ReplyTo = { local: to, remote: from };
    let tasks: Task[];
    switch (header.exchangeType) {
      case ExchangeType.IKE_AUTH:
        if (sa.initiator || sa.state !== IkeSaState.CONNECTING)
          return this.respondError(sa, header, NotifyType.INVALID_SYNTAX, replyTo);
        tasks = authRounds.get(sa) ?? [
          first(payloads, PayloadType.AUTH) === undefined &&
          this.core.connections().some((c) => c.eapServer !== undefined)
            ? new IkeEapTask()
            : new IkeAuthTask(),
          new IkeConfigTask(),
          new IkeMobikeTask(),
          new ChildCreateTask({ inAuth: true }),
        ];
        break;
      case ExchangeType.CREATE_CHILD_SA:
        if (sa.state !== IkeSaState.ESTABLISHED && sa.state !== IkeSaState.REKEYING)
          return this.respondError(sa, header, NotifyType.TEMPORARY_FAILURE, replyTo);
        tasks = [
          ChildRekeyTask.matches(payloads)
            ? new ChildRekeyTask()
            : IkeRekeyTask.matches(payloads)
              ? new IkeRekeyTask()
              : new ChildCreateTask({ inAuth: false }),
        ];
        break;
      case ExchangeType.INFORMATIONAL:
        tasks = [new InformationalTask(), new MobikeInformationalTask()];
        break;
      default:
        this.drops.notExpected++;
        return;
    }
    this.answer(sa, header, replyTo, tasks, payloads, nowMs);
  }

  /** Let the tasks process a request and send their response (or hold it while a task waits for its work). */
  private answer(
    sa: IkeSa,
    header: IkeHeader,
    replyTo: ReplyTo,
    tasks: Task[],
    payloads: Payload[],
    nowMs: number,
  ): void {
    const ctx = this.ctx(sa, nowMs, replyTo);
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
        this.core.log.log('ike', LogLevel.CONTROL, `${t.kind} failed: ${e.reason}${notifyName(e)}`, sa.label);
        if (i === 0 && header.exchangeType === ExchangeType.IKE_AUTH) {
          fatal = e;
          break;
        }
        if (e.notifyType !== 0) out.push(notify(e.notifyType, e.data));
        t.failed?.(ctx, e.reason, e.notifyType);
      }
    }
    if (fatal !== undefined) {
      this.respond(sa, header, [notify(fatal.notifyType || NotifyType.AUTHENTICATION_FAILED, fatal.data)], replyTo);
      const name = sa.conn?.name ?? '';
      if (fatal.notifyType === NotifyType.AUTHENTICATION_FAILED)
        this.core.emit({ type: 'authFailed', ikeSaId: sa.id, name, byUs: true, reason: fatal.reason });
      else
        this.core.emit({
          type: 'ikeSaFailed',
          ikeSaId: sa.id,
          name,
          notifyType: fatal.notifyType,
          reason: fatal.reason,
        });
      this.core.destroyIke(
        sa,
        fatal.notifyType === NotifyType.AUTHENTICATION_FAILED ? 'authFailed' : 'failed',
        fatal.reason,
      );
      return;
    }
    if (this.defer(sa, ok, (ready) => ({ kind: 'respond', header, replyTo, tasks, payloads, ready, settled: false }))) {
      authRounds.set(sa, tasks);
      return;
    }
    this.respond(sa, header, out, replyTo);
    if (header.exchangeType === ExchangeType.IKE_AUTH && authenticationPending(sa)) authRounds.set(sa, tasks);
    else authRounds.delete(sa);
    for (const t of ok) if (sa.state !== IkeSaState.DESTROYED) t.completed?.(ctx);
    if (sa.state !== IkeSaState.DESTROYED) this.startNext(sa, nowMs);
  }

  private respondError(sa: IkeSa, header: IkeHeader, notifyType: number, replyTo?: ReplyTo): void {
    this.respond(sa, header, [notify(notifyType)], replyTo);
  }

  /** Answer a request; to the IKE_SA's endpoints unless `replyTo` (where the request came from) is given. */
  respond(sa: IkeSa, request: IkeHeader, payloads: Payload[], replyTo?: ReplyTo): void {
    const packets = this.encode(sa, this.header(sa, request.exchangeType, true, request.messageId), payloads);
    sa.lastResponse = { messageId: request.messageId, packets };
    sa.expectedRequestId = request.messageId + 1;
    for (const p of packets) this.send(replyTo?.local ?? sa.local, replyTo?.remote ?? sa.remote, p);
  }
}
