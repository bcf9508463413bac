/**
 * Deleting CHILD_SAs (RFC 7296 1.4.1): INFORMATIONAL with Delete payloads naming our inbound SPIs; the
 * response names the peer's inbound SPIs of the same pairs. Both sides remove the CHILD_SAs.
 *
 *   HDR, SK { D(ESP, spiIn...) } -->
 *                                   <-- HDR, SK { D(ESP, spiIn...) }
 */
import { ExchangeType, PayloadType, ProtocolId } from '../codec/constants.js';
import type { DeletePayload, Payload } from '../codec/types.js';
import type { SaEndCause } from '../events.js';
import type { ChildSa } from '../sa.js';
import { ChildSaState, transition } from '../sa-state.js';
import type { Task, TaskContext, TaskResult } from '../task.js';

export function deletePayloads(children: readonly ChildSa[]): DeletePayload[] {
  const out: DeletePayload[] = [];
  for (const protocol of ['esp', 'ah'] as const) {
    const spis = children.filter((c) => c.protocol === protocol).map((c) => Buffer.from(c.spiIn));
    if (spis.length > 0)
      out.push({
        type: PayloadType.DELETE,
        protocolId: protocol === 'esp' ? ProtocolId.ESP : ProtocolId.AH,
        spiSize: 4,
        spis,
      });
  }
  return out;
}

export class ChildDeleteTask implements Task {
  readonly kind = 'child-delete';
  readonly exchangeType = ExchangeType.INFORMATIONAL;
  private readonly children: ChildSa[];
  private readonly cause: SaEndCause;
  private readonly reason: string;
  private readonly expired: boolean;

  /** `expired`: the CHILD_SAs are already removed locally (hard lifetime); only tell the peer. */
  constructor(children: ChildSa[], cause: SaEndCause, reason: string, expired = false) {
    this.children = children;
    this.cause = cause;
    this.reason = reason;
    this.expired = expired;
  }

  buildI(ctx: TaskContext): Payload[] {
    if (this.expired) return deletePayloads(this.children);
    const live = this.children.filter((c) => c.state !== ChildSaState.DESTROYED && ctx.sa.children.includes(c));
    for (const c of live) transition(c, ChildSaState.DELETING, this.reason, ctx.core.log);
    return deletePayloads(live);
  }

  processI(ctx: TaskContext, _payloads: readonly Payload[]): TaskResult {
    for (const c of this.children)
      if (ctx.sa.children.includes(c)) ctx.core.removeChild(ctx.sa, c, this.cause, this.reason);
    return 'done';
  }

  failed(ctx: TaskContext): void {
    for (const c of this.children)
      if (ctx.sa.children.includes(c)) ctx.core.removeChild(ctx.sa, c, this.cause, this.reason);
  }

  // The responder side lives in informational.ts (one request may carry several concerns).
  processR(): void {
    throw new Error('ChildDeleteTask has no responder role; see InformationalTask');
  }
  buildR(): Payload[] {
    return [];
  }
}
