/**
 * Traffic selectors (RFC 7296 3.13.1) and their negotiation (RFC 7296 2.9): intersection, subset checks
 * and narrowing of the initiator's TSi/TSr to what the responder's policy allows.
 *
 * Addresses are raw bytes (4 for IPv4, 16 for IPv6) compared big-endian; ports and protocol as numbers.
 */
import { formatIpAddress } from '../common/ip.js';
import { TsType } from './codec/constants.js';
import type { TrafficSelector } from './codec/types.js';

export type { TrafficSelector };

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipVersion(text: string): 0 | 4 | 6 {
  const m = IPV4.exec(text);
  if (m !== null) return m.slice(1).every((x) => Number(x) <= 255) ? 4 : 0;
  if (!text.includes(':') || text.split('::').length > 2) return 0;
  let s = text;
  let extra = 0;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    if (ipVersion(s.slice(lastColon + 1)) !== 4) return 0;
    s = s.slice(0, lastColon + 1) + '0';
    extra = 1;
  }
  const parts = s.split(':');
  const compressed = s.includes('::');
  const groups = parts.filter((g) => g !== '');
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return 0;
  const count = groups.length + extra;
  if (compressed ? count > 7 : count !== 8) return 0;
  if (!compressed && parts.length !== 8) return 0;
  return 6;
}

/** Parse a textual IPv4 or IPv6 address to bytes; undefined when not an address. */
export function parseAddress(text: string): Buffer | undefined {
  const v = ipVersion(text);
  if (v === 4) {
    return Buffer.from(text.split('.').map((x) => Number(x)));
  }
  if (v === 6) {
    let s = text;
    let tail: number[] = [];
    const lastColon = s.lastIndexOf(':');
    if (s.includes('.')) {
      const v4 = parseAddress(s.slice(lastColon + 1));
      if (v4 === undefined) return undefined;
      tail = Array.from(v4);
      s = s.slice(0, lastColon) + ':0:0';
    }
    const [head, rest] = s.includes('::') ? (s.split('::') as [string, string]) : [s, undefined];
    const h = head === '' ? [] : head.split(':');
    const r = rest === undefined || rest === '' ? [] : rest.split(':');
    const fill = rest === undefined ? 0 : 8 - h.length - r.length;
    const groups = [...h, ...new Array<string>(fill).fill('0'), ...r].map((g) => parseInt(g, 16));
    const out = Buffer.alloc(16);
    groups.forEach((g, i) => {
      out[i * 2] = g >> 8;
      out[i * 2 + 1] = g & 0xff;
    });
    if (tail.length === 4) out.set(tail, 12);
    return out;
  }
  return undefined;
}

/** Bytes to text (dotted quad or RFC 5952-ish compressed IPv6). */
export function formatAddress(a: Uint8Array): string {
  return formatIpAddress(a, 0, a.length);
}

/**
 * A selector from text: `192.0.2.0/24`, `2001:db8::/32`, `192.0.2.1`, `192.0.2.10-192.0.2.20`, with an
 * optional `[proto/port]` suffix like strongSwan (`192.0.2.0/24[tcp/80]`, `[udp]`, `[6/1000-2000]`).
 */
export function parseTrafficSelector(text: string): TrafficSelector {
  const m = /^([^[\]]+)(?:\[([^\]]*)\])?$/.exec(text.trim());
  if (m === null || m[1] === undefined) throw new Error(`bad traffic selector '${text}'`);
  const [start, end] = parseRange(m[1].trim(), text);
  let ipProtocol = 0;
  let startPort = 0;
  let endPort = 0xffff;
  if (m[2] !== undefined && m[2] !== '') {
    const [proto, port] = m[2].split('/') as [string, string | undefined];
    const names: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132, any: 0, '%any': 0 };
    const p = names[proto] ?? Number(proto);
    if (!Number.isInteger(p) || p < 0 || p > 255) throw new Error(`bad protocol in traffic selector '${text}'`);
    ipProtocol = p;
    if (port !== undefined && port !== '' && port !== '%any') {
      const [a, b] = port.split('-');
      startPort = Number(a);
      endPort = b === undefined ? startPort : Number(b);
      if (![startPort, endPort].every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffff) || startPort > endPort)
        throw new Error(`bad port range in traffic selector '${text}'`);
    }
  }
  return {
    tsType: start.length === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE,
    ipProtocol,
    startPort,
    endPort,
    startAddr: start,
    endAddr: end,
  };
}

function parseRange(s: string, text: string): [Buffer, Buffer] {
  if (s.includes('-')) {
    const [a, b] = s.split('-').map((x) => parseAddress(x.trim()));
    if (a === undefined || b === undefined || a.length !== b.length || compare(a, b) > 0)
      throw new Error(`bad address range in traffic selector '${text}'`);
    return [a, b];
  }
  const [addr, prefix] = s.split('/') as [string, string | undefined];
  const a = parseAddress(addr);
  if (a === undefined) throw new Error(`bad address in traffic selector '${text}'`);
  const bits = prefix === undefined ? a.length * 8 : Number(prefix);
  if (!Number.isInteger(bits) || bits < 0 || bits > a.length * 8) throw new Error(`bad prefix in '${text}'`);
  const start = Buffer.alloc(a.length);
  const end = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    start[i] = (a[i] ?? 0) & mask;
    end[i] = ((a[i] ?? 0) & mask) | (~mask & 0xff);
  }
  return [start, end];
}

