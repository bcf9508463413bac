/**
 * Address ranges (as IKEv2 traffic selectors carry them) to the CIDR prefixes a routing table needs.
 */
import { formatIpAddress } from '../common/ip.js';

function formatAddress(a: Uint8Array): string {
  return formatIpAddress(a, 0, a.length);
}

function toBigInt(a: Uint8Array): bigint {
  let v = 0n;
  for (const b of a) v = (v << 8n) | BigInt(b);
  return v;
}

function fromBigInt(v: bigint, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * The smallest list of prefixes that exactly covers start..end (inclusive, same family): every one of them,
 * never a part (a range needs at most 2 x bits - 2 prefixes: 62 for IPv4, 254 for IPv6; the selector caps
 * bound how many ranges a CHILD_SA has).
 */
export function rangeToPrefixes(start: Uint8Array, end: Uint8Array): string[] {
  if (start.length !== end.length) return [];
  const bits = BigInt(start.length * 8);
  let lo = toBigInt(start);
  const hi = toBigInt(end);
  const out: string[] = [];
  while (lo <= hi) {
    // Largest block aligned at lo that does not pass hi.
    let size = 0n;
    while (size < bits) {
      const next = size + 1n;
      const mask = (1n << next) - 1n;
      if ((lo & mask) !== 0n || lo + mask > hi) break;
      size = next;
    }
    out.push(`${formatAddress(fromBigInt(lo, start.length))}/${bits - size}`);
    lo += 1n << size;
  }
  return out;
}
