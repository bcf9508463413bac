/**
 * CHILD_SA rekey (RFC 7296 1.3.3): CREATE_CHILD_SA with N(REKEY_SA) creates the replacement, then the
 * initiator deletes the old CHILD_SA. Simultaneous rekeys of the same CHILD_SA (2.8.1): the SA created
 * with the lowest of the four nonces is redundant and is deleted by the endpoint that created it; the
 * other endpoint deletes the old one.
 *
 *   HDR, SK { N(REKEY_SA), SA, Ni, [KEi,] TSi, TSr } -->
 *                                   <-- HDR, SK { SA, Nr, [KEr,] TSi, TSr }
 */
import { ExchangeType, NotifyType, PayloadType } from '../codec/constants.js';
import type { Payload } from '../codec/types.js';
import { IkeError } from '../errors.js';
import { findNotify } from '../payload-util.js';
import { protocolOf } from '../proposals.js';
import type { ChildSa, IkeSa } from '../sa.js';
import { ChildSaState, transition } from '../sa-state.js';
import type { Task, TaskContext, TaskResult } from '../task.js';
import { ChildCreateTask } from './child-create.js';
import { ChildDeleteTask } from './child-delete.js';
import { LogLevel } from '../../common/log.js';
import { REKEY_RETRY_MS } from './ike-rekey.js';

/** Lowest nonce of an exchange (RFC 7296 2.8.1). */
function minNonce(child: ChildSa): Buffer {
  return Buffer.compare(child.nonceI, child.nonceR) <= 0 ? child.nonceI : child.nonceR;
}

/** Collision bookkeeping on the CHILD_SA being rekeyed: the replacement the peer created with us. */
const peerReplacement = new WeakMap<ChildSa, ChildSa>();

export class ChildRekeyTask implements Task {
  readonly kind = 'child-rekey';
  readonly exchangeType = ExchangeType.CREATE_CHILD_SA;
  private create: ChildCreateTask | undefined;
  private old: ChildSa | undefined;
  /** True on the side that sent the REKEY_SA request. */
  private initiator = false;

  /** `old` for the initiator; the responder finds it from REKEY_SA. */
  constructor(old?: ChildSa) {
    this.old = old;
  }

  buildI(ctx: TaskContext): Payload[] {
    const old = this.old;
    if (old === undefined) throw new Error('rekey without CHILD_SA');
    this.initiator = true;
    if (this.create === undefined) {
      if (old.state !== ChildSaState.INSTALLED) throw new IkeError(0, `${old.label} is not installed`);
      transition(old, ChildSaState.REKEYING, 'rekey started', ctx.core.log);
      this.create = new ChildCreateTask({ config: old.config, inAuth: false, rekey: old });
    }
    return this.create.buildI(ctx);
  }

  processI(ctx: TaskContext, payloads: readonly Payload[]): TaskResult {
    const old = this.old;
    if (this.create === undefined || old === undefined) throw new Error('rekey response without request');
    const r = this.create.processI(ctx, payloads);
    if (r === 'retry') return r;
    const ours = this.create.child;
    if (ours === undefined) throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, 'rekey produced no CHILD_SA');
    if (old.state === ChildSaState.DESTROYED) return 'done'; // expired meanwhile
    const theirs = peerReplacement.get(old);
    if (theirs !== undefined && theirs.state !== ChildSaState.DESTROYED) {
      // Collision (2.8.1): both replacements exist; the one with the lowest nonce goes.
      const oursLoses = Buffer.compare(minNonce(ours), minNonce(theirs)) < 0;
      ctx.core.log.log(
        'chd',
        LogLevel.CONTROL,
        `CHILD_SA rekey collision: ${oursLoses ? 'our' : 'peer'} replacement is redundant`,
        old.label,
      );
      if (oursLoses) {
        transition(old, ChildSaState.REKEYED, 'peer replacement won the collision', ctx.core.log);
        ctx.core.queueTask(ctx.sa, new ChildDeleteTask([ours], 'replaced', 'redundant after rekey collision'));
        return 'done';
      }
    }
    transition(old, ChildSaState.REKEYED, `replaced by ${ours.label}`, ctx.core.log);
    ctx.core.queueTask(ctx.sa, new ChildDeleteTask([old], 'replaced', 'rekeyed'));
    return 'done';
  }

  processR(ctx: TaskContext, payloads: readonly Payload[]): void {
    const n = findNotify(payloads, NotifyType.REKEY_SA);
    const protocol = n === undefined ? undefined : protocolOf(n.protocolId);
    if (n === undefined || (protocol !== 'esp' && protocol !== 'ah'))
      throw new IkeError(NotifyType.INVALID_SYNTAX, 'bad REKEY_SA');
    const old = ctx.core.childByPeerSpi(ctx.sa, protocol, n.spi);
    if (old === undefined)
      throw new IkeError(NotifyType.CHILD_SA_NOT_FOUND, 'REKEY_SA names no CHILD_SA of ours', n.spi);
    if (old.state !== ChildSaState.INSTALLED && old.state !== ChildSaState.REKEYING)
      throw new IkeError(NotifyType.TEMPORARY_FAILURE, `${old.label} is ${old.state}`);
    this.old = old;
    this.create = new ChildCreateTask({ inAuth: false, rekey: old });
    this.create.processR(ctx, payloads);
  }

  buildR(ctx: TaskContext): Payload[] {
    if (this.create === undefined) throw new Error('no rekey');
    return this.create.buildR(ctx);
  }

  completed(ctx: TaskContext): void {
    const old = this.old;
    const created = this.create?.child;
    if (old === undefined || created === undefined || created.createdAsInitiator) return;
    ctx.core.installChild(ctx.sa, created, ctx.nowMs);
    if (old.state === ChildSaState.DESTROYED) return;
    if (old.state === ChildSaState.REKEYING) {
      // We are rekeying it too: decided when our own exchange completes.
      peerReplacement.set(old, created);
      return;
    }
    // The initiator deletes the old CHILD_SA (RFC 7296 1.3.3).
    transition(old, ChildSaState.REKEYED, `replaced by ${created.label}`, ctx.core.log);
  }

  failed(ctx: TaskContext, reason: string, notifyType: number): void {
    const old = this.old;
    this.create?.failed(ctx, reason, notifyType);
    if (old === undefined || !this.initiator) return; // a refused peer rekey leaves ours alone
    if (old.state === ChildSaState.REKEYING) {
      const theirs = peerReplacement.get(old);
      // The peer's rekey of the same CHILD_SA succeeded: its replacement stands, it deletes the old one.
      if (theirs !== undefined) transition(old, ChildSaState.REKEYED, 'peer rekeyed it', ctx.core.log);
      else {
        transition(old, ChildSaState.INSTALLED, `rekey failed: ${reason}`, ctx.core.log);
        old.rekeyAtMs = ctx.nowMs + REKEY_RETRY_MS;
      }
    }
  }

  /** Is this the exchange type's rekey flavour? (responder dispatch) */
  static matches(payloads: readonly Payload[]): boolean {
    return payloads.some((p) => p.type === PayloadType.NOTIFY && p.notifyType === NotifyType.REKEY_SA);
  }
}

export type { IkeSa };
