/**
 * Addresses for selectors (RFC 4301 4.4.1.1 "Remote/Local IP Address(es)"): IPv4 and IPv6 as four 32-bit
 * words (IPv4 uses the last word only), so prefixes and ranges compile to [start, end] pairs compared
 * word by word without allocation on the packet path.
 *
 * Text forms accepted: a single address, a prefix `a/len`, a range `a-b` (RFC 4301 allows arbitrary ranges,
 * IKEv2 traffic selectors carry them as start/end, RFC 7296 3.13.1). No hostnames, no zone ids.
 */

/** 4 for IPv4, 6 for IPv6. */
export type IpFamily = 4 | 6;

/** Number of 32-bit words an address is held in (IPv6 width; IPv4 uses word 3). */
export const ADDRESS_WORDS = 4;

/** An inclusive address range of one family, words most significant first. */
export interface AddressRange {
  readonly family: IpFamily;
  readonly start: Uint32Array;
  readonly end: Uint32Array;
}

/** Raised for a selector or address that does not parse (configuration time, never on the packet path). */
export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseIpv4Word(text: string): number | undefined {
  const m = IPV4_RE.exec(text);
  if (m === null) return undefined;
  let w = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i] ?? '';
    if (part.length > 1 && part.startsWith('0')) return undefined; // no octal-looking octets
    const v = Number(part);
    if (v > 255) return undefined;
    w = w * 256 + v;
  }
  return w >>> 0;
}

function parseIpv6Words(text: string, out: Uint32Array): boolean {
  if (text.length < 2 || text.includes('%')) return false;
  const groups: number[] = [];
  const parseGroups = (part: string, allowV4Tail: boolean): number[] | undefined => {
    if (part === '') return [];
    const pieces = part.split(':');
    const res: number[] = [];
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i] ?? '';
      if (allowV4Tail && i === pieces.length - 1 && p.includes('.')) {
        const w = parseIpv4Word(p);
        if (w === undefined) return undefined;
        res.push(w >>> 16, w & 0xffff);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
      res.push(parseInt(p, 16));
    }
    return res;
  };
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    if (text.indexOf('::', dbl + 1) >= 0) return false;
    const head = parseGroups(text.slice(0, dbl), false);
    const tail = parseGroups(text.slice(dbl + 2), true);
    if (head === undefined || tail === undefined || head.length + tail.length > 7) return false;
    groups.push(...head);
    for (let i = head.length + tail.length; i < 8; i++) groups.push(0);
    groups.push(...tail);
  } else {
    const all = parseGroups(text, true);
    if (all === undefined || all.length !== 8) return false;
    groups.push(...all);
  }
  for (let i = 0; i < ADDRESS_WORDS; i++) out[i] = (((groups[2 * i] ?? 0) << 16) | (groups[2 * i + 1] ?? 0)) >>> 0;
  return true;
}

/** Parse one address into `out` (4 words). Returns its family, or undefined if it is not an address. */
export function parseAddress(text: string, out: Uint32Array): IpFamily | undefined {
  const t = text.trim();
  const v4 = parseIpv4Word(t);
  if (v4 !== undefined) {
    out.fill(0);
    out[ADDRESS_WORDS - 1] = v4;
    return 4;
  }
  return parseIpv6Words(t, out) ? 6 : undefined;
}

/** Parse an address or throw SelectorError. */
export function addressWords(text: string): { family: IpFamily; words: Uint32Array } {
  const words = new Uint32Array(ADDRESS_WORDS);
  const family = parseAddress(text, words);
  if (family === undefined) throw new SelectorError(`not an IPv4 or IPv6 address: '${text}'`);
  return { family, words };
}

