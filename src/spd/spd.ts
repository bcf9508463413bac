/**
 * The Security Policy Database (RFC 4301 4.4.1): ordered policies per direction, each a selector and an
 * action. PROTECT points at the SA bundle by `reqid` (the handle the IKE engine and the SAD share, as in
 * Linux XFRM and strongSwan); BYPASS passes the packet unprotected; DISCARD drops it.
 *
 * Order: the lowest `priority` value wins; equal priorities keep insertion order (RFC 4301 4.4.1 requires
 * an ordered SPD; this is the order). A policy added without a priority gets one from its specificity, so a
 * /32 beats a /24 beats 0.0.0.0/0, the way strongSwan ranks its automatic priorities.
 *
 * Lookup goes through an index by remote address (policy-index.ts: one hash probe per prefix length in use,
 * never a scan of the policies), fronted by a small direct-mapped cache of recent flows per direction; a
 * change to a direction updates its index in place and clears its cache. Nothing is allocated per IPv4
 * lookup. Many policies (a CHILD_SA's selector pairs) go in and out with `addPolicies` / `removePolicies`.
 * `lookupUncached` is the plain ordered scan of RFC 4301 4.4.1, kept as the reference the index is tested
 * against.
 */

import { ADDRESS_WORDS } from './address.js';
import { PortKind } from './flow.js';
import type { FlowKey } from './flow.js';
import { CompiledSelector, PROTOCOL_ANY } from './selector.js';
import { before, PolicyIndex } from './policy-index.js';
import type { SelectorInput } from './selector.js';

export const PolicyDirection = { OUT: 'out', IN: 'in', FWD: 'fwd' } as const;
export type PolicyDirection = (typeof PolicyDirection)[keyof typeof PolicyDirection];

export const PolicyAction = { PROTECT: 'protect', BYPASS: 'bypass', DISCARD: 'discard' } as const;
export type PolicyAction = (typeof PolicyAction)[keyof typeof PolicyAction];

/** What the control plane asks for. */
export interface PolicyInput {
  readonly direction: PolicyDirection;
  readonly selector: SelectorInput;
  readonly action: PolicyAction;
  /** Required for protect: the SA bundle handle shared with the SAD. */
  readonly reqid?: number;
  /** Lower wins. Default: derived from the selector's specificity (see the file comment). */
  readonly priority?: number;
}

/** Priorities derived from specificity fall in [DEFAULT_PRIORITY_BASE - 1100, DEFAULT_PRIORITY_BASE]. */
export const DEFAULT_PRIORITY_BASE = 100_000;

/** One installed policy. The object is stable for its life in the SPD; counters are bumped by the data plane. */
export class Policy {
  readonly id: number;
  readonly direction: PolicyDirection;
  readonly selector: CompiledSelector;
  readonly action: PolicyAction;
  readonly reqid: number;
  readonly priority: number;
  /** Insertion sequence: ties in priority keep this order. */
  readonly seq: number;
  /** Packets that matched this policy. */
  packets = 0;
  bytes = 0;

  constructor(id: number, seq: number, input: PolicyInput, selector: CompiledSelector) {
    this.id = id;
    this.seq = seq;
    this.direction = input.direction;
    this.selector = selector;
    this.action = input.action;
    this.reqid = input.reqid ?? 0;
    this.priority = input.priority ?? DEFAULT_PRIORITY_BASE - selector.specificity();
  }

  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      direction: this.direction,
      action: this.action,
      reqid: this.reqid,
      priority: this.priority,
      selector: this.selector.toJSON(),
      packets: this.packets,
      bytes: this.bytes,
    };
  }
}

/** Entries per direction in the flow cache (a power of two). */
export const SPD_CACHE_SIZE = 256;
// Words per cache slot: family|protocol|portKind, src (4), dst (4), ports or type/code.
const SLOT_META = 0;
const SLOT_SRC = 1;
const SLOT_DST = SLOT_SRC + ADDRESS_WORDS;
const SLOT_PORTS = SLOT_DST + ADDRESS_WORDS;
const SLOT_WORDS = SLOT_PORTS + 1;
/** Cached result: the policy, NO_MATCH (null), or empty (undefined). */
const NO_MATCH = null;

class FlowCache {
  readonly keys = new Uint32Array(SPD_CACHE_SIZE * SLOT_WORDS);
  readonly results = new Array<Policy | null | undefined>(SPD_CACHE_SIZE).fill(undefined);
  hits = 0;
  misses = 0;

  clear(): void {
    this.results.fill(undefined);
  }
}

function meta(key: FlowKey): number {
  return ((key.family << 16) | (key.protocol << 8) | key.portKind) >>> 0;
}

function portsWord(key: FlowKey): number {
  if (key.portKind === PortKind.PORTS) return ((key.srcPort << 16) | key.dstPort) >>> 0;
  if (key.portKind === PortKind.TYPE_CODE) return key.typeCode;
  return 0;
}

function slotOf(key: FlowKey): number {
  let h = meta(key) ^ portsWord(key);
  for (let i = 0; i < ADDRESS_WORDS; i++) {
    h = Math.imul(h ^ (key.src[i] ?? 0), 0x9e3779b1);
    h = Math.imul(h ^ (key.dst[i] ?? 0), 0x85ebca6b);
  }
  h ^= h >>> 15;
  return h & (SPD_CACHE_SIZE - 1);
}

