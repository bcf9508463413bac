/**
 * The engine's IKE_SAs: found by SPI (each SA under its local SPI, and a responder's also under the one it
 * registered in IKE_SA_INIT), by id, and CHILD_SAs by id, without walking every SA; and the deadline queue that
 * tells the engine when an SA next needs its timers (retransmission, half-open timeout, rekey, DPD, expiry of
 * the SA and its children) without computing every SA's deadlines on each call. With 10,000 IKE_SAs a
 * datagram or a timer costs what it costs with ten.
 */
import type { ChildSa, IkeSa } from './sa.js';
import { ChildSaState, IkeSaState } from './sa-state.js';

export class SaRegistry {
  readonly #bySpi = new Map<string, IkeSa>();
  readonly #spisOf = new Map<IkeSa, string[]>();
  readonly #byId = new Map<number, IkeSa>();
  /** CHILD_SA id -> the IKE_SA it was last seen on (checked on use: IKE rekeys move children). */
  readonly #childOwner = new Map<number, IkeSa>();

  add(spiHex: string, sa: IkeSa): void {
    this.#bySpi.set(spiHex, sa);
    const spis = this.#spisOf.get(sa);
    if (spis === undefined) this.#spisOf.set(sa, [spiHex]);
    else if (!spis.includes(spiHex)) spis.push(spiHex);
    this.#byId.set(sa.id, sa);
  }

  get(spiHex: string): IkeSa | undefined {
    return this.#bySpi.get(spiHex);
  }

  has(spiHex: string): boolean {
    return this.#bySpi.has(spiHex);
  }

  byId(id: number): IkeSa | undefined {
    return this.#byId.get(id);
  }

  /** The IKE_SA holding CHILD_SA `id`, and the child. */
  child(id: number): [IkeSa, ChildSa] | undefined {
    const owner = this.#childOwner.get(id);
    const hit = owner?.children.find((c) => c.id === id);
    if (owner !== undefined && hit !== undefined && this.#byId.has(owner.id)) return [owner, hit];
    for (const sa of this.#spisOf.keys()) {
      const c = sa.children.find((x) => x.id === id);
      if (c !== undefined) {
        this.#childOwner.set(id, sa);
        return [sa, c];
      }
    }
    this.#childOwner.delete(id);
    return undefined;
  }

  remove(sa: IkeSa): void {
    for (const spi of this.#spisOf.get(sa) ?? []) if (this.#bySpi.get(spi) === sa) this.#bySpi.delete(spi);
    this.#spisOf.delete(sa);
    if (this.#byId.get(sa.id) === sa) this.#byId.delete(sa.id);
    for (const c of sa.children) if (this.#childOwner.get(c.id) === sa) this.#childOwner.delete(c.id);
  }

  /** Every IKE_SA once, in the order they were added. */
  all(): IkeSa[] {
    return [...this.#spisOf.keys()];
  }

  get size(): number {
    return this.#spisOf.size;
  }
}

/** The earliest time `sa` needs its timers run, or Infinity. */
export function deadlineOf(sa: IkeSa): number {
  if (sa.state === IkeSaState.DESTROYED) return Infinity;
  let next = Infinity;
  const at = (t: number): void => {
    if (t > 0 && t < next) next = t;
  };
  if (sa.active) at(sa.active.deadlineMs);
  at(sa.halfOpenDeadlineMs);
  if (sa.state === IkeSaState.ESTABLISHED) {
    at(sa.rekeyAtMs);
    at(sa.reauthAtMs);
    at(sa.dpdAtMs);
  }
  at(sa.expireAtMs);
  for (const c of sa.children) {
    if (c.state === ChildSaState.INSTALLED) at(c.rekeyAtMs);
    at(c.expireAtMs);
  }
  return next;
}

/**
 * IKE_SAs by their next deadline: a binary min-heap with lazy deletion (an entry counts only while it holds the
 * SA's current deadline). `update` after an SA may have changed, `next` for the engine's timer, `takeDue` for the
 * SAs whose time has come.
 */
export class DeadlineQueue {
  #heap: { at: number; sa: IkeSa }[] = [];
  readonly #current = new Map<IkeSa, number>();

  update(sa: IkeSa, at: number): void {
    if (this.#current.get(sa) === at) return;
    if (!Number.isFinite(at)) {
      this.#current.delete(sa);
      return;
    }
    this.#current.set(sa, at);
    this.#push({ at, sa });
    // Stale entries are dropped as they surface; rebuild when they outnumber live ones by far.
    if (this.#heap.length > 64 && this.#heap.length > 4 * this.#current.size) this.#rebuild();
  }

  next(): number | undefined {
    this.#dropStale();
    return this.#heap[0]?.at;
  }

  /** The SAs due at `nowMs`, each once; their entries leave the queue (an `update` puts them back). */
  takeDue(nowMs: number): IkeSa[] {
    const due: IkeSa[] = [];
    for (;;) {
      this.#dropStale();
      const top = this.#heap[0];
      if (top === undefined || top.at > nowMs) return due;
      this.#pop();
      this.#current.delete(top.sa);
      due.push(top.sa);
    }
  }

  get size(): number {
    return this.#current.size;
  }

  #dropStale(): void {
    for (let top = this.#heap[0]; top !== undefined && this.#current.get(top.sa) !== top.at; top = this.#heap[0]) {
      this.#pop();
    }
  }

  #rebuild(): void {
    const live = [...this.#current].map(([sa, at]) => ({ at, sa }));
    this.#heap = [];
    for (const e of live) this.#push(e);
  }

  #push(e: { at: number; sa: IkeSa }): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= e.at) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && h[r]!.at < h[l]!.at ? r : l;
      if (h[c]!.at >= last.at) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
