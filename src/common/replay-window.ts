/**
 * Anti-replay window for ESP (RFC 4303 3.4.3) and AH (RFC 4302 3.4.3): a ring of 32-bit bitmap blocks in
 * the style of RFC 6479, so advancing the window clears whole blocks instead of shifting bits.
 *
 * Use in two steps, per STYLE.md "check, authenticate, commit":
 *   const seq = win.check(seqLow);       // before decryption; a number (the full sequence number) or 'replay'
 *   ... verify the ICV using seq's high 32 bits when ESN is on ...
 *   win.commit(seq);                      // only after the ICV verified
 *
 * Extended sequence numbers (RFC 4303 2.2.1, Appendix A): only the low 32 bits travel; `check` infers the
 * high 32 bits from the window position (Appendix A2.2).
 *
 * Two forms of the same operations:
 * - `check(seqLow) -> number | 'replay'` and `commit(seq)`: the full sequence number as one JS number, exact
 *   up to 2^53 - 1 (a sender starting at 1 needs decades to get there); beyond, `check` answers 'replay'.
 * - `checkParts(seqLow) -> boolean` (the inferred high half is left in `checkedHigh`) and
 *   `commitParts(high, low)`: the whole 64-bit space, no allocation.
 */

import type { DropReason } from './drop.js';

/** Largest configurable window (bits). RFC 4303 asks for 32 by default and 64 recommended; we allow far more. */
export const REPLAY_WINDOW_MAX = 1 << 20;
/** Default window size when none is configured (strongSwan's default replay_window is 32; Linux uses 32..4096). */
export const REPLAY_WINDOW_DEFAULT = 128;

const BLOCK_BITS = 32;
const BLOCK_SHIFT = 5;
const TWO_32 = 0x1_0000_0000;
/** High halves below this make full sequence numbers that fit a JS number exactly (2^53). */
const SAFE_HIGH_LIMIT = 0x20_0000;
/** With the window off, ESN high bits are inferred as the epoch nearest to the highest number seen. */
const HALF_SPACE = 0x8000_0000;

export interface ReplayWindowOptions {
  /** Window size in packets; 0 turns replay protection off (RFC 4303 3.4.3 allows the receiver to disable it). */
  size: number;
  /** Extended (64-bit) sequence numbers negotiated. */
  esn: boolean;
  /**
   * Highest sequence number already received, as a 64-bit value (default 0: nothing yet). Only
   * known-answer tests that start in the middle of the sequence space set it.
   */
  initialHighest?: bigint;
}

export class ReplayWindow {
  /** Window size in packets (0 = off). */
  readonly size: number;
  readonly esn: boolean;
  /** After a successful `checkParts`: the inferred high 32 bits (0 without ESN). */
  checkedHigh = 0;
  /** Ring of bitmap blocks; length is a power of two holding at least size + 32 bits. */
  private readonly blocks: Uint32Array;
  private readonly blockMask: number;
  /** Highest sequence number committed so far, as two 32-bit halves ((0, 0) = none). */
  private topHigh = 0;
  private topLow = 0;
  /** Window used for ESN inference (RFC 4303 Appendix A2.2). */
  private readonly inferWindow: number;

  constructor(opts: ReplayWindowOptions) {
    const size = Math.floor(opts.size);
    if (!(size >= 0 && size <= REPLAY_WINDOW_MAX)) {
      throw new RangeError(`replay window size ${opts.size} out of range 0..${REPLAY_WINDOW_MAX}`);
    }
    this.size = size;
    this.esn = opts.esn;
    let n = 1;
    while (n * BLOCK_BITS < size + BLOCK_BITS) n <<= 1;
    this.blocks = new Uint32Array(size === 0 ? 1 : n);
    this.blockMask = this.blocks.length - 1;
    this.inferWindow = size === 0 ? HALF_SPACE : size;
    const init = opts.initialHighest ?? 0n;
    if (init < 0n || init >= (this.esn ? 1n << 64n : 1n << 32n)) throw new RangeError('initialHighest out of range');
    this.topHigh = Number(init >> 32n);
    this.topLow = Number(init & 0xffff_ffffn);
    // The starting number counts as received.
    if (init > 0n && size > 0) {
      this.blocks[(this.topLow >>> BLOCK_SHIFT) & this.blockMask] = 1 << (this.topLow & (BLOCK_BITS - 1));
    }
  }

