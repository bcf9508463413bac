/**
 * Policy lookup without a scan: one direction's policies indexed by their remote address range (the
 * destination of outbound packets, the source of inbound ones), split into CIDR prefixes. For each prefix
 * length in use there is one hash map from the masked address to the positions of the policies whose remote
 * range holds that prefix, in match order. A lookup masks the packet's remote address once per length in use
 * (a handful: /32, /24 and /0 in a typical gateway), takes the first candidate of each map entry that matches
 * in full (protocol, family, local range, ports), and keeps the earliest. Cost: the number of distinct prefix
 * lengths, not the number of policies, so 10,000 road warriors cost what one does.
 *
 * Built when the direction changes (as the scan table was); lookups allocate nothing for IPv4 and one short
 * key string for IPv6.
 */
import type { AddressRange } from './address.js';
import { ADDRESS_WORDS } from './address.js';
import type { FlowKey } from './flow.js';
import { PROTOCOL_ANY } from './selector.js';
import type { CompiledSelector } from './selector.js';

const IPV4_WORD = ADDRESS_WORDS - 1;

/** What the index needs of a policy: its selector and its place in the match order. */
export interface IndexedPolicy {
  readonly selector: CompiledSelector;
  readonly priority: number;
  readonly seq: number;
}

/** Match order: lower priority value first, then earlier insertion. */
export function before(a: IndexedPolicy, b: IndexedPolicy): boolean {
  return a.priority < b.priority || (a.priority === b.priority && a.seq < b.seq);
}

interface LengthMaps<K, P> {
  /** Prefix lengths in use, longest first, with their maps. */
  readonly lengths: number[];
  readonly maps: Map<K, P[]>[];
}

function toBig(words: Uint32Array, count: number): bigint {
  let v = 0n;
  for (let i = ADDRESS_WORDS - count; i < ADDRESS_WORDS; i++) v = (v << 32n) | BigInt(words[i] ?? 0);
  return v;
}

/** The CIDR prefixes [address, length] that exactly cover an inclusive range of `bits`-bit addresses. */
export function rangePrefixes(startValue: bigint, endValue: bigint, bits: number): [bigint, number][] {
  const out: [bigint, number][] = [];
  let lo = startValue;
  const b = BigInt(bits);
  while (lo <= endValue) {
    let size = 0n;
    while (size < b) {
      const mask = (1n << (size + 1n)) - 1n;
      if ((lo & mask) !== 0n || lo + mask > endValue) break;
      size++;
    }
    out.push([lo, bits - Number(size)]);
    lo += 1n << size;
  }
  return out;
}

function v4Mask(length: number): number {
  return length <= 0 ? 0 : length >= 32 ? 0xffffffff : (0xffffffff << (32 - length)) >>> 0;
}

/**
 * The map key of a masked IPv4 address: its top 30 bits, a small integer V8 hashes fast (a full 32-bit address
 * above 2^30 would be a heap number). Up to four /31-/32 prefixes share a key; the full match sorts them out.
 */
function v4Key(masked: number): number {
  return masked >>> 2;
}

function v6Key(w: ArrayLike<number>, length: number): string {
  let key = '';
  for (let i = 0; i < ADDRESS_WORDS; i++) key += `${((w[i] ?? 0) & v4Mask(length - 32 * i)) >>> 0}:`;
  return key;
}

/**
 * The index of one direction. Policies go in and out one at a time (no rebuild); each candidate list stays in
 * match order.
 */
export class PolicyIndex<P extends IndexedPolicy> {
  private readonly v4: LengthMaps<number, P> = { lengths: [], maps: [] };
  private readonly v6: LengthMaps<string, P> = { lengths: [], maps: [] };

  add(p: P): void {
    this.each(p, (map, key) => {
      const l = map.get(key);
      if (l === undefined) {
        map.set(key, [p]);
        return;
      }
      let i = l.length;
      while (i > 0 && before(p, l[i - 1]!)) i--;
      l.splice(i, 0, p);
    });
  }

  remove(p: P): void {
    this.each(p, (map, key) => {
      const l = map.get(key);
      const i = l?.indexOf(p) ?? -1;
      if (l === undefined || i < 0) return;
      l.splice(i, 1);
      if (l.length === 0) map.delete(key);
    });
  }

  /** The first policy in match order that matches `key` in full, or undefined. */
  find(key: FlowKey, inbound: boolean): P | undefined {
    const remote = inbound ? key.src : key.dst;
    let best: P | undefined;
    if (key.family === 4) {
      const a = remote[IPV4_WORD]! >>> 0;
      const m = this.v4;
      for (let k = 0; k < m.lengths.length; k++) {
        const cands = m.maps[k]!.get(v4Key((a & v4Mask(m.lengths[k]!)) >>> 0));
        if (cands !== undefined) best = firstMatch(cands, key, inbound, best);
      }
    } else {
      const m = this.v6;
      for (let k = 0; k < m.lengths.length; k++) {
        const cands = m.maps[k]!.get(v6Key(remote, m.lengths[k]!));
        if (cands !== undefined) best = firstMatch(cands, key, inbound, best);
      }
    }
    return best;
  }

  /** Calls `f` with the map and key of every prefix covering the policy's remote range. */
  private each(p: P, f: (map: Map<never, P[]>, key: never) => void): void {
    const r: AddressRange = p.selector.remote;
    const v4 = r.family === 4;
    const words = v4 ? 1 : ADDRESS_WORDS;
    const w = new Uint32Array(ADDRESS_WORDS);
    for (const [prefix, length] of rangePrefixes(toBig(r.start, words), toBig(r.end, words), v4 ? 32 : 128)) {
      if (v4) {
        f(mapFor(this.v4, length) as Map<never, P[]>, v4Key(Number(prefix)) as never);
      } else {
        for (let i = 0; i < ADDRESS_WORDS; i++) w[i] = Number((prefix >> BigInt(32 * (3 - i))) & 0xffffffffn);
        f(mapFor(this.v6, length) as Map<never, P[]>, v6Key(w, length) as never);
      }
    }
  }
}

function mapFor<K, P>(m: LengthMaps<K, P>, length: number): Map<K, P[]> {
  let i = m.lengths.indexOf(length);
  if (i < 0) {
    // Keep longest first: more specific prefixes tend to hold the earlier policies, so later probes stop sooner.
    i = m.lengths.findIndex((l) => l < length);
    if (i < 0) i = m.lengths.length;
    m.lengths.splice(i, 0, length);
    m.maps.splice(i, 0, new Map());
  }
  return m.maps[i]!;
}

/** The first policy of `cands` (in match order) before `best` that matches in full; else `best`. */
function firstMatch<P extends IndexedPolicy>(
  cands: readonly P[],
  key: FlowKey,
  inbound: boolean,
  best: P | undefined,
): P | undefined {
  for (let c = 0; c < cands.length; c++) {
    const p = cands[c]!;
    if (best !== undefined && !before(p, best)) return best;
    const sel = p.selector;
    if (sel.protocol !== PROTOCOL_ANY && sel.protocol !== key.protocol) continue;
    if (sel.matches(key, inbound)) return p;
  }
  return best;
}
