/**
 * MOBIKE (RFC 4555) in the daemon: noticing that our own address changed, and moving CHILD_SAs when an IKE_SA
 * moved.
 *
 * As strongSwan's kernel interface does, an address event from the kernel (an address added or removed on any
 * interface) starts a route lookup towards the peer of every IKE_SA we initiated with MOBIKE; when the source the
 * system now picks differs from the IKE_SA's, the engine sends UPDATE_SA_ADDRESSES from there. Events that come
 * while a check runs lead to one more check afterwards, so a burst (`ip addr del` then `ip addr add`) ends on the
 * final state. An address that is gone with no replacement (no route) leaves the IKE_SA as it is until one appears.
 *
 * When the engine reports `ikeSaMoved` (our update was answered, or the peer's was accepted), both SAs of every
 * CHILD_SA of that IKE_SA take the new endpoints in the data plane.
 */
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';
import type { IkeEngine } from '../ike/engine.js';
import type { IkeEvent } from '../ike/events.js';
import { IkeSaState } from '../ike/sa-state.js';
import type { ChildInstaller } from './child-installer.js';
import type { DaemonIo } from './daemon-io.js';

export interface MobikeDeps {
  readonly engine: IkeEngine;
  readonly io: Pick<DaemonIo, 'sourceFor' | 'watchAddresses'>;
  readonly children: ChildInstaller;
  readonly log: Logger;
  readonly nowMs: () => number;
  /** Send what the engine produced and re-arm the timer. */
  readonly pump: () => void;
}

type Moved = Extract<IkeEvent, { type: 'ikeSaMoved' }>;

export class Mobike {
  readonly #d: MobikeDeps;
  #unwatch: (() => void) | undefined;
  /** A check is running; `#again` asks for one more when it ends. */
  #checking: Promise<void> | undefined;
  #again = false;
  /** Address updates started (for tests and logs). */
  updates = 0;

  constructor(deps: MobikeDeps) {
    this.#d = deps;
  }

  start(): void {
    this.#unwatch ??= this.#d.io.watchAddresses(() => void this.addressesChanged());
  }

  stop(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  /** The host's addresses changed: check every IKE_SA with MOBIKE we initiated; resolves when checked. */
  addressesChanged(): Promise<void> {
    if (this.#checking !== undefined) {
      this.#again = true;
      return this.#checking;
    }
    this.#checking = this.#checkUntilQuiet().finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  async #checkUntilQuiet(): Promise<void> {
    do {
      this.#again = false;
      await this.#check();
    } while (this.#again);
  }

  async #check(): Promise<void> {
    const { engine, io, log } = this.#d;
    const candidates = engine.ikeSas().filter((s) => s.mobike && s.initiator && s.state === IkeSaState.ESTABLISHED);
    let started = false;
    for (const sa of candidates) {
      const source = await io.sourceFor(sa.remote.address);
      if (source === undefined) {
        log.log('ike', LogLevel.DETAIL, `no route to ${sa.remote.address} now; addresses kept`, sa.label);
        continue;
      }
      if (source === sa.local.address || sa.state !== IkeSaState.ESTABLISHED) continue;
      try {
        if (engine.updateAddresses(sa.id, source, this.#d.nowMs())) {
          this.updates++;
          started = true;
        }
      } catch (e) {
        log.log('ike', LogLevel.CONTROL, `address update failed: ${(e as Error).message}`, sa.label);
      }
    }
    if (started) this.#d.pump();
  }

  /** The IKE_SA moved: its CHILD_SAs follow in the data plane. */
  async moved(ev: Moved): Promise<void> {
    const { children, log } = this.#d;
    const encap = ev.natLocal || ev.natRemote;
    for (const rec of [...children.all()]) {
      if (rec.ikeSaId !== ev.ikeSaId) continue;
      try {
        await children.move(rec, ev.local, ev.remote, encap);
      } catch (e) {
        const c = rec.info;
        log.log('knl', LogLevel.AUDIT, `moving CHILD_SA ${c.name}{${c.id}} failed: ${(e as Error).message}`);
      }
    }
  }
}