  /** Highest authenticated sequence number so far (exact below 2^53), 0 if none. */
  get highest(): number {
    return this.topHigh * TWO_32 + this.topLow;
  }

  /** The same as a bigint, exact over the whole 64-bit space. */
  get highestBig(): bigint {
    return (BigInt(this.topHigh) << 32n) | BigInt(this.topLow);
  }

  /**
   * Check a received sequence number (the low 32 bits carried in the header) before decrypting. Returns the
   * full sequence number (a positive integer) to use for the ICV and `commit`, or 'replay' when it is 0, too
   * old for the window, already seen, or at or beyond 2^53.
   */
  check(seqLow: number): number | DropReason {
    if (!this.checkParts(seqLow)) return 'replay';
    if (this.checkedHigh >= SAFE_HIGH_LIMIT) return 'replay';
    return this.checkedHigh * TWO_32 + (seqLow >>> 0);
  }

  /** Mark `seq` (a value returned by `check`) as received, after its ICV verified. See `commitParts`. */
  commit(seq: number): boolean {
    if (!(seq > 0 && Number.isSafeInteger(seq))) return false;
    return this.commitParts(Math.floor(seq / TWO_32), seq % TWO_32);
  }

  /**
   * `check` over the whole 64-bit space: true when the number may be new; the inferred high half is then
   * in `checkedHigh` (RFC 4303 Appendix A2.2). False for 0, too old, or already seen.
   */
  checkParts(seqLow: number): boolean {
    const low = seqLow >>> 0;
    let high = 0;
    if (this.esn) {
      const w = this.inferWindow;
      const th = this.topHigh;
      const tl = this.topLow;
      if (tl >= w - 1) {
        // Appendix A2.2 case A: the window lies within one epoch.
        high = low >= tl - w + 1 ? th : th + 1;
      } else {
        // Case B: the window straddles the previous epoch.
        high = low >= tl - w + 1 + TWO_32 ? th - 1 : th;
      }
      if (high < 0 || high >= TWO_32) return false;
    }
    this.checkedHigh = high;
    if (high === 0 && low === 0) return false;
    if (this.size === 0) return true;
    const behind = this.distanceBelowTop(high, low);
    if (behind < 0) return true;
    if (behind >= this.size) return false;
    const block = (low >>> BLOCK_SHIFT) & this.blockMask;
    return ((this.blocks[block] ?? 0) & (1 << (low & (BLOCK_BITS - 1)))) === 0;
  }

  /**
   * Mark (high, low) as received, after its ICV verified; moves the window forward when it is the new
   * highest. Returns false (and changes nothing) if it is 0, too old, or was seen meanwhile.
   */
  commitParts(high: number, low: number): boolean {
    high >>>= 0;
    low >>>= 0;
    if (high === 0 && low === 0) return false;
    if (!this.esn && high !== 0) return false;
    const behind = this.distanceBelowTop(high, low);
    if (behind < 0) {
      if (this.size > 0) {
        // Clear the blocks between the old top's block and the new one (RFC 6479 section 2).
        const ahead =
          (high - this.topHigh) * (TWO_32 / BLOCK_BITS) + (low >>> BLOCK_SHIFT) - (this.topLow >>> BLOCK_SHIFT);
        const n = Math.min(ahead, this.blocks.length);
        const from = this.topLow >>> BLOCK_SHIFT;
        for (let i = 1; i <= n; i++) this.blocks[(from + i) & this.blockMask] = 0;
      }
      this.topHigh = high;
      this.topLow = low;
    } else if (this.size === 0) {
      return true;
    } else if (behind >= this.size) {
      return false;
    }
    if (this.size === 0) return true;
    const block = (low >>> BLOCK_SHIFT) & this.blockMask;
    const bit = 1 << (low & (BLOCK_BITS - 1));
    const old = this.blocks[block] ?? 0;
    if ((old & bit) !== 0) return false;
    this.blocks[block] = old | bit;
    return true;
  }

  /** Forget everything (a new SA starts from scratch). */
  reset(): void {
    this.topHigh = 0;
    this.topLow = 0;
    this.blocks.fill(0);
  }

  /** top - seq: negative when seq is above the top (exact when small, right in sign and size class always). */
  private distanceBelowTop(high: number, low: number): number {
    return (this.topHigh - high) * TWO_32 + (this.topLow - low);
  }
}
