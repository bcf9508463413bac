/**
 * Deleting the IKE_SA (RFC 7296 1.4.1): INFORMATIONAL { D(IKE) }, answered with an empty INFORMATIONAL;
 * the IKE_SA and all its CHILD_SAs are gone afterwards (also if the peer never answers).
 *
 *   HDR, SK { D(IKE) } -->
 *                                   <-- HDR, SK { }
 */
import { ExchangeType, PayloadType, ProtocolId } from '../codec/constants.js';
import type { Payload } from '../codec/types.js';
import type { SaEndCause } from '../events.js';
import { IkeSaState, transition } from '../sa-state.js';
import type { Task, TaskContext, TaskResult } from '../task.js';

export class IkeDeleteTask implements Task {
  readonly kind = 'ike-delete';
  readonly exchangeType = ExchangeType.INFORMATIONAL;
  private readonly cause: SaEndCause;
  private readonly reason: string;

  constructor(cause: SaEndCause, reason: string) {
    this.cause = cause;
    this.reason = reason;
  }

  buildI(ctx: TaskContext): Payload[] {
    if (ctx.sa.state !== IkeSaState.DELETING) transition(ctx.sa, IkeSaState.DELETING, this.reason, ctx.core.log);
    ctx.sa.deleteReason = this.reason;
    return [{ type: PayloadType.DELETE, protocolId: ProtocolId.IKE, spiSize: 0, spis: [] }];
  }

  processI(ctx: TaskContext): TaskResult {
    ctx.core.destroyIke(ctx.sa, this.cause, this.reason);
    return 'done';
  }

  failed(ctx: TaskContext): void {
    ctx.core.destroyIke(ctx.sa, this.cause, this.reason);
  }

  processR(): void {
    throw new Error('IkeDeleteTask has no responder role; see InformationalTask');
  }
  buildR(): Payload[] {
    return [];
  }
}
