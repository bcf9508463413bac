/**
 * An open-addressing hash table from the masked IPv4 addresses of one prefix length to a non-zero 32-bit
 * value, held in one Int32Array of (key, value) pairs: a probe reads one or two neighbouring words, with no
 * object per entry and no pointer to follow (a JavaScript Map with 10,000 entries costs a bucket, an entry
 * and the value object, each likely a cache miss). Linear probing, at most half full, removal by shifting
 * the entries of the probe run back (no tombstones), so a table that saw many adds and removes stays as fast
 * as a fresh one. The policy index keeps one per prefix length in use.
 */

const MIN_CAPACITY = 16;
/** Value of an empty pair. Stored values are never 0. */
export const TABLE_EMPTY = 0;

function home(key: number, capMask: number): number {
  const h = Math.imul(key, 0x9e3779b1);
  return (h ^ (h >>> 16)) & capMask;
}

export class PrefixTable {
  /** The prefix length this table holds, and its netmask. */
  readonly length: number;
  readonly mask: number;
  /** key, value, key, value, ... */
  kv: Int32Array;
  capMask: number;
  count = 0;

  constructor(length: number) {
    this.length = length;
    this.mask = length <= 0 ? 0 : length >= 32 ? -1 : (0xffffffff << (32 - length)) | 0;
    this.kv = new Int32Array(2 * MIN_CAPACITY);
    this.capMask = MIN_CAPACITY - 1;
  }

  /** The value stored for the masked address `key` (an int32), or TABLE_EMPTY. */
  get(key: number): number {
    const kv = this.kv;
    const cm = this.capMask;
    for (let i = home(key, cm); ; i = (i + 1) & cm) {
      const v = kv[2 * i + 1]!;
      if (v === TABLE_EMPTY || kv[2 * i] === key) return v;
    }
  }

  /** Store a non-zero value for `key`, replacing any. */
  set(key: number, value: number): void {
    if (value === TABLE_EMPTY) throw new RangeError('prefix table values must not be 0');
    const i = this.find(key);
    if (this.kv[2 * i + 1] === TABLE_EMPTY) {
      if (2 * (this.count + 1) > this.capMask + 1) {
        this.resize(2 * (this.capMask + 1));
        return this.set(key, value);
      }
      this.count++;
      this.kv[2 * i] = key;
    }
    this.kv[2 * i + 1] = value;
  }

  /** Remove `key`; false if it was not there. */
  delete(key: number): boolean {
    const kv = this.kv;
    const cm = this.capMask;
    let i = this.find(key);
    if (kv[2 * i + 1] === TABLE_EMPTY) return false;
    // Shift later members of the probe run back into the hole unless their home lies after it.
    for (let j = (i + 1) & cm; kv[2 * j + 1] !== TABLE_EMPTY; j = (j + 1) & cm) {
      const h = home(kv[2 * j]!, cm);
      const stays = i <= j ? i < h && h <= j : i < h || h <= j;
      if (stays) continue;
      kv[2 * i] = kv[2 * j]!;
      kv[2 * i + 1] = kv[2 * j + 1]!;
      i = j;
    }
    kv[2 * i] = 0;
    kv[2 * i + 1] = TABLE_EMPTY;
    this.count--;
    return true;
  }

  /** Every (key, value) pair, in table order. */
  *entries(): IterableIterator<[number, number]> {
    for (let i = 0; i <= this.capMask; i++) {
      const v = this.kv[2 * i + 1]!;
      if (v !== TABLE_EMPTY) yield [this.kv[2 * i]!, v];
    }
  }

  /** The pair index holding `key`, or the empty one where it would go. */
  private find(key: number): number {
    const kv = this.kv;
    const cm = this.capMask;
    let i = home(key, cm);
    while (kv[2 * i + 1] !== TABLE_EMPTY && kv[2 * i] !== key) i = (i + 1) & cm;
    return i;
  }

  private resize(capacity: number): void {
    const old = this.kv;
    this.kv = new Int32Array(2 * capacity);
    this.capMask = capacity - 1;
    this.count = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i + 1] !== TABLE_EMPTY) this.set(old[i]!, old[i + 1]!);
  }
}