export class SecurityPolicyDatabase {
  private readonly lists: Record<PolicyDirection, Policy[]> = { out: [], in: [], fwd: [] };
  private readonly caches: Record<PolicyDirection, FlowCache> = {
    out: new FlowCache(),
    in: new FlowCache(),
    fwd: new FlowCache(),
  };
  private readonly indexes: Record<PolicyDirection, PolicyIndex<Policy>> = {
    out: new PolicyIndex(),
    in: new PolicyIndex(),
    fwd: new PolicyIndex(),
  };
  private readonly byId = new Map<number, Policy>();
  private nextId = 1;
  private nextSeq = 1;

  /** Compile and insert a policy. Throws SelectorError for a bad selector, RangeError for protect without reqid. */
  add(input: PolicyInput): Policy {
    const [policy] = this.addPolicies([input]);
    return policy!;
  }

  /**
   * Compile and insert many policies at once, in the order given (as one `add` after the other would). All or
   * nothing: a bad selector or a protect policy without reqid throws (SelectorError, RangeError) before
   * anything is inserted.
   */
  addPolicies(inputs: readonly PolicyInput[]): Policy[] {
    const compiled = inputs.map((input) => {
      if (input.action === PolicyAction.PROTECT && (input.reqid === undefined || input.reqid <= 0)) {
        throw new RangeError('a protect policy needs a reqid > 0');
      }
      return { input, selector: new CompiledSelector(input.selector) };
    });
    return compiled.map(({ input, selector }) => {
      const policy = new Policy(this.nextId++, this.nextSeq++, input, selector);
      const list = this.lists[policy.direction];
      // Match order: priority, then insertion; a binary search finds the place, no re-sort.
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (before(policy, list[mid]!)) hi = mid;
        else lo = mid + 1;
      }
      list.splice(lo, 0, policy);
      this.byId.set(policy.id, policy);
      this.indexes[policy.direction].add(policy);
      this.caches[policy.direction].clear();
      return policy;
    });
  }

  /** Remove by id; false if there was none. */
  remove(id: number): boolean {
    return this.removePolicies([id]) === 1;
  }

  /** Remove many by id; returns how many were there. */
  removePolicies(ids: readonly number[]): number {
    const gone = new Set<Policy>();
    for (const id of ids) {
      const p = this.byId.get(id);
      if (p === undefined) continue;
      gone.add(p);
      this.byId.delete(id);
    }
    const touched = new Set([...gone].map((p) => p.direction));
    for (const p of gone) this.indexes[p.direction].remove(p);
    for (const d of touched) {
      const list = this.lists[d];
      let kept = 0;
      for (const p of list) if (!gone.has(p)) list[kept++] = p;
      list.length = kept;
      this.caches[d].clear();
    }
    return gone.size;
  }

  get(id: number): Policy | undefined {
    return this.byId.get(id);
  }

  /** Policies of a direction in match order. */
  list(direction: PolicyDirection): readonly Policy[] {
    return this.lists[direction];
  }

  /** All policies, out then in then fwd. */
  all(): Policy[] {
    return [...this.lists.out, ...this.lists.in, ...this.lists.fwd];
  }

  get size(): number {
    return this.byId.size;
  }

  /** The first policy matching, by an ordered scan of every policy: the reference the index must agree with. */
  lookupUncached(direction: PolicyDirection, key: FlowKey): Policy | undefined {
    const inbound = direction !== PolicyDirection.OUT;
    for (const p of this.lists[direction]) {
      const pr = p.selector.protocol;
      if ((pr === PROTOCOL_ANY || pr === key.protocol) && p.selector.matches(key, inbound)) return p;
    }
    return undefined;
  }

  /** First matching policy for the packet's selector fields, or undefined (RFC 4301 5.1: then discard). */
  lookup(direction: PolicyDirection, key: FlowKey): Policy | undefined {
    const cache = this.caches[direction];
    const slot = slotOf(key);
    const base = slot * SLOT_WORDS;
    const k = cache.keys;
    const m = meta(key);
    const pw = portsWord(key);
    const cached = cache.results[slot];
    if (cached !== undefined && k[base + SLOT_META] === m && k[base + SLOT_PORTS] === pw && sameAddrs(k, base, key)) {
      cache.hits++;
      return cached === NO_MATCH ? undefined : cached;
    }
    cache.misses++;
    const found = this.indexes[direction].find(key, direction !== PolicyDirection.OUT);
    k[base + SLOT_META] = m;
    k[base + SLOT_PORTS] = pw;
    k.set(key.src, base + SLOT_SRC);
    k.set(key.dst, base + SLOT_DST);
    cache.results[slot] = found ?? NO_MATCH;
    return found;
  }

  /** Cache hit and miss counts per direction (for `tsipsec stats`). */
  cacheStats(): Record<PolicyDirection, { hits: number; misses: number }> {
    const s = (c: FlowCache): { hits: number; misses: number } => ({ hits: c.hits, misses: c.misses });
    return { out: s(this.caches.out), in: s(this.caches.in), fwd: s(this.caches.fwd) };
  }
}

function sameAddrs(k: Uint32Array, base: number, key: FlowKey): boolean {
  for (let i = 0; i < ADDRESS_WORDS; i++) {
    if (k[base + SLOT_SRC + i] !== key.src[i] || k[base + SLOT_DST + i] !== key.dst[i]) return false;
  }
  return true;
}