/** A selector covering exactly one host address, all protocols and ports (strongSwan's `dynamic`). */
export function hostSelector(address: Buffer): TrafficSelector {
  return {
    tsType: address.length === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE,
    ipProtocol: 0,
    startPort: 0,
    endPort: 0xffff,
    startAddr: address,
    endAddr: address,
  };
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const maxBytes = (a: Buffer, b: Buffer): Buffer => (compare(a, b) >= 0 ? a : b);
const minBytes = (a: Buffer, b: Buffer): Buffer => (compare(a, b) <= 0 ? a : b);

/**
 * The intersection of two selectors, or undefined if they do not overlap. Protocol 0 matches any; an
 * OPAQUE port range (start 65535, end 0, RFC 7296 3.13.1) only intersects with "any port".
 */
export function intersectTs(a: TrafficSelector, b: TrafficSelector): TrafficSelector | undefined {
  if (a.tsType !== b.tsType) return undefined;
  if (a.ipProtocol !== 0 && b.ipProtocol !== 0 && a.ipProtocol !== b.ipProtocol) return undefined;
  const startAddr = maxBytes(a.startAddr, b.startAddr);
  const endAddr = minBytes(a.endAddr, b.endAddr);
  if (compare(startAddr, endAddr) > 0) return undefined;
  const startPort = Math.max(a.startPort, b.startPort);
  const endPort = Math.min(a.endPort, b.endPort);
  if (startPort > endPort) return undefined;
  return {
    tsType: a.tsType,
    ipProtocol: a.ipProtocol !== 0 ? a.ipProtocol : b.ipProtocol,
    startPort,
    endPort,
    startAddr,
    endAddr,
  };
}

/** Is `inner` contained in `outer`? */
export function tsIsSubset(inner: TrafficSelector, outer: TrafficSelector): boolean {
  const x = intersectTs(inner, outer);
  return x !== undefined && tsEqual(x, inner);
}

export function tsEqual(a: TrafficSelector, b: TrafficSelector): boolean {
  return (
    a.tsType === b.tsType &&
    a.ipProtocol === b.ipProtocol &&
    a.startPort === b.startPort &&
    a.endPort === b.endPort &&
    compare(a.startAddr, b.startAddr) === 0 &&
    compare(a.endAddr, b.endAddr) === 0
  );
}

/**
 * Responder narrowing (RFC 7296 2.9): every proposed selector intersected with every one our policy
 * allows, duplicates removed, in the proposer's order. Empty means TS_UNACCEPTABLE.
 */
export function narrowTs(proposed: readonly TrafficSelector[], allowed: readonly TrafficSelector[]): TrafficSelector[] {
  const out: TrafficSelector[] = [];
  for (const p of proposed) {
    for (const a of allowed) {
      const x = intersectTs(p, a);
      if (x !== undefined && !out.some((o) => tsEqual(o, x))) out.push(x);
    }
  }
  return out;
}

/**
 * Limits on what a peer may ask for (an authenticated peer could otherwise make the daemon install 255 x 255
 * policies): at most MAX_TS_PER_PAYLOAD selectors in one TSi or TSr payload, and at most MAX_TS_PAIRS
 * policy pairs (selectors of TSi times selectors of TSr) per CHILD_SA. Beyond either: TS_UNACCEPTABLE.
 */
export const MAX_TS_PER_PAYLOAD = 16;
export const MAX_TS_PAIRS = 64;

/** Why these selectors exceed the limits, or undefined when they do not. */
export function tsLimitViolation(tsI: readonly TrafficSelector[], tsR: readonly TrafficSelector[]): string | undefined {
  const most = Math.max(tsI.length, tsR.length);
  if (most > MAX_TS_PER_PAYLOAD)
    return `${most} traffic selectors in one payload, at most ${MAX_TS_PER_PAYLOAD} are accepted`;
  if (tsI.length * tsR.length > MAX_TS_PAIRS)
    return `${tsI.length} x ${tsR.length} traffic selector pairs, at most ${MAX_TS_PAIRS} per CHILD_SA are accepted`;
  return undefined;
}

/** Initiator check: each selector in the response lies within one we proposed (RFC 7296 2.9). */
export function tsListIsSubset(answer: readonly TrafficSelector[], proposed: readonly TrafficSelector[]): boolean {
  return answer.length > 0 && answer.every((t) => proposed.some((p) => tsIsSubset(t, p)));
}

/** `192.0.2.0/24`-like text for logs (`start-end` when not a prefix) with `[proto/ports]` when narrowed. */
/** The prefix length whose block is exactly start..end, or undefined when the range is no such block. */
export function prefixLengthOf(start: Uint8Array, end: Uint8Array): number | undefined {
  if (start.length !== end.length) return undefined;
  let i = 0;
  while (i < start.length && start[i] === end[i]) i++;
  let bits = i * 8;
  if (i < start.length) {
    const a = start[i] ?? 0;
    const b = end[i] ?? 0;
    const x = a ^ b;
    // The octet where they part: the host bits, 0 in start and 1 in end, must be a run of ones at the right.
    if ((x & (x + 1)) !== 0 || (a & x) !== 0 || (b & x) !== x) return undefined;
    bits += 8 - (32 - Math.clz32(x));
    for (i++; i < start.length; i++) if (start[i] !== 0 || end[i] !== 0xff) return undefined;
  }
  return bits;
}

export function formatTs(ts: TrafficSelector): string {
  const s = formatAddress(ts.startAddr);
  const bits = prefixLengthOf(ts.startAddr, ts.endAddr);
  const range = bits !== undefined ? `${s}/${bits}` : `${s}-${formatAddress(ts.endAddr)}`;
  const anyPort = ts.startPort === 0 && ts.endPort === 0xffff;
  if (ts.ipProtocol === 0 && anyPort) return range;
  const ports = anyPort ? '' : ts.startPort === ts.endPort ? `/${ts.startPort}` : `/${ts.startPort}-${ts.endPort}`;
  return `${range}[${ts.ipProtocol}${ports}]`;
}
