/**
 * Reqids: the number that links a CHILD_SA's SAs to the PROTECT policies naming it (the kernel boundary's
 * `reqid`, XFRM's `tmpl reqid`). The rules, as strongSwan's kernel handling keeps them:
 * - every CHILD_SA has its own reqid, so two CHILD_SAs of one child config (two peers on one connection,
 *   say) never share SAs or policies;
 * - a rekeyed CHILD_SA keeps the reqid of the one it replaces, so policies stay and traffic moves to the
 *   newest SA without a gap;
 * - a trap policy (`start_action = trap`) has a reqid of its own; the first CHILD_SA of that child config
 *   that comes up while the trap is unused takes it over, so the packets the trap holds leave through it;
 * - a CHILD_SA of the same child config, with the same selectors to the same peer as one in use (a
 *   reauthentication's new CHILD_SA, ours or the peer's), shares its reqid, as strongSwan shares reqids of
 *   equal selectors: the policies stay and traffic moves to the newest SA, as in a rekey.
 */

/** A child configuration: connection name and child name. */
export interface ChildRef {
  readonly conn: string;
  readonly child: string;
}

interface ReqidEntry {
  readonly reqid: number;
  readonly ref: ChildRef;
  /** A trap policy was installed under this reqid (it outlives its CHILD_SAs). */
  trap: boolean;
  /** Engine ids of the CHILD_SAs using it: one, or two during a rekey or reauthentication. */
  readonly childSaIds: Set<number>;
  /** Selectors and peer of the CHILD_SAs using it (`assign`'s `same`), once one does. */
  same: string | undefined;
}

/** What releasing a CHILD_SA's reqid leaves behind. */
export interface ReqidRelease {
  readonly reqid: number;
  /** No CHILD_SA uses the reqid any more. */
  readonly unused: boolean;
  /** The reqid belongs to a trap, whose policies stay. */
  readonly trap: boolean;
}

/** The key of a child configuration in the indexes. */
const refKey = (ref: ChildRef): string => `${ref.conn}\0${ref.child}`;

export class ReqidRegistry {
  #next = 1;
  readonly #byReqid = new Map<number, ReqidEntry>();
  readonly #byChildSa = new Map<number, ReqidEntry>();
  /** Trap entries by child configuration. */
  readonly #traps = new Map<string, ReqidEntry>();
  /** Entries in use by child configuration and `same`, in reqid order: no scan per CHILD_SA. */
  readonly #inUseBySame = new Map<string, ReqidEntry[]>();

  /** The reqid of the trap of `ref`, allocated on first use. */
  trap(ref: ChildRef): number {
    const found = this.#trapEntry(ref);
    if (found !== undefined) return found.reqid;
    const entry = this.#allocate(ref);
    entry.trap = true;
    this.#traps.set(refKey(ref), entry);
    return entry.reqid;
  }

  /** The child configuration whose trap holds `reqid` (for acquires), if any. */
  trapOf(reqid: number): ChildRef | undefined {
    const e = this.#byReqid.get(reqid);
    return e?.trap === true ? e.ref : undefined;
  }

  /** True when `ref` has a trap reqid. */
  hasTrap(ref: ChildRef): boolean {
    return this.#trapEntry(ref) !== undefined;
  }

  /**
   * The reqid for a CHILD_SA being installed: its predecessor's when it is a rekey (`rekeyOf`), else that of a
   * CHILD_SA in use of the same child config whose selectors and peer (`same`, a key) are equal, else the
   * unused trap of its child config, else a fresh one.
   */
  assign(childSaId: number, ref: ChildRef, rekeyOf?: number, same?: string): number {
    const existing = this.#byChildSa.get(childSaId);
    if (existing !== undefined) return existing.reqid;
    const previous = rekeyOf === undefined ? undefined : this.#byChildSa.get(rekeyOf);
    const twin = same === undefined ? undefined : this.#inUse(ref, same);
    const trap = this.#trapEntry(ref);
    const entry =
      previous ?? twin ?? (trap !== undefined && trap.childSaIds.size === 0 ? trap : undefined) ?? this.#allocate(ref);
    if (same !== undefined && entry.same !== same) {
      this.#unindex(entry);
      entry.same = same;
    }
    entry.childSaIds.add(childSaId);
    this.#index(entry);
    this.#byChildSa.set(childSaId, entry);
    return entry.reqid;
  }

  /** The reqid of an installed CHILD_SA. */
  reqidOf(childSaId: number): number | undefined {
    return this.#byChildSa.get(childSaId)?.reqid;
  }

  /** The CHILD_SA is gone. A reqid no SA and no trap uses any more is forgotten. */
  release(childSaId: number): ReqidRelease | undefined {
    const e = this.#byChildSa.get(childSaId);
    if (e === undefined) return undefined;
    this.#byChildSa.delete(childSaId);
    e.childSaIds.delete(childSaId);
    const unused = e.childSaIds.size === 0;
    if (unused) this.#unindex(e);
    if (unused && !e.trap) this.#byReqid.delete(e.reqid);
    return { reqid: e.reqid, unused, trap: e.trap };
  }

  /** The first entry (lowest reqid) in use by `ref` with selectors and peer `same`. */
  #inUse(ref: ChildRef, same: string): ReqidEntry | undefined {
    return this.#inUseBySame.get(`${refKey(ref)}\0${same}`)?.[0];
  }

  #trapEntry(ref: ChildRef): ReqidEntry | undefined {
    return this.#traps.get(refKey(ref));
  }

  /** Puts an entry in use with a `same` in its list (once), keeping reqid order. */
  #index(e: ReqidEntry): void {
    if (e.same === undefined || e.childSaIds.size === 0) return;
    const key = `${refKey(e.ref)}\0${e.same}`;
    const list = this.#inUseBySame.get(key);
    if (list === undefined) this.#inUseBySame.set(key, [e]);
    else if (!list.includes(e)) {
      list.push(e);
      list.sort((a, b) => a.reqid - b.reqid);
    }
  }

  #unindex(e: ReqidEntry): void {
    if (e.same === undefined) return;
    const key = `${refKey(e.ref)}\0${e.same}`;
    const list = this.#inUseBySame.get(key);
    const i = list?.indexOf(e) ?? -1;
    if (list === undefined || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.#inUseBySame.delete(key);
  }

  #allocate(ref: ChildRef): ReqidEntry {
    const entry: ReqidEntry = { reqid: this.#next++, ref, trap: false, childSaIds: new Set(), same: undefined };
    this.#byReqid.set(entry.reqid, entry);
    return entry;
  }
}
