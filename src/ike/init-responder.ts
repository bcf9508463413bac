/**
 * The responder's front door (RFC 7296 1.2, 2.6): IKE_SA_INIT requests that belong to no IKE_SA yet. It
 * answers retransmitted requests from the half-open IKE_SA, checks the message rules, demands a COOKIE
 * above the half-open threshold (stateless, rotating secret), drops requests beyond the half-open limits
 * (per initiator address and in total) and beyond the key exchange budget, and refuses statelessly
 * (NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD) without keeping anything. Its log lines are rate limited: an
 * unauthenticated peer chooses how many there are.
 */
import { LogLevel } from '../common/log.js';
import type { LogSubsystem } from '../common/log.js';
import { LogThrottle } from '../common/log-throttle.js';
import { ExchangeType, NotifyType, PayloadType, nameOf } from './codec/constants.js';
import { decodeMessage, encodeMessage } from './codec/message.js';
import { validateMessageRules } from './codec/rules.js';
import type { IkeHeader, Payload } from './codec/types.js';
import { CookieJar } from './cookie.js';
import type { EngineCore } from './engine-core.js';
import { IkeError } from './errors.js';
import type { Endpoint } from './events.js';
import { HalfOpenTable } from './half-open.js';
import { KeBudget } from './ke-budget.js';
import { first, notify } from './payload-util.js';
import { IkeSa } from './sa.js';
import { IkeSaState, transition } from './sa-state.js';
import type { TaskContext } from './task.js';
import type { DropReason } from './task-manager.js';
import { IkeInitTask } from './tasks/ike-init.js';
import { parseAddress } from './traffic-selectors.js';

const IKE_SPI_LENGTH = 8;

/** Defaults of the limits (EngineConfig documents each). */
export const DEFAULT_COOKIE_THRESHOLD = 10;
export const DEFAULT_BLOCK_THRESHOLD = 5;
export const DEFAULT_INIT_LIMIT_HALF_OPEN = 1000;
export const DEFAULT_KE_LIMIT_MS_PER_SEC = 250;
/** Pre-authentication log lines: at most this many per interval. */
const LOG_LINES_PER_INTERVAL = 10;
const LOG_INTERVAL_MS = 10_000;

/** What the front door needs from the engine. */
export interface InitResponderHost {
  readonly core: EngineCore;
  readonly drops: Record<DropReason, number>;
  send(from: Endpoint, to: Endpoint, packet: Buffer): void;
  /** A fresh IKE_SA id. */
  newSaId(): number;
  /** Make the IKE_SA findable by its responder SPI. */
  register(sa: IkeSa): void;
  header(sa: IkeSa, exchangeType: number, response: boolean, messageId: number): IkeHeader;
}

export class InitResponder {
  private readonly host: InitResponderHost;
  private readonly cookies: CookieJar;
  /** Half-open IKE_SAs, counted in total and per address; and every IKE_SA's request, to spot retransmits. */
  private readonly halfOpen = new HalfOpenTable();
  private readonly keBudget: KeBudget;
  private readonly throttle = new LogThrottle(LOG_LINES_PER_INTERVAL, LOG_INTERVAL_MS);

  constructor(host: InitResponderHost) {
    this.host = host;
    const config = host.core.config;
    this.cookies = new CookieJar(host.core.rng, config.cookieSecretLifetimeSec ?? 120);
    this.keBudget = new KeBudget(config.keLimitMsPerSec ?? DEFAULT_KE_LIMIT_MS_PER_SEC);
  }

  /** Half-open responder IKE_SAs (RFC 7296 2.6), in O(1). */
  halfOpenCount(): number {
    return this.halfOpen.count();
  }

  /**
   * The key exchange budget, asked by IKE_SA_INIT processing once the group is agreed (so requests refused
   * before any key exchange cost nothing). Counts the drop when the budget is spent.
   */
  allowKeyExchange(group: number, nowMs: number): boolean {
    if (this.keBudget.take(group, nowMs)) return true;
    this.host.drops.keLimit++;
    return false;
  }

  /** The IKE_SA was authenticated: it no longer counts as half-open. */
  settled(sa: IkeSa): void {
    this.halfOpen.settle(sa);
  }

  /** The IKE_SA is gone: forget its request. */
  forget(sa: IkeSa): void {
    this.halfOpen.remove(sa);
  }

  /** A log line an unauthenticated peer caused: rate limited. */
  private note(subsystem: LogSubsystem, message: string, nowMs: number): void {
    if (!this.host.core.log.enabled(subsystem, LogLevel.CONTROL)) return;
    const suffix = this.throttle.allow(nowMs);
    if (suffix !== false) this.host.core.log.log(subsystem, LogLevel.CONTROL, message + suffix);
  }

