/**
 * The last response of IKE_SAs that are gone (RFC 7296 2.1: a responder answers a retransmitted request from
 * its cache). When the peer deletes an IKE_SA we answer and forget the IKE_SA at once; if that answer is
 * lost, the peer retransmits its DELETE to an IKE_SA we no longer have. Keeping the answer for a while lets
 * the retransmission be answered as if the IKE_SA were still there, so the peer's DELETE completes instead
 * of timing out. Bounded in time and count; no timers (expiry is checked against the caller's nowMs).
 */
import type { CachedResponse } from './sa.js';

/** How long a closed IKE_SA's last response is kept: a peer gives up retransmitting within about a minute. */
export const CLOSED_RESPONSE_KEEP_MS = 90_000;
/** At most this many are kept (the oldest go first). */
export const CLOSED_RESPONSE_MAX = 1024;

interface Entry {
  readonly response: CachedResponse;
  /** Whether a request is authentic (the closed IKE_SA's SK check): only those are answered. */
  readonly authentic: (request: Buffer) => boolean;
  readonly untilMs: number;
}

export class ClosedSaResponses {
  /** By our SPI (hex); Map order is insertion order, so the oldest come first. */
  private readonly byOurSpi = new Map<string, Entry>();

  /** Keep `response`, the last one sent on the IKE_SA whose SPI (ours) is `ourSpiHex`. */
  remember(ourSpiHex: string, response: CachedResponse, authentic: (request: Buffer) => boolean, nowMs: number): void {
    this.expire(nowMs);
    this.byOurSpi.delete(ourSpiHex);
    this.byOurSpi.set(ourSpiHex, { response, authentic, untilMs: nowMs + CLOSED_RESPONSE_KEEP_MS });
    while (this.byOurSpi.size > CLOSED_RESPONSE_MAX) {
      const oldest = this.byOurSpi.keys().next();
      if (oldest.done === true) break;
      this.byOurSpi.delete(oldest.value);
    }
  }

  /** The packets answering `request` (Message ID `messageId`) if it retransmits a closed IKE_SA's last request. */
  answer(ourSpiHex: string, messageId: number, request: Buffer, nowMs: number): readonly Buffer[] | undefined {
    this.expire(nowMs);
    const e = this.byOurSpi.get(ourSpiHex);
    if (e === undefined || e.response.messageId !== messageId || !e.authentic(request)) return undefined;
    return e.response.packets;
  }

  get size(): number {
    return this.byOurSpi.size;
  }

  private expire(nowMs: number): void {
    for (const [k, e] of this.byOurSpi) {
      if (e.untilMs > nowMs) break; // later entries were added later
      this.byOurSpi.delete(k);
    }
  }
}
