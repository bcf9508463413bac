/**
 * IKE_SA and CHILD_SA states and the one place they change: `transition(sa, to, reason)` checks the edge
 * against the table below and logs `OLD -> NEW`. An edge not in the table is a programming error.
 */
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';

/** IKE_SA lifecycle (RFC 7296 1.1.2 / 1.3.2 / 1.4.1). */
export const IkeSaState = {
  /** Created, nothing sent or received yet. */
  CREATED: 'CREATED',
  /** IKE_SA_INIT / IKE_AUTH in progress. */
  CONNECTING: 'CONNECTING',
  ESTABLISHED: 'ESTABLISHED',
  /** A CREATE_CHILD_SA rekeying this IKE_SA is under way. */
  REKEYING: 'REKEYING',
  /** Replaced by a new IKE_SA; only the DELETE exchange is left. */
  REKEYED: 'REKEYED',
  /** An INFORMATIONAL DELETE for this IKE_SA was sent or is being answered. */
  DELETING: 'DELETING',
  DESTROYED: 'DESTROYED',
} as const;
export type IkeSaState = (typeof IkeSaState)[keyof typeof IkeSaState];

/** CHILD_SA lifecycle (RFC 7296 1.3.1, 1.3.3, 1.4.1, 2.8). */
export const ChildSaState = {
  CREATED: 'CREATED',
  INSTALLED: 'INSTALLED',
  /** A CREATE_CHILD_SA with REKEY_SA for it is under way. */
  REKEYING: 'REKEYING',
  /** A replacement is installed; the old one waits for its DELETE. */
  REKEYED: 'REKEYED',
  DELETING: 'DELETING',
  DESTROYED: 'DESTROYED',
} as const;
export type ChildSaState = (typeof ChildSaState)[keyof typeof ChildSaState];

const IKE_EDGES: Record<IkeSaState, readonly IkeSaState[]> = {
  CREATED: ['CONNECTING', 'ESTABLISHED', 'DELETING', 'DESTROYED'],
  CONNECTING: ['ESTABLISHED', 'DELETING', 'DESTROYED'],
  ESTABLISHED: ['REKEYING', 'REKEYED', 'DELETING', 'DESTROYED'],
  REKEYING: ['ESTABLISHED', 'REKEYED', 'DELETING', 'DESTROYED'],
  REKEYED: ['DELETING', 'DESTROYED'],
  DELETING: ['DESTROYED'],
  DESTROYED: [],
};

const CHILD_EDGES: Record<ChildSaState, readonly ChildSaState[]> = {
  CREATED: ['INSTALLED', 'DESTROYED'],
  INSTALLED: ['REKEYING', 'REKEYED', 'DELETING', 'DESTROYED'],
  REKEYING: ['INSTALLED', 'REKEYED', 'DELETING', 'DESTROYED'],
  REKEYED: ['DELETING', 'DESTROYED'],
  DELETING: ['DESTROYED'],
  DESTROYED: [],
};

/** Anything with a state, a short id for logs and a logger. */
export interface Stateful<S extends string> {
  state: S;
  readonly label: string;
}

/** Thrown for an edge missing from the table: a bug, never a peer's doing. */
export class StateError extends Error {
  override readonly name = 'StateError';
}

function move<S extends string>(
  edges: Record<S, readonly S[]>,
  sa: Stateful<S>,
  to: S,
  reason: string,
  log: Logger,
  subsystem: 'ike' | 'chd',
): void {
  const from = sa.state;
  if (from === to) return;
  if (!edges[from].includes(to)) throw new StateError(`${sa.label}: illegal state change ${from} -> ${to} (${reason})`);
  sa.state = to;
  log.log(subsystem, LogLevel.DETAIL, `${from} -> ${to} (${reason})`, sa.label);
}

/** An IKE_SA as the state machine sees it. */
export interface IkeStateful extends Stateful<IkeSaState> {
  readonly kind: 'ike';
}

/** A CHILD_SA as the state machine sees it. */
export interface ChildStateful extends Stateful<ChildSaState> {
  readonly kind: 'child';
}

/**
 * The one place SA states change: checks `from -> to` against the edge table of the SA's kind, logs
 * `OLD -> NEW (reason)` and throws StateError for an edge that is not allowed.
 */
export function transition(sa: IkeStateful, to: IkeSaState, reason: string, log: Logger): void;
export function transition(sa: ChildStateful, to: ChildSaState, reason: string, log: Logger): void;
export function transition(
  sa: IkeStateful | ChildStateful,
  to: IkeSaState | ChildSaState,
  reason: string,
  log: Logger,
): void {
  if (sa.kind === 'ike') move(IKE_EDGES, sa, to as IkeSaState, reason, log, 'ike');
  else move(CHILD_EDGES, sa, to as ChildSaState, reason, log, 'chd');
}
