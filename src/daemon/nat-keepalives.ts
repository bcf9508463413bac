/**
 * NAT-keepalives (RFC 3948 2.3): while we are behind a NAT, a one-byte 0xFF datagram to the peer's NAT-T
 * port every interval keeps the NAT's mapping alive between packets. Sans-I/O: IKE_SAs in and out,
 * `nextDeadlineMs()`, and `due(nowMs)` handing out what to send.
 */
import type { Endpoint } from '../ike/events.js';

/** strongSwan's default (charon.keep_alive). */
export const NAT_KEEPALIVE_INTERVAL_MS = 20_000;

interface Keepalive {
  readonly from: Endpoint;
  readonly to: Endpoint;
  atMs: number;
}

export class NatKeepalives {
  readonly #byIkeSa = new Map<number, Keepalive>();
  readonly #intervalMs: number;

  constructor(intervalMs = NAT_KEEPALIVE_INTERVAL_MS) {
    this.#intervalMs = intervalMs;
  }

  /** An IKE_SA came up; keepalives only when we are the side behind a NAT (and the interval is not 0). */
  established(ikeSaId: number, natLocal: boolean, from: Endpoint, to: Endpoint, nowMs: number): void {
    if (natLocal && this.#intervalMs > 0) this.#byIkeSa.set(ikeSaId, { from, to, atMs: nowMs + this.#intervalMs });
  }

  deleted(ikeSaId: number): void {
    this.#byIkeSa.delete(ikeSaId);
  }

  nextDeadlineMs(): number | undefined {
    let next: number | undefined;
    for (const k of this.#byIkeSa.values()) if (next === undefined || k.atMs < next) next = k.atMs;
    return next;
  }

  /** The keepalives due at `nowMs`, each re-armed one interval later. */
  due(nowMs: number): { from: Endpoint; to: Endpoint }[] {
    const out: { from: Endpoint; to: Endpoint }[] = [];
    for (const k of this.#byIkeSa.values()) {
      if (k.atMs > nowMs) continue;
      out.push({ from: k.from, to: k.to });
      k.atMs = nowMs + this.#intervalMs;
    }
    return out;
  }
}
