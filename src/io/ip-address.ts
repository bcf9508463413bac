/**
 * IPv4 and IPv6 addresses as bytes in batch address slots (network byte order), and their text forms
 * (IPv6 formatted per RFC 5952 section 4 by `formatIpAddress` of src/common/ip.ts). Parsing and formatting are for set-up and the IKE path; the
 * data plane compares bytes.
 */
import { formatIpAddress } from '../common/ip.js';
import { ADDRESS_SLOT_BYTES, type IpFamily } from './types.js';

export const IPV4_ADDRESS_BYTES = 4;
export const IPV6_ADDRESS_BYTES = 16;

/** Family of a textual address, or undefined when it is neither. */
export function familyOf(text: string): IpFamily | undefined {
  if (parseIpv4(text, new Uint8Array(4), 0)) return 4;
  if (parseIpv6(text, new Uint8Array(16), 0)) return 6;
  return undefined;
}

/** Write `text` into `out` at `offset` (4 or 16 bytes by family). Returns false when it does not parse. */
export function writeAddress(text: string, family: IpFamily, out: Uint8Array, offset: number): boolean {
  return family === 4 ? parseIpv4(text, out, offset) : parseIpv6(text, out, offset);
}

/** Write `text` into address slot `slot` of a batch address table, zero-filling the rest of the slot. */
export function writeAddressSlot(text: string, family: IpFamily, table: Uint8Array, slot: number): boolean {
  const off = slot * ADDRESS_SLOT_BYTES;
  table.fill(0, off, off + ADDRESS_SLOT_BYTES);
  return writeAddress(text, family, table, off);
}

/** Text of the address in slot `slot` of a batch address table. */
export function readAddressSlot(table: Uint8Array, slot: number, family: IpFamily): string {
  return formatAddress(table, slot * ADDRESS_SLOT_BYTES, family);
}

export function formatAddress(bytes: Uint8Array, offset: number, family: IpFamily): string {
  return formatIpAddress(bytes, offset, family === 4 ? IPV4_ADDRESS_BYTES : IPV6_ADDRESS_BYTES);
}

function parseIpv4(text: string, out: Uint8Array, offset: number): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? '';
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return false;
    const v = Number(p);
    if (v > 255) return false;
    out[offset + i] = v;
  }
  return true;
}

function parseIpv6(text: string, out: Uint8Array, offset: number): boolean {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : (halves[1] ?? '').split(':')) : [];
  const groups: number[] = [];
  const pushGroups = (list: string[], into: number[]): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i] ?? '';
      if (i === list.length - 1 && g.includes('.')) {
        const v4 = new Uint8Array(4);
        if (!parseIpv4(g, v4, 0)) return false;
        into.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      into.push(parseInt(g, 16));
    }
    return true;
  };
  const tailGroups: number[] = [];
  if (!pushGroups(head, groups) || !pushGroups(tail, tailGroups)) return false;
  if (halves.length === 2) {
    const missing = 8 - groups.length - tailGroups.length;
    if (missing < 1) return false;
    for (let i = 0; i < missing; i++) groups.push(0);
  }
  groups.push(...tailGroups);
  if (groups.length !== 8) return false;
  for (let i = 0; i < 8; i++) {
    const g = groups[i] ?? 0;
    out[offset + 2 * i] = g >> 8;
    out[offset + 2 * i + 1] = g & 0xff;
  }
  return true;
}

/** The canonical text of an address (RFC 5952 for IPv6), or undefined when it does not parse as `family`. */
export function canonicalAddress(text: string, family: IpFamily): string | undefined {
  const bytes = new Uint8Array(IPV6_ADDRESS_BYTES);
  return writeAddress(text, family, bytes, 0) ? formatAddress(bytes, 0, family) : undefined;
}
