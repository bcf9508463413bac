/**
 * Policy lookup without a scan: one direction's policies indexed by their remote address range (the
 * destination of outbound packets, the source of inbound ones), split into CIDR prefixes. For each prefix
 * length in use there is one hash table from the masked address to the policies whose remote range holds that
 * prefix, in match order. A lookup masks the packet's remote address once per length in use (a handful: /32,
 * /24 and /0 in a typical gateway), takes the first candidate of each entry that matches in full (protocol,
 * family, local range, ports), and keeps the earliest. Cost: the number of distinct prefix lengths, not the
 * number of policies.
 *
 * With thousands of policies and traffic spread over them, a lookup is bound by memory latency, not by
 * instructions: each object it follows is likely a cache miss. IPv4 lookups therefore read typed arrays only
 * (prefix-table.ts, policy-rows.ts) and touch the winning policy object alone. Policies go in and out one at a
 * time, no rebuild; lookups allocate nothing for IPv4 and one short key string for IPv6.
 */
import type { AddressRange } from './address.js';
import { ADDRESS_WORDS } from './address.js';
import type { FlowKey } from './flow.js';
import { PolicyRows } from './policy-rows.js';
import { PrefixTable, TABLE_EMPTY } from './prefix-table.js';
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

function v6Key(w: ArrayLike<number>, length: number): string {
  let key = '';
  for (let i = 0; i < ADDRESS_WORDS; i++) key += `${((w[i] ?? 0) & v4Mask(length - 32 * i)) >>> 0}:`;
  return key;
}

/** A candidate list of more than one row; a table value -(i + 1) names lists[i]. */
type RowList = number[];

/**
 * The index of one direction. Policies go in and out one at a time (no rebuild); each candidate list stays in
 * match order.
 *
 * IPv4 (the hot case: road warriors' /32s, sites' /24s) has no Map and no policy object on the lookup path: one
 * PrefixTable per prefix length in use maps the masked address to a row of PolicyRows (the value row + 1), or,
 * when several policies share the prefix, to a list of rows in match order (the value -(list + 1)). Only the
 * winner's policy object is touched. IPv6 keeps a Map per prefix length from the masked address's text.
 */
export class PolicyIndex<P extends IndexedPolicy> {
  /** IPv4 prefix tables, longest prefix first. */
  private readonly v4: PrefixTable[] = [];
  private readonly rows = new PolicyRows();
  private readonly rowOf = new Map<P, number>();
  private readonly byRow: (P | undefined)[] = [];
  private readonly lists: (RowList | undefined)[] = [];
  private readonly freeLists: number[] = [];
  private readonly v6: LengthMaps<string, P> = { lengths: [], maps: [] };

  add(p: P): void {
    if (p.selector.family === 4) return this.addV4(p);
    this.eachV6(p, (map, key) => {
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
    if (p.selector.family === 4) return this.removeV4(p);
    this.eachV6(p, (map, key) => {
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
    if (key.family === 4) {
      const row = this.findV4(remote[IPV4_WORD]!, key, inbound);
      return row < 0 ? undefined : this.byRow[row];
    }
    let best: P | undefined;
    const m = this.v6;
    for (let k = 0; k < m.lengths.length; k++) {
      const cands = m.maps[k]!.get(v6Key(remote, m.lengths[k]!));
      if (cands !== undefined) best = firstMatch(cands, key, inbound, best);
    }
    return best;
  }

  /** The row of the first IPv4 policy in match order that matches, or -1. */
  private findV4(remote: number, key: FlowKey, inbound: boolean): number {
    const rows = this.rows;
    const tables = this.v4;
    let best = -1;
    for (let t = 0; t < tables.length; t++) {
      const table = tables[t]!;
      const v = table.get((remote & table.mask) | 0);
      if (v > 0) {
        const row = v - 1;
        if ((best < 0 || rows.before(row, best)) && rows.matches(row, key, inbound)) best = row;
      } else if (v < 0) {
        const list = this.lists[-v - 1]!;
        for (let c = 0; c < list.length; c++) {
          const row = list[c]!;
          if (best >= 0 && !rows.before(row, best)) break;
          if (rows.matches(row, key, inbound)) {
            best = row;
            break;
          }
        }
      }
    }
    return best;
  }

  private addV4(p: P): void {
    const row = this.rows.alloc(p.selector, p);
    this.rowOf.set(p, row);
    this.byRow[row] = p;
    for (const [prefix, length] of v4Prefixes(p.selector.remote)) {
      const table = this.tableFor(length);
      const v = table.get(prefix);
      if (v === TABLE_EMPTY) {
        table.set(prefix, row + 1);
        continue;
      }
      let li: number;
      if (v > 0) {
        li = this.freeLists.pop() ?? this.lists.length;
        this.lists[li] = [v - 1];
        table.set(prefix, -(li + 1));
      } else {
        li = -v - 1;
      }
      const list = this.lists[li]!;
      let i = list.length;
      while (i > 0 && this.rows.before(row, list[i - 1]!)) i--;
      list.splice(i, 0, row);
    }
  }

  private removeV4(p: P): void {
    const row = this.rowOf.get(p);
    if (row === undefined) return;
    for (const [prefix, length] of v4Prefixes(p.selector.remote)) {
      const t = this.v4.findIndex((x) => x.length === length);
      const table = this.v4[t];
      if (table === undefined) continue;
      const v = table.get(prefix);
      if (v === row + 1) {
        table.delete(prefix);
      } else if (v < 0) {
        const li = -v - 1;
        const list = this.lists[li]!;
        const i = list.indexOf(row);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 1) {
          table.set(prefix, list[0]! + 1);
          this.lists[li] = undefined;
          this.freeLists.push(li);
        }
      }
      // An empty table would still cost every lookup a probe.
      if (table.count === 0) this.v4.splice(t, 1);
    }
    this.rowOf.delete(p);
    this.byRow[row] = undefined;
    this.rows.release(row);
  }

  private tableFor(length: number): PrefixTable {
    let table = this.v4.find((x) => x.length === length);
    if (table === undefined) {
      // Longest first, as for IPv6.
      let i = this.v4.findIndex((x) => x.length < length);
      if (i < 0) i = this.v4.length;
      table = new PrefixTable(length);
      this.v4.splice(i, 0, table);
    }
    return table;
  }

  /** Calls `f` with the map and key of every prefix covering an IPv6 policy's remote range. */
  private eachV6(p: P, f: (map: Map<string, P[]>, key: string) => void): void {
    const r: AddressRange = p.selector.remote;
    const w = new Uint32Array(ADDRESS_WORDS);
    for (const [prefix, length] of rangePrefixes(toBig(r.start, ADDRESS_WORDS), toBig(r.end, ADDRESS_WORDS), 128)) {
      for (let i = 0; i < ADDRESS_WORDS; i++) w[i] = Number((prefix >> BigInt(32 * (3 - i))) & 0xffffffffn);
      f(mapFor(this.v6, length), v6Key(w, length));
    }
  }
}

/** The CIDR prefixes covering an IPv4 range, as (int32 address, length). */
function v4Prefixes(r: AddressRange): [number, number][] {
  return rangePrefixes(toBig(r.start, 1), toBig(r.end, 1), 32).map(([prefix, length]) => [Number(prefix) | 0, length]);
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
