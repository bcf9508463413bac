/**
 * A bound on the key exchange work unauthenticated peers can make the responder do: each IKE_SA_INIT that
 * reaches the key exchange costs its group's estimated milliseconds of CPU, taken from a budget that refills
 * at `limitMsPerSec` per second (a token bucket holding at most one second's worth). When the budget is
 * spent, requests are dropped (the initiator retransmits), so a flood of expensive MODP requests cannot hold
 * the event loop that also moves ESP.
 */
import { KeGroup } from '../crypto/ids.js';

/**
 * Cost of one responder key exchange (key pair plus shared secret) in microseconds of CPU, as measured on one
 * core of this project's 2-core bench machine with the node:crypto backend (Node 20, OpenSSL 3), rounded up
 * (`node dist/bench/ike.js` prints both). Only the proportions matter for the bound; each
 * estimate is at least the measured cost, so the budget never lets more CPU go to key exchanges than it says.
 */
export const KE_COST_US: Readonly<Record<number, number>> = {
  [KeGroup.CURVE25519]: 200, // measured 0.15-0.17 ms (0.83 ms before keys were imported as raw values)
  [KeGroup.CURVE448]: 600,
  [KeGroup.ECP_256]: 250,
  [KeGroup.ECP_384]: 4_500,
  [KeGroup.ECP_521]: 10_000,
  [KeGroup.ECP_224]: 2_000,
  [KeGroup.ECP_192]: 1_500,
  [KeGroup.BRAINPOOL_P224]: 2_000,
  [KeGroup.BRAINPOOL_P256]: 2_000,
  [KeGroup.BRAINPOOL_P384]: 5_000,
  [KeGroup.BRAINPOOL_P512]: 9_000,
  [KeGroup.MODP_768]: 1_000,
  [KeGroup.MODP_1024]: 2_000,
  [KeGroup.MODP_1536]: 3_000,
  [KeGroup.MODP_2048]: 6_500,
  [KeGroup.MODP_1024_160]: 2_000,
  [KeGroup.MODP_2048_224]: 6_500,
  [KeGroup.MODP_2048_256]: 6_500,
  [KeGroup.MODP_3072]: 18_000,
  [KeGroup.MODP_4096]: 42_000,
  [KeGroup.MODP_6144]: 125_000,
  [KeGroup.MODP_8192]: 300_000,
};
const UNKNOWN_COST_US = 300_000;

/** The cost of one key exchange with `group`, in milliseconds. */
export function keCostMs(group: number): number {
  return (KE_COST_US[group] ?? UNKNOWN_COST_US) / 1000;
}

export class KeBudget {
  /** In microseconds (whole numbers, so that costs add up exactly). */
  private readonly limitUsPerSec: number;
  private available: number;
  private lastMs: number | undefined;

  /** `limitMsPerSec` 0 turns the bound off. */
  constructor(limitMsPerSec: number) {
    this.limitUsPerSec = Math.round(limitMsPerSec * 1000);
    this.available = this.limitUsPerSec;
  }

  /** Take the cost of one key exchange with `group`; false (nothing taken) when the budget is spent. */
  take(group: number, nowMs: number): boolean {
    if (this.limitUsPerSec <= 0) return true;
    if (this.lastMs !== undefined && nowMs > this.lastMs)
      this.available = Math.min(
        this.limitUsPerSec,
        this.available + Math.floor(((nowMs - this.lastMs) * this.limitUsPerSec) / 1000),
      );
    if (this.lastMs === undefined || nowMs > this.lastMs) this.lastMs = nowMs;
    const cost = KE_COST_US[group] ?? UNKNOWN_COST_US;
    // One group dearer than the whole budget may still run once a second, when the budget is full.
    if (this.available < Math.min(cost, this.limitUsPerSec)) return false;
    this.available -= cost;
    return true;
  }
}
