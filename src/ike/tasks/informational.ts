/**
 * Responder side of INFORMATIONAL (RFC 7296 1.4, 1.5): Delete payloads for the IKE_SA or CHILD_SAs
 * (1.4.1), empty requests (liveness, 2.4) and notifies (logged).
 *
 *   HDR, SK { [D(...)...] [N(...)...] } -->
 *                                   <-- HDR, SK { [D(ESP, our SPIs)] }
 */
import { ExchangeType, NotifyType, PayloadType, ProtocolId, nameOf } from '../codec/constants.js';
import type { Payload } from '../codec/types.js';
import { all } from '../payload-util.js';
import type { ChildSa } from '../sa.js';
import { ChildSaState, IkeSaState, transition } from '../sa-state.js';
import type { Task, TaskContext, TaskResult } from '../task.js';
import { deletePayloads } from './child-delete.js';
import { LogLevel } from '../../common/log.js';

export class InformationalTask implements Task {
  readonly kind = 'informational';
  readonly exchangeType = ExchangeType.INFORMATIONAL;
  private deleteIke = false;
  private authFailed = false;
  private children: ChildSa[] = [];
  /** CHILD_SAs we were deleting ourselves: removed, but not named again in the response (1.4.1). */
  private alreadyDeleting: ChildSa[] = [];

  buildI(): Payload[] {
    throw new Error('InformationalTask is responder-only');
  }
  processI(): TaskResult {
    throw new Error('InformationalTask is responder-only');
  }

  processR(ctx: TaskContext, payloads: readonly Payload[]): void {
    const { sa, core } = ctx;
    for (const d of all(payloads, PayloadType.DELETE)) {
      if (d.protocolId === ProtocolId.IKE) {
        this.deleteIke = true;
        continue;
      }
      const protocol = d.protocolId === ProtocolId.ESP ? 'esp' : d.protocolId === ProtocolId.AH ? 'ah' : undefined;
      if (protocol === undefined) continue;
      for (const spi of d.spis) {
        const c = core.childByPeerSpi(sa, protocol, spi);
        if (c === undefined) continue;
        if (c.state === ChildSaState.DELETING) this.alreadyDeleting.push(c);
        else this.children.push(c);
      }
    }
    for (const n of all(payloads, PayloadType.NOTIFY)) {
      core.log.log('ike', LogLevel.CONTROL, `received ${nameOf(NotifyType, n.notifyType)} in INFORMATIONAL`, sa.label);
      // The initiator refused our AUTH after we considered the IKE_SA up (RFC 7296 2.21.2).
      if (n.notifyType === NotifyType.AUTHENTICATION_FAILED && !sa.initiator) this.authFailed = true;
    }
  }

  buildR(): Payload[] {
    if (this.deleteIke) return [];
    return deletePayloads(this.children);
  }

  completed(ctx: TaskContext): void {
    const { sa, core } = ctx;
    if (this.authFailed) {
      const reason = 'peer refused our authentication (AUTHENTICATION_FAILED)';
      core.emit({ type: 'authFailed', ikeSaId: sa.id, name: sa.conn?.name ?? '', byUs: false, reason });
      core.destroyIke(sa, 'authFailed', reason);
      return;
    }
    if (this.deleteIke) {
      // An IKE_SA already replaced by a rekey goes quietly: its successor carries on.
      const cause = sa.state === IkeSaState.REKEYED ? 'replaced' : 'peerDeleted';
      if (sa.state !== IkeSaState.DELETING) transition(sa, IkeSaState.DELETING, 'deleted by peer', core.log);
      core.destroyIke(sa, cause, 'deleted by peer');
      return;
    }
    for (const c of [...this.children, ...this.alreadyDeleting])
      if (sa.children.includes(c))
        core.removeChild(sa, c, c.state === ChildSaState.REKEYED ? 'replaced' : 'peerDeleted', 'deleted by peer');
  }
}

export const INFORMATIONAL = ExchangeType.INFORMATIONAL;
