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
  /** The earliest deadline, kept so the daemon's every pump does not scan all IKE_SAs; null: to be computed. */
  #next: number | undefined | null = undefined;

  constructor(intervalMs = NAT_KEEPALIVE_INTERVAL_MS) {
    this.#intervalMs = intervalMs;
  }

  /** An IKE_SA came up; keepalives only when we are the side behind a NAT (and the interval is not 0). */
  established(ikeSaId: number, natLocal: boolean, from: Endpoint, to: Endpoint, nowMs: number): void {
    if (!natLocal || this.#intervalMs <= 0) return;
    const atMs = nowMs + this.#intervalMs;
    this.#byIkeSa.set(ikeSaId, { from, to, atMs });
    if (this.#next !== null && (this.#next === undefined || atMs < this.#next)) this.#next = atMs;
  }

  deleted(ikeSaId: number): void {
    const k = this.#byIkeSa.get(ikeSaId);
    if (k === undefined) return;
    this.#byIkeSa.delete(ikeSaId);
    if (k.atMs === this.#next) this.#next = null;
  }

  nextDeadlineMs(): number | undefined {
    if (this.#next !== null) return this.#next;
    let next: number | undefined;
    for (const k of this.#byIkeSa.values()) if (next === undefined || k.atMs < next) next = k.atMs;
    this.#next = next;
    return next;
  }

  /** The keepalives due at `nowMs`, each re-armed one interval later. */
  due(nowMs: number): { from: Endpoint; to: Endpoint }[] {
    const out: { from: Endpoint; to: Endpoint }[] = [];
    const next = this.nextDeadlineMs();
    if (next === undefined || next > nowMs) return out;
    this.#next = null;
    for (const k of this.#byIkeSa.values()) {
      if (k.atMs > nowMs) continue;
      out.push({ from: k.from, to: k.to });
      k.atMs = nowMs + this.#intervalMs;
    }
    return out;
  }
}
