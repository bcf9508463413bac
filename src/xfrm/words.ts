/**
 * Value syntax shared by the `ip xfrm` parser: numbers as iproute2 reads them (strtoul base 0: 0x hex,
 * leading-0 octal, decimal), addresses and prefixes, IP protocol names (the /etc/protocols names iproute2
 * prints), and KEY material (0x-hex, odd digit counts padded in front, or the bytes of the string).
 */
import { canonicalAddress, familyOf } from '../io/ip-address.js';
import type { IpFamily } from '../io/types.js';
import { XfrmError } from './xfrm-error.js';
import type { XfrmToken } from './tokenize.js';

const U32_MAX = 0xffff_ffff;

/** An unsigned number as strtoul(text, NULL, 0) reads it, or undefined. */
export function parseUnsigned(text: string, max: number): number | undefined {
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) v = Number.parseInt(text.slice(2), 16);
  else if (/^0[0-7]*$/.test(text)) v = text.length === 1 ? 0 : Number.parseInt(text.slice(1), 8);
  else if (/^[1-9][0-9]*$/.test(text)) v = Number(text);
  else return undefined;
  return Number.isSafeInteger(v) && v <= max ? v : undefined;
}

export function u32(tok: XfrmToken, argument: string, max = U32_MAX): number {
  const v = parseUnsigned(tok.text, max);
  if (v === undefined) {
    throw new XfrmError(
      argument,
      `'${tok.text}' is not a number in 0..${max}`,
      tok,
      'write it in decimal or as 0x-hex (a leading 0 means octal, as in iproute2)',
    );
  }
  return v;
}

export interface ParsedAddress {
  readonly text: string;
  readonly family: IpFamily;
}

/** A host address (state and template endpoints). */
export function address(tok: XfrmToken, argument: string): ParsedAddress {
  const family = familyOf(tok.text);
  const text = family === undefined ? undefined : canonicalAddress(tok.text, family);
  if (family === undefined || text === undefined) {
    throw new XfrmError(
      argument,
      `'${tok.text}' is not an IPv4 or IPv6 address`,
      tok,
      'write e.g. 192.0.2.1 or 2001:db8::1',
    );
  }
  return { text, family };
}

/** `addr[/len]`; without a length the full host length, as iproute2's get_prefix does. */
export function prefix(tok: XfrmToken, argument: string): ParsedAddress {
  const slash = tok.text.indexOf('/');
  const addrPart = slash < 0 ? tok.text : tok.text.slice(0, slash);
  const a = address({ ...tok, text: addrPart }, argument);
  const max = a.family === 4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const lenText = tok.text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
      throw new XfrmError(argument, `bad prefix length in '${tok.text}'`, tok, `use 0..${max}`);
    }
    len = Number(lenText);
  }
  return { text: `${a.text}/${len}`, family: a.family };
}

/** IP protocol names iproute2 reads and prints (getprotobyname/getprotobynumber on Debian's /etc/protocols). */
export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  icmp: 1,
  igmp: 2,
  ipencap: 4,
  tcp: 6,
  udp: 17,
  dccp: 33,
  ipv6: 41,
  gre: 47,
  esp: 50,
  ah: 51,
  'ipv6-icmp': 58,
  ospf: 89,
  l2tp: 115,
  sctp: 132,
  'mobility-header': 135,
};

export function protocolName(n: number): string {
  for (const [name, v] of Object.entries(PROTOCOL_NUMBERS)) if (v === n) return name;
  return String(n);
}

export function protocol(tok: XfrmToken, argument: string): number {
  const byName = PROTOCOL_NUMBERS[tok.text.toLowerCase()];
  if (byName !== undefined) return byName;
  const n = parseUnsigned(tok.text, 255);
  if (n === undefined) {
    throw new XfrmError(
      argument,
      `unknown protocol '${tok.text}'`,
      tok,
      `use a number 0..255 or one of ${Object.keys(PROTOCOL_NUMBERS).join(', ')}`,
    );
  }
  return n;
}

/** KEY as iproute2's xfrm_algo_parse reads it: `0x` + hex digits (odd count: a 0 in front), else the string's bytes. */
export function keyMaterial(tok: XfrmToken, argument: string): Uint8Array {
  const t = tok.text;
  if (t.length > 2 && t.startsWith('0x')) {
    const digits = t.slice(2);
    if (!/^[0-9a-fA-F]+$/.test(digits)) {
      throw new XfrmError(
        argument,
        `key '${t}' has characters that are not hex digits`,
        tok,
        'write the key as 0x followed by hex digits',
      );
    }
    return Buffer.from(digits.length % 2 === 1 ? `0${digits}` : digits, 'hex');
  }
  return Buffer.from(t, 'utf8');
}

export function hexKey(key: Uint8Array): string {
  return `0x${Buffer.from(key).toString('hex')}`;
}
