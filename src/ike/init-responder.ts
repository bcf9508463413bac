/**
 * The responder's front door (RFC 7296 1.2, 2.6): IKE_SA_INIT requests that belong to no IKE_SA yet. It
 * answers retransmitted requests from the half-open IKE_SA, checks the message rules, demands a COOKIE
 * above the half-open threshold (stateless, rotating secret), and refuses statelessly (NO_PROPOSAL_CHOSEN,
 * INVALID_KE_PAYLOAD) without keeping anything.
 */
import { LogLevel } from '../common/log.js';
import { ExchangeType, NotifyType, PayloadType, nameOf } from './codec/constants.js';
import { decodeMessage, encodeMessage } from './codec/message.js';
import { validateMessageRules } from './codec/rules.js';
import type { IkeHeader, Payload } from './codec/types.js';
import { CookieJar } from './cookie.js';
import type { EngineCore } from './engine-core.js';
import { IkeError } from './errors.js';
import type { Endpoint } from './events.js';
import { first, notify } from './payload-util.js';
import { IkeSa } from './sa.js';
import { IkeSaState, transition } from './sa-state.js';
import type { TaskContext } from './task.js';
import type { DropReason } from './task-manager.js';
import { IkeInitTask } from './tasks/ike-init.js';
import { parseAddress } from './traffic-selectors.js';

const IKE_SPI_LENGTH = 8;

/** What the front door needs from the engine. */
export interface InitResponderHost {
  readonly core: EngineCore;
  readonly drops: Record<DropReason, number>;
  send(from: Endpoint, to: Endpoint, packet: Buffer): void;
  /** A fresh IKE_SA id. */
  newSaId(): number;
  /** Make the IKE_SA findable by its responder SPI. */
  register(sa: IkeSa): void;
  halfOpenCount(): number;
  header(sa: IkeSa, exchangeType: number, response: boolean, messageId: number): IkeHeader;
}

export class InitResponder {
  private readonly host: InitResponderHost;
  private readonly cookies: CookieJar;
  /** Half-open (and later) IKE_SAs by initiator address, port and SPIi, to spot retransmitted requests. */
  private readonly halfOpen = new Map<string, IkeSa>();

  constructor(host: InitResponderHost) {
    this.host = host;
    this.cookies = new CookieJar(host.core.rng, host.core.config.cookieSecretLifetimeSec ?? 120);
  }

  /** The IKE_SA is gone: forget its request. */
  forget(sa: IkeSa): void {
    for (const [k, v] of this.halfOpen) if (v === sa) this.halfOpen.delete(k);
  }

  /** An IKE_SA_INIT request with SPIr zero. */
  receive(buf: Buffer, header: IkeHeader, from: Endpoint, to: Endpoint, nowMs: number): void {
    const key = `${from.address}|${from.port}|${header.spiI.toString('hex')}`;
    const existing = this.halfOpen.get(key);
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
      this.host.core.log.log('enc', LogLevel.CONTROL, `invalid IKE_SA_INIT from ${from.address}: ${violation.reason}`);
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
    if (this.host.halfOpenCount() >= (this.host.core.config.cookieThreshold ?? 10)) {
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
      this.host.core.log.log(
        'ike',
        LogLevel.CONTROL,
        `IKE_SA_INIT refused: ${e.reason} (${nameOf(NotifyType, e.notifyType)})`,
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
    this.halfOpen.set(key, sa);
    const packet = encodeMessage({ header: this.host.header(sa, ExchangeType.IKE_SA_INIT, true, 0), payloads });
    sa.initResponse = packet;
    sa.lastResponse = { messageId: 0, packets: [packet] };
    sa.expectedRequestId = 1;
    this.host.send(to, from, packet);
  }
}
