/**
 * Data-plane drop reasons (STYLE.md: per-packet failures never throw; they return a reason that is counted
 * and shown by `tsipsec sas --json`). Shared by ESP, AH and the data plane.
 */

/** Every reason a packet can be dropped, in the order counters are shown. */
export const DROP_REASONS = [
  /** Shorter than the headers, IV, ICV or trailer it must carry. */
  'short',
  /** No SA for the SPI (or the SA was deleted). */
  'noSa',
  /** Sequence number outside the window or already seen (RFC 4303 3.4.3), or 0. */
  'replay',
  /** Integrity check value did not verify (RFC 4303 3.4.4). */
  'icv',
  /** Self-describing padding not 1, 2, 3, ... or pad length past the payload (RFC 4303 2.4). */
  'padding',
  /** Inner packet does not match the SA's traffic selectors / policy (RFC 4301 5.2). */
  'policy',
  /** Bytes that are not what the header says: bad IP header, wrong next header, bad lengths. */
  'malformed',
  /** Dummy packet, next header 59 (RFC 4303 2.6): dropped silently but counted. */
  'dummy',
  /** Outbound: the sequence number would wrap (RFC 4303 3.3.3); the SA must be rekeyed. */
  'seqExhausted',
  /** Outbound: the packet does not fit the buffer's room (headroom, tailroom or MTU). */
  'tooBig',
  /** Tunnel mode: the outer header says CE (congestion) but the inner packet is Not-ECT (RFC 6040 4.2). */
  'ecn',
  /** Anything unexpected caught at the per-packet boundary (a bug, never bad input). */
  'internal',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

/** One counter per reason. */
export type DropCounters = Record<DropReason, number>;

export function newDropCounters(): DropCounters {
  const c = {} as DropCounters;
  for (const r of DROP_REASONS) c[r] = 0;
  return c;
}

/** Bump the counter for `reason` and return the reason (so callers can `return countDrop(c, 'icv')`). */
export function countDrop<R extends DropReason>(counters: DropCounters, reason: R): R {
  counters[reason]++;
  return reason;
}

/** Sum of all counters. */
export function totalDrops(counters: Readonly<DropCounters>): number {
  let n = 0;
  for (const r of DROP_REASONS) n += counters[r];
  return n;
}
