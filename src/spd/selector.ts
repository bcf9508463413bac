/**
 * RFC 4301 4.4.1.1 selectors, compiled for the packet path.
 *
 * One selector is one pair of (local, remote) address ranges, a next-layer protocol and a port selector per
 * side, the shape of one IKEv2 TSi/TSr pair (RFC 7296 3.13.1) seen from this host. Values follow RFC 4301:
 *
 * - ANY matches every value, and also packets where the field is absent or OPAQUE.
 * - OPAQUE matches only packets where the field is not available: protocols without ports, non-initial
 *   fragments, packets too short. Written like IKEv2 writes it: start port 65535, end port 0.
 * - ICMP/ICMPv6 and MH have no ports: RFC 4301 4.4.1.1 makes the 16-bit value type << 8 | code the selector.
 *   Here it is matched against the *local* port selector, and the remote port selector must be ANY or OPAQUE.
 *   `icmp: { type, code }` is a convenience that fills the local port range.
 *
 * "Local" is the source of an outbound packet and the destination of an inbound or forwarded one.
 */

import { ADDRESS_WORDS, SelectorError, compareWords, formatRange, parseAddressRange } from './address.js';
import type { AddressRange, IpFamily } from './address.js';
import { FlowProto, PortKind } from './flow.js';
import type { FlowKey } from './flow.js';

/** 0 is ANY in IKEv2's IP Protocol ID and in SPD listings. */
export const PROTOCOL_ANY = 0;
export const PORT_MAX = 0xffff;

/** A port (or ICMP type/code) selector as written in configuration or produced by IKE. */
export type PortSelectorInput = 'any' | 'opaque' | number | { readonly start: number; readonly end: number };

/** One selector pair as the control plane hands it over. Addresses: `any4`, `a`, `a/len`, `a-b`. */
export interface SelectorInput {
  readonly local: string;
  readonly remote: string;
  /** IANA protocol number or 'any' (default). */
  readonly protocol?: number | 'any';
  readonly localPort?: PortSelectorInput;
  readonly remotePort?: PortSelectorInput;
  /** ICMP/ICMPv6 convenience: fills localPort with type << 8 | code (code 'any' spans the 256 codes). */
  readonly icmp?: { readonly type: number; readonly code?: number | 'any' };
}

/** How a compiled port selector matches. */
export const PortMatch = { ANY: 0, OPAQUE: 1, RANGE: 2 } as const;
export type PortMatch = (typeof PortMatch)[keyof typeof PortMatch];

// Word offsets of the four address bounds inside CompiledSelector.addr.
const LOCAL_START = 0;
const LOCAL_END = ADDRESS_WORDS;
const REMOTE_START = 2 * ADDRESS_WORDS;
const REMOTE_END = 3 * ADDRESS_WORDS;
/** Index of the word that holds an IPv4 address. */
const IPV4_WORD = ADDRESS_WORDS - 1;

function compilePort(p: PortSelectorInput | undefined, what: string): { kind: PortMatch; start: number; end: number } {
  if (p === undefined || p === 'any') return { kind: PortMatch.ANY, start: 0, end: PORT_MAX };
  if (p === 'opaque') return { kind: PortMatch.OPAQUE, start: PORT_MAX, end: 0 };
  const start = typeof p === 'number' ? p : p.start;
  const end = typeof p === 'number' ? p : p.end;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > PORT_MAX || start > PORT_MAX) {
    throw new SelectorError(`${what} port selector out of 0..65535`);
  }
  // RFC 7296 3.13.1: start 65535, end 0 is how IKEv2 encodes OPAQUE.
  if (start === PORT_MAX && end === 0) return { kind: PortMatch.OPAQUE, start, end };
  if (start > end) throw new SelectorError(`${what} port range ${start}-${end} ends before it starts`);
  if (start === 0 && end === PORT_MAX) return { kind: PortMatch.ANY, start, end };
  return { kind: PortMatch.RANGE, start, end };
}

function isTypeCodeProtocol(p: number): boolean {
  return p === FlowProto.ICMP || p === FlowProto.ICMPV6 || p === FlowProto.MOBILITY;
}

