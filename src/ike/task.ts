/**
 * A task handles one concern of one exchange in both roles (the strongSwan task model):
 * the initiator builds the request and processes the response; the responder processes the request and
 * builds the response. Several tasks may share one message (IKE_AUTH carries authentication and the first
 * CHILD_SA). Failures are `IkeError`s; the task manager turns them into notifies or teardowns.
 */
import type { Payload } from './codec/types.js';
import type { EngineCore } from './engine-core.js';
import type { Endpoint } from './events.js';
import type { IkeSa } from './sa.js';

/** Result of the initiator processing a response. */
export type TaskResult =
  /** The task is finished. */
  | 'done'
  /** Send the request again, rebuilt (INVALID_KE_PAYLOAD, COOKIE on IKE_SA_INIT). */
  | 'retry';

export interface TaskContext {
  readonly core: EngineCore;
  readonly sa: IkeSa;
  readonly nowMs: number;
  /** Responder: where the request came from and which of our addresses it reached (MOBIKE, RFC 4555 3.5). */
  readonly request?: { readonly from: Endpoint; readonly to: Endpoint };
}

export interface Task {
  /** For logs and tests. */
  readonly kind: string;
  /** The exchange this task runs in (ExchangeType). */
  readonly exchangeType: number;
  /** Initiator: the request's payloads (inside SK unless IKE_SA_INIT). */
  buildI(ctx: TaskContext): Payload[];
  /** Initiator: handle the response. Throws IkeError to fail. */
  processI(ctx: TaskContext, payloads: readonly Payload[]): TaskResult;
  /** Responder: handle the request. Throws IkeError to fail (its notify goes into the response). */
  processR(ctx: TaskContext, payloads: readonly Payload[]): void;
  /** Responder: the response's payloads. */
  buildR(ctx: TaskContext): Payload[];
  /** The exchange failed (error notify in the response, or no response at all). Clean up. */
  failed?(ctx: TaskContext, reason: string, notifyType: number): void;
  /** After the response has been sent (responder) or processed (initiator): follow-up work. */
  completed?(ctx: TaskContext): void;
  /**
   * Asynchronous work (an EAP-TLS handshake step) the task's next message waits for: after `processR` the response
   * (the engine runs `processR` again once it settled), after a 'retry' of `processI` the next request.
   */
  waitingFor?(): Promise<void> | undefined;
}