  /** An IKE_SA_INIT request with SPIr zero. */
  receive(buf: Buffer, header: IkeHeader, from: Endpoint, to: Endpoint, nowMs: number): void {
    const key = `${from.address}|${from.port}|${header.spiI.toString('hex')}`;
    const existing = this.halfOpen.byRequestKey(key);
    if (existing !== undefined) {
      if (existing.initRequest.equals(buf)) this.host.send(to, from, existing.initResponse);
      else this.host.drops.notExpected++;
      return;
    }
    if (header.messageId !== 0) {
      this.host.drops.notExpected++;
      return;
    }
    const msg = decodeMessage(buf);
    const violation = validateMessageRules(msg);
    if (violation !== undefined) {
      // Unauthenticated: only an unknown critical payload is answered (RFC 7296 2.5), the rest is dropped.
      this.host.drops.malformed++;
      this.note('enc', `invalid IKE_SA_INIT from ${from.address}: ${violation.reason}`, nowMs);
      if (violation.notifyType === NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD) {
        const h: IkeHeader = {
          ...header,
          spiR: Buffer.alloc(IKE_SPI_LENGTH),
          flags: { initiator: false, response: true, version: false },
        };
        const n = notify(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, Buffer.from([violation.payloadType ?? 0]));
        this.host.send(to, from, encodeMessage({ header: h, payloads: [n] }));
      }
      return;
    }
    const nonce = first(msg.payloads, PayloadType.NONCE);
    const stateless = (payloads: Payload[]): void => {
      const h: IkeHeader = {
        ...header,
        spiR: Buffer.alloc(IKE_SPI_LENGTH),
        flags: { initiator: false, response: true, version: false },
      };
      this.host.send(to, from, encodeMessage({ header: h, payloads }));
    };
    const config = this.host.core.config;
    const halfOpen = this.halfOpen.count();
    if (halfOpen >= (config.cookieThreshold ?? DEFAULT_COOKIE_THRESHOLD)) {
      const ip = parseAddress(from.address) ?? Buffer.alloc(0);
      const nonceI = nonce?.data ?? Buffer.alloc(0);
      const first0 = msg.payloads[0];
      const got =
        first0?.type === PayloadType.NOTIFY && first0.notifyType === NotifyType.COOKIE ? first0.data : undefined;
      if (got === undefined || !this.cookies.verify(nowMs, got, nonceI, ip, header.spiI)) {
        this.host.drops.cookie++;
        stateless([notify(NotifyType.COOKIE, this.cookies.make(nowMs, nonceI, ip, header.spiI))]);
        return;
      }
    }
    // strongSwan's order: cookie first, then the per-address and total half-open limits.
    const block = config.blockThreshold ?? DEFAULT_BLOCK_THRESHOLD;
    if (block > 0 && this.halfOpen.countFrom(from.address) >= block) {
      this.host.drops.halfOpenLimit++;
      this.note(
        'net',
        `ignoring IKE_SA_INIT from ${from.address}: per-address half-open limit of ${block} reached`,
        nowMs,
      );
      return;
    }
    const limit = config.initLimitHalfOpen ?? DEFAULT_INIT_LIMIT_HALF_OPEN;
    if (limit > 0 && halfOpen >= limit) {
      this.host.drops.halfOpenLimit++;
      this.note('net', `ignoring IKE_SA_INIT from ${from.address}: half-open limit of ${limit} reached`, nowMs);
      return;
    }
    const sa = new IkeSa(this.host.newSaId(), false, Buffer.from(header.spiI), to, from, 'ike');
    sa.spiR = this.host.core.newIkeSpi();
    const task = new IkeInitTask();
    const ctx: TaskContext = { core: this.host.core, sa, nowMs };
    let payloads: Payload[];
    try {
      task.processR(ctx, msg.payloads);
      payloads = task.buildR(ctx);
    } catch (e) {
      if (!(e instanceof IkeError)) throw e;
      this.note(
        'ike',
        `IKE_SA_INIT from ${from.address} refused: ${e.reason} (${nameOf(NotifyType, e.notifyType)})`,
        nowMs,
      );
      if (e.notifyType !== 0) stateless([notify(e.notifyType, e.data)]);
      return;
    }
    sa.label = `${sa.conn?.name ?? 'ike'}[${sa.id}]`;
    transition(sa, IkeSaState.CONNECTING, 'IKE_SA_INIT received', this.host.core.log);
    sa.initRequest = buf;
    sa.lastHeardMs = nowMs;
    sa.halfOpenDeadlineMs = nowMs + (this.host.core.config.halfOpenTimeoutSec ?? 30) * 1000;
    this.host.register(sa);
    this.halfOpen.add(sa, key, from.address);
    const packet = encodeMessage({ header: this.host.header(sa, ExchangeType.IKE_SA_INIT, true, 0), payloads });
    sa.initResponse = packet;
    sa.lastResponse = { messageId: 0, packets: [packet] };
    sa.expectedRequestId = 1;
    this.host.send(to, from, packet);
  }
}