/** Leading bits shared by start and end: the prefix-length equivalent of a range. */
function fixedBits(r: AddressRange): number {
  let bits = 0;
  const skip = r.family === 4 ? ADDRESS_WORDS - 1 : 0;
  for (let w = skip; w < ADDRESS_WORDS; w++) {
    const x = ((r.start[w] ?? 0) ^ (r.end[w] ?? 0)) >>> 0;
    if (x === 0) {
      bits += 32;
      continue;
    }
    return bits + Math.clz32(x);
  }
  return bits;
}

/** A selector ready for the packet path. Immutable once built. */
export class CompiledSelector {
  readonly family: IpFamily;
  /** localStart, localEnd, remoteStart, remoteEnd: 4 words each. */
  readonly addr = new Uint32Array(4 * ADDRESS_WORDS);
  readonly protocol: number;
  readonly localPortKind: PortMatch;
  readonly localPortStart: number;
  readonly localPortEnd: number;
  readonly remotePortKind: PortMatch;
  readonly remotePortStart: number;
  readonly remotePortEnd: number;
  readonly local: AddressRange;
  readonly remote: AddressRange;

  constructor(input: SelectorInput) {
    this.local = parseAddressRange(input.local);
    this.remote = parseAddressRange(input.remote);
    if (this.local.family !== this.remote.family) {
      throw new SelectorError(`selector mixes IPv${this.local.family} and IPv${this.remote.family} addresses`);
    }
    this.family = this.local.family;
    this.addr.set(this.local.start, LOCAL_START);
    this.addr.set(this.local.end, LOCAL_END);
    this.addr.set(this.remote.start, REMOTE_START);
    this.addr.set(this.remote.end, REMOTE_END);
    const proto = input.protocol === undefined || input.protocol === 'any' ? PROTOCOL_ANY : input.protocol;
    if (!Number.isInteger(proto) || proto < 0 || proto > 255)
      throw new SelectorError(`protocol ${proto} out of 0..255`);
    this.protocol = proto;
    let localPort = input.localPort;
    if (input.icmp !== undefined) {
      if (!isTypeCodeProtocol(proto)) throw new SelectorError('icmp type/code given for a protocol other than ICMP');
      if (localPort !== undefined) throw new SelectorError('give either icmp or localPort, not both');
      const { type, code } = input.icmp;
      if (!Number.isInteger(type) || type < 0 || type > 255) throw new SelectorError(`ICMP type ${type} out of 0..255`);
      if (code === undefined || code === 'any') localPort = { start: type << 8, end: (type << 8) | 0xff };
      else if (!Number.isInteger(code) || code < 0 || code > 255)
        throw new SelectorError(`ICMP code ${code} out of 0..255`);
      else localPort = (type << 8) | code;
    }
    const lp = compilePort(localPort, 'local');
    const rp = compilePort(input.remotePort, 'remote');
    if (proto === PROTOCOL_ANY && (lp.kind !== PortMatch.ANY || rp.kind !== PortMatch.ANY)) {
      throw new SelectorError('port selectors need a protocol (RFC 4301 4.4.1.1)');
    }
    this.localPortKind = lp.kind;
    this.localPortStart = lp.start;
    this.localPortEnd = lp.end;
    this.remotePortKind = rp.kind;
    this.remotePortStart = rp.start;
    this.remotePortEnd = rp.end;
  }

