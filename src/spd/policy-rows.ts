/**
 * The fields an IPv4 policy lookup reads, for every IPv4 policy of a direction, as rows of one typed array
 * (a struct of arrays): both address ranges, protocol, both port selectors, priority and insertion sequence in
 * 64 bytes. Deciding whether a candidate matches a packet, and whether it comes before the best one so far,
 * reads one row instead of following policy -> selector -> address array (three objects, and with thousands
 * of policies three cache misses). The same rules as CompiledSelector.matches (RFC 4301 4.4.1.1); the SPD's
 * ordered scan over the selectors stays the reference both are tested against.
 */
import { ADDRESS_WORDS } from './address.js';
import { PortKind } from './flow.js';
import type { FlowKey } from './flow.js';
import { PortMatch } from './selector.js';
import type { CompiledSelector } from './selector.js';

/** 16 words (64 bytes) per row: one cache line when the buffer is aligned, two at worst. */
const ROW_WORDS = 16;
const LOCAL_START = 0;
const LOCAL_END = 1;
const REMOTE_START = 2;
const REMOTE_END = 3;
/** protocol | localPortKind << 8 | remotePortKind << 10. */
const META = 4;
/** start << 16 | end. */
const LOCAL_PORTS = 5;
const REMOTE_PORTS = 6;
// Float64 fields of a row, as indexes of the Float64Array view (words 8-9 and 10-11).
const ROW_F64 = ROW_WORDS / 2;
const PRIORITY = 4;
const SEQ = 5;
const PROTOCOL_MASK = 0xff;
const LOCAL_KIND_SHIFT = 8;
const REMOTE_KIND_SHIFT = 10;
const KIND_MASK = 3;
const IPV4_WORD = ADDRESS_WORDS - 1;
const INITIAL_ROWS = 16;

/** Match order of a policy: lower priority value first, then earlier insertion. */
export interface RowOrder {
  readonly priority: number;
  readonly seq: number;
}

function portIn(kind: number, packed: number, value: number): boolean {
  if (kind === PortMatch.ANY) return true;
  if (kind === PortMatch.OPAQUE) return false;
  return value >= packed >>> 16 && value <= (packed & 0xffff);
}

export class PolicyRows {
  private words = new Uint32Array(INITIAL_ROWS * ROW_WORDS);
  private order = new Float64Array(this.words.buffer);
  private readonly free: number[] = [];
  private used = 0;

  /** Store an IPv4 selector and its order; returns the row. */
  alloc(sel: CompiledSelector, order: RowOrder): number {
    if (sel.family !== 4) throw new RangeError('policy rows hold IPv4 selectors only');
    let row = this.free.pop();
    if (row === undefined) {
      row = this.used++;
      if (this.used * ROW_WORDS > this.words.length) this.grow();
    }
    const u = this.words;
    const w = row * ROW_WORDS;
    u[w + LOCAL_START] = sel.local.start[IPV4_WORD]!;
    u[w + LOCAL_END] = sel.local.end[IPV4_WORD]!;
    u[w + REMOTE_START] = sel.remote.start[IPV4_WORD]!;
    u[w + REMOTE_END] = sel.remote.end[IPV4_WORD]!;
    u[w + META] = sel.protocol | (sel.localPortKind << LOCAL_KIND_SHIFT) | (sel.remotePortKind << REMOTE_KIND_SHIFT);
    u[w + LOCAL_PORTS] = ((sel.localPortStart << 16) | sel.localPortEnd) >>> 0;
    u[w + REMOTE_PORTS] = ((sel.remotePortStart << 16) | sel.remotePortEnd) >>> 0;
    this.order[row * ROW_F64 + PRIORITY] = order.priority;
    this.order[row * ROW_F64 + SEQ] = order.seq;
    return row;
  }

  release(row: number): void {
    this.words.fill(0, row * ROW_WORDS, (row + 1) * ROW_WORDS);
    this.free.push(row);
  }

  /** Does row `a` come before row `b` in match order? */
  before(a: number, b: number): boolean {
    const o = this.order;
    const pa = o[a * ROW_F64 + PRIORITY]!;
    const pb = o[b * ROW_F64 + PRIORITY]!;
    return pa < pb || (pa === pb && o[a * ROW_F64 + SEQ]! < o[b * ROW_F64 + SEQ]!);
  }

  /** Does the IPv4 packet match the row's selector, seen in a direction (see CompiledSelector.matches)? */
  matches(row: number, key: FlowKey, inbound: boolean): boolean {
    const u = this.words;
    const w = row * ROW_WORDS;
    const l = (inbound ? key.dst : key.src)[IPV4_WORD]!;
    const r = (inbound ? key.src : key.dst)[IPV4_WORD]!;
    if (r < u[w + REMOTE_START]! || r > u[w + REMOTE_END]! || l < u[w + LOCAL_START]! || l > u[w + LOCAL_END]!) {
      return false;
    }
    const meta = u[w + META]!;
    const protocol = meta & PROTOCOL_MASK;
    if (protocol === 0) return true;
    if (protocol !== key.protocol) return false;
    const lk = (meta >>> LOCAL_KIND_SHIFT) & KIND_MASK;
    const rk = (meta >>> REMOTE_KIND_SHIFT) & KIND_MASK;
    const kind = key.portKind;
    if (kind === PortKind.PORTS) {
      return (
        portIn(lk, u[w + LOCAL_PORTS]!, inbound ? key.dstPort : key.srcPort) &&
        portIn(rk, u[w + REMOTE_PORTS]!, inbound ? key.srcPort : key.dstPort)
      );
    }
    if (kind === PortKind.TYPE_CODE) return portIn(lk, u[w + LOCAL_PORTS]!, key.typeCode) && rk !== PortMatch.RANGE;
    return lk !== PortMatch.RANGE && rk !== PortMatch.RANGE;
  }

  private grow(): void {
    const words = new Uint32Array(this.words.length * 2);
    words.set(this.words);
    this.words = words;
    this.order = new Float64Array(words.buffer);
  }
}
