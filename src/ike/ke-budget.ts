/**
 * A bound on the key exchange work unauthenticated peers can make the responder do: each IKE_SA_INIT that
 * reaches the key exchange costs its group's estimated milliseconds of CPU, taken from a budget that refills
 * at `limitMsPerSec` per second (a token bucket holding at most one second's worth). When the budget is
 * spent, requests are dropped (the initiator retransmits), so a flood of expensive MODP requests cannot hold
 * the event loop that also moves ESP.
 */
import { KeGroup } from '../crypto/ids.js';

/**
 * Rough cost of one responder key exchange (key pair plus shared secret), in milliseconds on one core of a
 * small server with OpenSSL; only the proportions matter. Groups not listed cost the most.
 */
export const KE_COST_MS: Readonly<Record<number, number>> = {
  [KeGroup.CURVE25519]: 1,
  [KeGroup.CURVE448]: 2,
  [KeGroup.ECP_256]: 1,
  [KeGroup.ECP_384]: 4,
  [KeGroup.ECP_521]: 9,
  [KeGroup.ECP_224]: 1,
  [KeGroup.ECP_192]: 1,
  [KeGroup.BRAINPOOL_P224]: 2,
  [KeGroup.BRAINPOOL_P256]: 2,
  [KeGroup.BRAINPOOL_P384]: 5,
  [KeGroup.BRAINPOOL_P512]: 9,
  [KeGroup.MODP_768]: 1,
  [KeGroup.MODP_1024]: 2,
  [KeGroup.MODP_1536]: 3,
  [KeGroup.MODP_2048]: 6,
  [KeGroup.MODP_1024_160]: 2,
  [KeGroup.MODP_2048_224]: 6,
  [KeGroup.MODP_2048_256]: 6,
  [KeGroup.MODP_3072]: 17,
  [KeGroup.MODP_4096]: 32,
  [KeGroup.MODP_6144]: 110,
  [KeGroup.MODP_8192]: 240,
};
const UNKNOWN_COST_MS = 240;

/** The cost of one key exchange with `group`. */
export function keCostMs(group: number): number {
  return KE_COST_MS[group] ?? UNKNOWN_COST_MS;
}

export class KeBudget {
  private readonly limitMsPerSec: number;
  private available: number;
  private lastMs: number | undefined;

  /** `limitMsPerSec` 0 turns the bound off. */
  constructor(limitMsPerSec: number) {
    this.limitMsPerSec = limitMsPerSec;
    this.available = limitMsPerSec;
  }

  /** Take the cost of one key exchange with `group`; false (nothing taken) when the budget is spent. */
  take(group: number, nowMs: number): boolean {
    if (this.limitMsPerSec <= 0) return true;
    if (this.lastMs !== undefined && nowMs > this.lastMs)
      this.available = Math.min(
        this.limitMsPerSec,
        this.available + ((nowMs - this.lastMs) * this.limitMsPerSec) / 1000,
      );
    if (this.lastMs === undefined || nowMs > this.lastMs) this.lastMs = nowMs;
    const cost = keCostMs(group);
    // One group dearer than the whole budget may still run once a second, when the budget is full.
    if (this.available < Math.min(cost, this.limitMsPerSec)) return false;
    this.available -= cost;
    return true;
  }
}