  /**
   * Does the packet match, seen in a direction? `inbound` is true for in and fwd policies and for the
   * inbound SA check (local is then the packet's destination). Allocation-free.
   */
  matches(key: FlowKey, inbound: boolean): boolean {
    if (key.family !== this.family) return false;
    if (this.protocol !== PROTOCOL_ANY && this.protocol !== key.protocol) return false;
    const local = inbound ? key.dst : key.src;
    const remote = inbound ? key.src : key.dst;
    const a = this.addr;
    if (this.family === 4) {
      // IPv4 lives in the last word: one comparison per bound.
      const l = local[IPV4_WORD]!;
      const r = remote[IPV4_WORD]!;
      if (l < a[LOCAL_START + IPV4_WORD]! || l > a[LOCAL_END + IPV4_WORD]!) return false;
      if (r < a[REMOTE_START + IPV4_WORD]! || r > a[REMOTE_END + IPV4_WORD]!) return false;
    } else {
      if (compareWords(a, LOCAL_START, local, 0) > 0 || compareWords(local, 0, a, LOCAL_END) > 0) return false;
      if (compareWords(a, REMOTE_START, remote, 0) > 0 || compareWords(remote, 0, a, REMOTE_END) > 0) return false;
    }
    if (this.protocol === PROTOCOL_ANY) return true;
    const kind = key.portKind;
    if (kind === PortKind.PORTS) {
      return (
        portMatches(this.localPortKind, this.localPortStart, this.localPortEnd, inbound ? key.dstPort : key.srcPort) &&
        portMatches(this.remotePortKind, this.remotePortStart, this.remotePortEnd, inbound ? key.srcPort : key.dstPort)
      );
    }
    if (kind === PortKind.TYPE_CODE) {
      return (
        portMatches(this.localPortKind, this.localPortStart, this.localPortEnd, key.typeCode) &&
        this.remotePortKind !== PortMatch.RANGE
      );
    }
    return this.localPortKind !== PortMatch.RANGE && this.remotePortKind !== PortMatch.RANGE;
  }

  /** Leading fixed bits of both address ranges plus protocol and port specificity (for default priorities). */
  specificity(): number {
    return (
      (fixedBits(this.local) + fixedBits(this.remote)) * 4 +
      (this.protocol !== PROTOCOL_ANY ? 2 : 0) +
      (this.localPortKind !== PortMatch.ANY ? 1 : 0) +
      (this.remotePortKind !== PortMatch.ANY ? 1 : 0)
    );
  }

  /** `192.0.2.0/24[udp/500] === 198.51.100.0/24[udp/any]`-style text for logs (strongSwan's notation). */
  toString(): string {
    return `${formatSide(this.local, this.protocol, this.localPortKind, this.localPortStart, this.localPortEnd)} === ${formatSide(this.remote, this.protocol, this.remotePortKind, this.remotePortStart, this.remotePortEnd)}`;
  }

  /** Plain data for `--json` listings. */
  toJSON(): Record<string, unknown> {
    return {
      local: formatRange(this.local),
      remote: formatRange(this.remote),
      protocol: this.protocol === PROTOCOL_ANY ? 'any' : this.protocol,
      localPort: portJson(this.localPortKind, this.localPortStart, this.localPortEnd),
      remotePort: portJson(this.remotePortKind, this.remotePortStart, this.remotePortEnd),
    };
  }
}

function portMatches(kind: PortMatch, start: number, end: number, value: number): boolean {
  if (kind === PortMatch.ANY) return true;
  if (kind === PortMatch.OPAQUE) return false;
  return value >= start && value <= end;
}

function portText(kind: PortMatch, start: number, end: number): string {
  if (kind === PortMatch.ANY) return 'any';
  if (kind === PortMatch.OPAQUE) return 'opaque';
  return start === end ? `${start}` : `${start}-${end}`;
}

function portJson(kind: PortMatch, start: number, end: number): unknown {
  if (kind === PortMatch.RANGE) return { start, end };
  return kind === PortMatch.ANY ? 'any' : 'opaque';
}

function formatSide(r: AddressRange, proto: number, kind: PortMatch, start: number, end: number): string {
  const a = formatRange(r);
  if (proto === PROTOCOL_ANY) return a;
  return `${a}[${proto}/${portText(kind, start, end)}]`;
}

/** Compile a selector or throw SelectorError. */
export function compileSelector(input: SelectorInput): CompiledSelector {
  return new CompiledSelector(input);
}

/** True if some selector in the list matches (the SA's selector set, RFC 4301 5.2 step 4). */
export function anySelectorMatches(list: readonly CompiledSelector[], key: FlowKey, inbound: boolean): boolean {
  for (let i = 0; i < list.length; i++) if (list[i]!.matches(key, inbound)) return true;
  return false;
}

/** Address equality helper used by tests and listings. */
export function sameRange(a: AddressRange, b: AddressRange): boolean {
  return a.family === b.family && compareWords(a.start, 0, b.start, 0) === 0 && compareWords(a.end, 0, b.end, 0) === 0;
}
