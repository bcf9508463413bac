/**
 * `local_addrs = %any` on a connection we initiate (a roaming client's usual setting): the IKE_SA starts from the
 * source address the system picks towards the peer (a route lookup), as strongSwan does; MOBIKE follows that
 * address when it changes (mobike.ts). Without a route the `up` waiters learn why.
 */
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';
import type { IkeEngine } from '../ike/engine.js';
import type { Endpoint } from '../ike/events.js';
import type { UpWaiters } from './up-waiters.js';

export interface InitiateFromRouteDeps {
  readonly engine: IkeEngine;
  readonly log: Logger;
  readonly nowMs: () => number;
  readonly pump: () => void;
  readonly sourceFor: (destination: string) => Promise<string | undefined>;
}

export class InitiateFromRoute {
  readonly #d: InitiateFromRouteDeps;
  readonly #waiters: UpWaiters;
  /** Connections waiting for their route lookup (a second `up` meanwhile starts nothing more). */
  readonly #pending = new Set<string>();

  constructor(deps: InitiateFromRouteDeps, waiters: UpWaiters) {
    this.#d = deps;
    this.#waiters = waiters;
  }

  /** Looks up the source towards `remote`, then initiates `name` from it; `initiated` gets the IKE_SA id. */
  initiate(
    name: string,
    localPort: number,
    remote: Endpoint,
    initiated: (ikeSaId: number) => void,
    children: readonly string[] | undefined,
  ): void {
    if (this.#pending.has(name)) return;
    this.#pending.add(name);
    void this.#d.sourceFor(remote.address).then((address) => {
      this.#pending.delete(name);
      const { engine, log } = this.#d;
      if (address === undefined) {
        const why = `no route to ${remote.address} to initiate '${name}' from (local_addrs = %any)`;
        log.log('ike', LogLevel.AUDIT, why);
        this.#waiters.fail(name, undefined, why);
        return;
      }
      try {
        initiated(engine.initiate(name, { address, port: localPort }, remote, this.#d.nowMs(), children));
      } catch (e) {
        log.log('ike', LogLevel.AUDIT, `initiating ${name}: ${(e as Error).message}`);
        this.#waiters.fail(name, undefined, (e as Error).message);
      }
      this.#d.pump();
    });
  }
}
