/**
 * Configuration attribute values (RFC 7296 3.15.1, 3.15.2; RFC 7651 P-CSCF), one table row per attribute type:
 * which lengths are valid and what the value means. The CP payload codec (payloads.ts) leaves values raw; this
 * interprets them after bounds checks, throwing ParseError for a length the table does not allow. An empty value
 * asks for the attribute (CFG_REQUEST) and decodes to a value without an address.
 */
import { ParseError } from '../../common/errors.js';
import { CpAttr } from './constants.js';
import type { CpAttribute } from './types.js';
import { formatAddress, parseAddress } from '../traffic-selectors.js';

const IPV4_LENGTH = 4;
const IPV6_LENGTH = 16;
/** INTERNAL_IP6_ADDRESS and INTERNAL_IP6_SUBNET: address then a one-byte prefix length. */
const IPV6_WITH_PREFIX_LENGTH = IPV6_LENGTH + 1;
/** INTERNAL_IP4_SUBNET: address then netmask. */
const IPV4_SUBNET_LENGTH = 2 * IPV4_LENGTH;
const ATTRIBUTE_TYPE_LENGTH = 2;

/** A configuration attribute, interpreted. */
export type ConfigAttribute =
  /** An address: INTERNAL_IP4_ADDRESS/NETMASK/DNS/NBNS/DHCP, INTERNAL_IP6_DNS/DHCP, P_CSCF_*; absent = request. */
  | { readonly kind: 'address'; readonly type: number; readonly address?: string }
  /** INTERNAL_IP6_ADDRESS: an address with its prefix length; absent = request. */
  | { readonly kind: 'address6'; readonly type: number; readonly address?: string; readonly prefix?: number }
  /** INTERNAL_IP4_SUBNET, INTERNAL_IP6_SUBNET: a CIDR subnet such as `203.0.113.0/24`; absent = request. */
  | { readonly kind: 'subnet'; readonly type: number; readonly subnet?: string }
  /** SUPPORTED_ATTRIBUTES: attribute types. */
  | { readonly kind: 'types'; readonly type: number; readonly types: readonly number[] }
  /** Anything else (APPLICATION_VERSION, private types): the bytes. */
  | { readonly kind: 'raw'; readonly type: number; readonly value: Buffer };

type Shape = 'ip4' | 'ip6' | 'ip6prefix' | 'subnet4' | 'subnet6' | 'types';

/** The value shape of each attribute type that has one (RFC 7296 3.15.1 table; RFC 7651 3). */
const SHAPES: Readonly<Record<number, Shape>> = {
  [CpAttr.INTERNAL_IP4_ADDRESS]: 'ip4',
  [CpAttr.INTERNAL_IP4_NETMASK]: 'ip4',
  [CpAttr.INTERNAL_IP4_DNS]: 'ip4',
  [CpAttr.INTERNAL_IP4_NBNS]: 'ip4',
  [CpAttr.INTERNAL_IP4_DHCP]: 'ip4',
  [CpAttr.INTERNAL_IP6_ADDRESS]: 'ip6prefix',
  [CpAttr.INTERNAL_IP6_DNS]: 'ip6',
  [CpAttr.INTERNAL_IP6_DHCP]: 'ip6',
  [CpAttr.INTERNAL_IP4_SUBNET]: 'subnet4',
  [CpAttr.SUPPORTED_ATTRIBUTES]: 'types',
  [CpAttr.INTERNAL_IP6_SUBNET]: 'subnet6',
  [CpAttr.P_CSCF_IP4_ADDRESS]: 'ip4',
  [CpAttr.P_CSCF_IP6_ADDRESS]: 'ip6',
};

/** Non-empty value lengths of each shape. */
const SHAPE_LENGTH: Readonly<Record<Exclude<Shape, 'types'>, number>> = {
  ip4: IPV4_LENGTH,
  ip6: IPV6_LENGTH,
  ip6prefix: IPV6_WITH_PREFIX_LENGTH,
  subnet4: IPV4_SUBNET_LENGTH,
  subnet6: IPV6_WITH_PREFIX_LENGTH,
};

function prefixOfMask(mask: Buffer, offset: number): number {
  let bits = 0;
  let ended = false;
  for (const byte of mask) {
    for (let b = 7; b >= 0; b--) {
      const set = (byte >> b) & 1;
      if (set === 1 && ended) throw new ParseError('INTERNAL_IP4_SUBNET: netmask is not contiguous', offset);
      if (set === 1) bits++;
      else ended = true;
    }
  }
  return bits;
}