/** Compare two addresses held as 4 words each at the given word offsets: -1, 0, 1. */
export function compareWords(a: Uint32Array, aOff: number, b: Uint32Array, bOff: number): number {
  for (let i = 0; i < ADDRESS_WORDS; i++) {
    const x = a[aOff + i] ?? 0;
    const y = b[bOff + i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Bits in an address of the family. */
export function addressBits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/**
 * The range covered by `addr/len`. Host bits of `addr` are ignored (as `ip xfrm` and strongSwan do), so
 * 192.0.2.7/24 covers 192.0.2.0-192.0.2.255.
 */
export function prefixRange(family: IpFamily, addr: Uint32Array, prefixLength: number): AddressRange {
  const bits = addressBits(family);
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > bits) {
    throw new SelectorError(`prefix length ${prefixLength} out of 0..${bits}`);
  }
  const start = new Uint32Array(ADDRESS_WORDS);
  const end = new Uint32Array(ADDRESS_WORDS);
  // Bit index 0 is the most significant bit of the address; IPv4 lives in word 3.
  const firstBit = ADDRESS_WORDS * 32 - bits;
  for (let w = 0; w < ADDRESS_WORDS; w++) {
    const wordFirstBit = w * 32;
    // How many of this word's bits belong to the network part.
    const netBits = Math.min(32, Math.max(0, firstBit + prefixLength - wordFirstBit));
    const inAddr = wordFirstBit >= firstBit;
    const mask = netBits === 0 ? 0 : netBits === 32 ? 0xffffffff : (0xffffffff << (32 - netBits)) >>> 0;
    const a = addr[w] ?? 0;
    start[w] = (a & mask) >>> 0;
    end[w] = inAddr ? (start[w]! | (~mask >>> 0)) >>> 0 : 0;
  }
  return { family, start, end };
}

/**
 * Parse an address selector: `any4`/`any6` (or `0.0.0.0/0`, `::/0`), `addr`, `addr/len`, `start-end`.
 * Throws SelectorError with what was wrong.
 */
export function parseAddressRange(text: string): AddressRange {
  const t = text.trim();
  if (t === 'any4') return parseAddressRange('0.0.0.0/0');
  if (t === 'any6') return parseAddressRange('::/0');
  const dash = t.indexOf('-');
  if (dash >= 0) {
    const a = addressWords(t.slice(0, dash));
    const b = addressWords(t.slice(dash + 1));
    if (a.family !== b.family) throw new SelectorError(`range '${text}' mixes IPv4 and IPv6`);
    if (compareWords(a.words, 0, b.words, 0) > 0) throw new SelectorError(`range '${text}' ends before it starts`);
    return { family: a.family, start: a.words, end: b.words };
  }
  const slash = t.indexOf('/');
  if (slash >= 0) {
    const a = addressWords(t.slice(0, slash));
    const lenText = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText)) throw new SelectorError(`bad prefix length in '${text}'`);
    return prefixRange(a.family, a.words, Number(lenText));
  }
  const a = addressWords(t);
  return { family: a.family, start: a.words, end: new Uint32Array(a.words) };
}

/** True when the 4-word address at words[off] lies in the range (same family assumed by the caller). */
export function rangeContains(r: AddressRange, words: Uint32Array, off: number): boolean {
  return compareWords(r.start, 0, words, off) <= 0 && compareWords(words, off, r.end, 0) <= 0;
}

/** Text of a 4-word address, for logs and listings. */
export function formatWords(family: IpFamily, words: Uint32Array, off = 0): string {
  if (family === 4) {
    const w = words[off + ADDRESS_WORDS - 1] ?? 0;
    return `${w >>> 24}.${(w >>> 16) & 0xff}.${(w >>> 8) & 0xff}.${w & 0xff}`;
  }
  const g: number[] = [];
  for (let i = 0; i < ADDRESS_WORDS; i++) {
    const w = words[off + i] ?? 0;
    g.push(w >>> 16, w & 0xffff);
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Text of a range: the shortest of `addr`, `addr/len` or `start-end`. */
export function formatRange(r: AddressRange): string {
  const bits = addressBits(r.family);
  if (compareWords(r.start, 0, r.end, 0) === 0) return formatWords(r.family, r.start);
  for (let len = bits - 1; len >= 0; len--) {
    const p = prefixRange(r.family, r.start, len);
    const cs = compareWords(p.start, 0, r.start, 0);
    const ce = compareWords(p.end, 0, r.end, 0);
    if (cs === 0 && ce === 0) return `${formatWords(r.family, r.start)}/${len}`;
    if (cs !== 0 || ce > 0) break;
  }
  return `${formatWords(r.family, r.start)}-${formatWords(r.family, r.end)}`;
}

/** Copy 4 (IPv4) or 16 (IPv6) address bytes at buf[off] into words[wordOff..wordOff+4). */
export function loadAddressWords(
  family: IpFamily,
  buf: Uint8Array,
  off: number,
  words: Uint32Array,
  wordOff: number,
): void {
  if (family === 4) {
    words[wordOff] = 0;
    words[wordOff + 1] = 0;
    words[wordOff + 2] = 0;
    words[wordOff + 3] =
      (((buf[off] ?? 0) << 24) | ((buf[off + 1] ?? 0) << 16) | ((buf[off + 2] ?? 0) << 8) | (buf[off + 3] ?? 0)) >>> 0;
    return;
  }
  for (let i = 0; i < ADDRESS_WORDS; i++) {
    const o = off + 4 * i;
    words[wordOff + i] =
      (((buf[o] ?? 0) << 24) | ((buf[o + 1] ?? 0) << 16) | ((buf[o + 2] ?? 0) << 8) | (buf[o + 3] ?? 0)) >>> 0;
  }
}

/** Bytes of an address (4 or 16) from its words, e.g. to build an outer header. */
export function wordsToBytes(family: IpFamily, words: Uint32Array): Uint8Array {
  const n = family === 4 ? 1 : ADDRESS_WORDS;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const w = words[ADDRESS_WORDS - n + i] ?? 0;
    out[4 * i] = w >>> 24;
    out[4 * i + 1] = (w >>> 16) & 0xff;
    out[4 * i + 2] = (w >>> 8) & 0xff;
    out[4 * i + 3] = w & 0xff;
  }
  return out;
}
