/**
 * Reauthentication, make-before-break (RFC 7296 2.8.3; strongSwan's `charon.make_before_break = yes`): when an
 * IKE_SA's `reauth_time` is due, a new IKE_SA is set up from scratch (IKE_SA_INIT, IKE_AUTH, fresh
 * credentials checks) carrying CHILD_SAs of the same child configurations; only once all of them are up is
 * the old IKE_SA deleted, which takes its CHILD_SAs along. Until then both stay, so the old CHILD_SAs keep
 * carrying traffic in both directions while the new ones are negotiated. The new IKE_SA sends no
 * INITIAL_CONTACT (the old IKE_SA is a live contact, initial-contact.ts), so the peer keeps the old one too.
 *
 *   old IKE_SA (ESTABLISHED)            new IKE_SA
 *                                       IKE_SA_INIT, IKE_AUTH { SA, TSi, TSr }, CREATE_CHILD_SA ...
 *                                       all CHILD_SAs installed
 *   INFORMATIONAL { D(IKE) } -->
 *
 * This module keeps the pairs (new -> old) and decides, after each engine step, what is due: delete the
 * old IKE_SA, or try again later when the new one failed. The engine creates the IKE_SAs and runs the tasks.
 */
import { LogLevel } from '../common/log.js';
import type { Logger } from '../common/log.js';
import type { ChildConfig } from './config.js';
import type { Endpoint } from './events.js';
import type { IkeSa } from './sa.js';
import { ChildSaState, IkeSaState } from './sa-state.js';

/** Delay before a failed reauthentication is tried again (the old IKE_SA stays until its hard lifetime). */
export const REAUTH_RETRY_MS = 10_000;

/** What a reauthentication of one IKE_SA sets up: where, and which child configurations. */
export interface ReauthPlan {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly children: readonly ChildConfig[];
}

/**
 * The plan for reauthenticating `old`, or a reason not to. As strongSwan, an original responder
 * reauthenticates actively unless it assigned virtual IPs or authenticated the peer with EAP: the peer (a
 * road warrior) has to do it then, or the IKE_SA expires.
 */
export function planReauth(old: IkeSa): ReauthPlan | string {
  const conn = old.conn;
  if (conn === undefined) return 'no connection';
  if (!old.originalInitiator) {
    if ((old.vips?.remote.length ?? 0) > 0) return 'the peer has virtual IPs from us: it has to reauthenticate';
    if (conn.eapServer !== undefined) return 'the peer authenticated with EAP: it has to reauthenticate';
  }
  const children: ChildConfig[] = [];
  for (const c of old.children) {
    const live = c.state === ChildSaState.INSTALLED || c.state === ChildSaState.REKEYING;
    if (live && !children.some((x) => x.name === c.config.name)) children.push(c.config);
  }
  return { local: old.initLocal, remote: old.initRemote, children };
}

/** What is due after an engine step. */
export interface ReauthDue {
  /** Old IKE_SAs whose replacement is complete: delete them now. */
  readonly retire: readonly { readonly old: IkeSa; readonly fresh: IkeSa }[];
  /** Old IKE_SAs whose replacement failed: try again later. */
  readonly retry: readonly IkeSa[];
}

/** Reauthentications in progress: new IKE_SA -> the one it replaces. */
export class Reauths {
  readonly #pending = new Map<IkeSa, IkeSa>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** `fresh` was initiated to replace `old`. */
  started(fresh: IkeSa, old: IkeSa): void {
    this.#pending.set(fresh, old);
  }

  /** The IKE_SA being replaced was itself rekeyed meanwhile (by the peer): its successor is the one to delete. */
  rekeyed(old: IkeSa, successor: IkeSa): void {
    for (const [fresh, o] of this.#pending) if (o === old) this.#pending.set(fresh, successor);
  }

  /** The IKE_SA `sa` replaces by reauthentication, while that is in progress. */
  replacing(sa: IkeSa): IkeSa | undefined {
    return this.#pending.get(sa);
  }

  /** After an engine step: pairs that are complete, or failed. */
  settle(): ReauthDue {
    const retire: { old: IkeSa; fresh: IkeSa }[] = [];
    const retry: IkeSa[] = [];
    for (const [fresh, old] of this.#pending) {
      const oldGone = old.state === IkeSaState.DESTROYED || old.state === IkeSaState.DELETING;
      if (fresh.state === IkeSaState.DESTROYED) {
        this.#pending.delete(fresh);
        if (!oldGone) {
          const why = `reauthentication as ${fresh.label} failed; trying again in ${REAUTH_RETRY_MS / 1000} s`;
          this.#log.log('ike', LogLevel.AUDIT, why, old.label);
          retry.push(old);
        }
        continue;
      }
      if (oldGone) {
        this.#pending.delete(fresh);
        continue;
      }
      if (fresh.state === IkeSaState.ESTABLISHED && fresh.active === undefined && fresh.queue.length === 0) {
        this.#pending.delete(fresh);
        retire.push({ old, fresh });
      }
    }
    return { retire, retry };
  }
}