/** Interpret one attribute; ParseError (offset relative to the value) when its length does not fit its type. */
export function decodeConfigAttribute(a: CpAttribute): ConfigAttribute {
  const shape = SHAPES[a.type];
  const v = a.value;
  if (shape === undefined) return { kind: 'raw', type: a.type, value: v };
  if (shape === 'types') {
    if (v.length % ATTRIBUTE_TYPE_LENGTH !== 0) throw new ParseError('SUPPORTED_ATTRIBUTES: odd length', 0);
    const types: number[] = [];
    for (let i = 0; i < v.length; i += ATTRIBUTE_TYPE_LENGTH) types.push(v.readUInt16BE(i) & 0x7fff);
    return { kind: 'types', type: a.type, types };
  }
  const want = SHAPE_LENGTH[shape];
  if (v.length !== 0 && v.length !== want)
    throw new ParseError(`configuration attribute ${a.type}: length ${v.length}, expected 0 or ${want}`, 0);
  switch (shape) {
    case 'ip4':
    case 'ip6':
      return v.length === 0
        ? { kind: 'address', type: a.type }
        : { kind: 'address', type: a.type, address: formatAddress(v) };
    case 'ip6prefix': {
      if (v.length === 0) return { kind: 'address6', type: a.type };
      const prefix = v[IPV6_LENGTH] ?? 0;
      if (prefix > 128) throw new ParseError('INTERNAL_IP6_ADDRESS: prefix length above 128', IPV6_LENGTH);
      return { kind: 'address6', type: a.type, address: formatAddress(v.subarray(0, IPV6_LENGTH)), prefix };
    }
    case 'subnet4':
      if (v.length === 0) return { kind: 'subnet', type: a.type };
      return {
        kind: 'subnet',
        type: a.type,
        subnet: `${formatAddress(v.subarray(0, IPV4_LENGTH))}/${prefixOfMask(v.subarray(IPV4_LENGTH), IPV4_LENGTH)}`,
      };
    case 'subnet6': {
      if (v.length === 0) return { kind: 'subnet', type: a.type };
      const prefix = v[IPV6_LENGTH] ?? 0;
      if (prefix > 128) throw new ParseError('INTERNAL_IP6_SUBNET: prefix length above 128', IPV6_LENGTH);
      return { kind: 'subnet', type: a.type, subnet: `${formatAddress(v.subarray(0, IPV6_LENGTH))}/${prefix}` };
    }
  }
}

/** Every attribute of a CP payload, interpreted. */
export function decodeConfigAttributes(attributes: readonly CpAttribute[]): ConfigAttribute[] {
  return attributes.map(decodeConfigAttribute);
}

function addressBytes(text: string, length: number, type: number): Buffer {
  const b = parseAddress(text);
  if (b === undefined || b.length !== length)
    throw new RangeError(`attribute ${type}: '${text}' is not an IPv${length === 4 ? 4 : 6} address`);
  return b;
}

function maskBytes(prefix: number): Buffer {
  const out = Buffer.alloc(IPV4_LENGTH);
  for (let i = 0; i < IPV4_LENGTH; i++) out[i] = (0xff << (8 - Math.max(0, Math.min(8, prefix - i * 8)))) & 0xff;
  return out;
}

/** The wire form of an attribute. Throws RangeError for a value that does not fit its type (a programming error). */
export function encodeConfigAttribute(c: ConfigAttribute): CpAttribute {
  const shape = SHAPES[c.type];
  switch (c.kind) {
    case 'raw':
      return { type: c.type, value: Buffer.from(c.value) };
    case 'types': {
      const value = Buffer.alloc(c.types.length * ATTRIBUTE_TYPE_LENGTH);
      c.types.forEach((t, i) => value.writeUInt16BE(t & 0x7fff, i * ATTRIBUTE_TYPE_LENGTH));
      return { type: c.type, value };
    }
    case 'address':
      if (c.address === undefined) return { type: c.type, value: Buffer.alloc(0) };
      return { type: c.type, value: addressBytes(c.address, shape === 'ip4' ? IPV4_LENGTH : IPV6_LENGTH, c.type) };
    case 'address6':
      if (c.address === undefined) return { type: c.type, value: Buffer.alloc(0) };
      return {
        type: c.type,
        value: Buffer.concat([addressBytes(c.address, IPV6_LENGTH, c.type), Buffer.from([c.prefix ?? 128])]),
      };
    case 'subnet': {
      if (c.subnet === undefined) return { type: c.type, value: Buffer.alloc(0) };
      const [addr = '', bits = ''] = c.subnet.split('/');
      const prefix = Number(bits);
      if (shape === 'subnet4') {
        if (!(prefix >= 0 && prefix <= 32)) throw new RangeError(`bad IPv4 subnet '${c.subnet}'`);
        return { type: c.type, value: Buffer.concat([addressBytes(addr, IPV4_LENGTH, c.type), maskBytes(prefix)]) };
      }
      if (!(prefix >= 0 && prefix <= 128)) throw new RangeError(`bad IPv6 subnet '${c.subnet}'`);
      return { type: c.type, value: Buffer.concat([addressBytes(addr, IPV6_LENGTH, c.type), Buffer.from([prefix])]) };
    }
  }
}
