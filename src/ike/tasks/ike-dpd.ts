/**
 * Liveness check (RFC 7296 2.4): an empty INFORMATIONAL request; any authenticated response proves the
 * peer alive. No response after all retransmissions tears the IKE_SA down (task manager give-up).
 *
 *   HDR, SK { } -->
 *                                   <-- HDR, SK { }
 */
import { ExchangeType } from '../codec/constants.js';
import type { Payload } from '../codec/types.js';
import type { Task, TaskResult } from '../task.js';

export class IkeDpdTask implements Task {
  readonly kind = 'ike-dpd';
  readonly exchangeType = ExchangeType.INFORMATIONAL;
  buildI(): Payload[] {
    return [];
  }
  processI(): TaskResult {
    return 'done';
  }
  processR(): void {
    throw new Error('IkeDpdTask has no responder role; see InformationalTask');
  }
  buildR(): Payload[] {
    return [];
  }
}
