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
 * high 32 bits from the window position (Appendix A2.2). Full sequence numbers are JS numbers, so they are
 * exact up to 2^53 - 1; `check` refuses anything beyond (a sender would need 2^21 wraps of the 32-bit
 * counter, far past any rekey limit).
 */

import type { DropReason } from './drop.js';

/** Largest configurable window (bits). RFC 4303 asks for 32 by default and 64 recommended; we allow far more. */
export const REPLAY_WINDOW_MAX = 1 << 20;
/** Default window size when none is configured (strongSwan's default replay_window is 32; Linux uses 32..4096). */
export const REPLAY_WINDOW_DEFAULT = 128;

const BLOCK_BITS = 32;
const TWO_32 = 0x1_0000_0000;
/** Highest sequence number a JS number represents exactly. */
const SEQ_MAX = Number.MAX_SAFE_INTEGER;
/** With the window off, ESN high bits are inferred as the epoch nearest to the highest number seen. */
const HALF_SPACE = 0x8000_0000;

export interface ReplayWindowOptions {
  /** Window size in packets; 0 turns replay protection off (RFC 4303 3.4.3 allows the receiver to disable it). */
  size: number;
  /** Extended (64-bit) sequence numbers negotiated. */
  esn: boolean;
}

export class ReplayWindow {
  /** Window size in packets (0 = off). */
  readonly size: number;
  readonly esn: boolean;
  /** Ring of bitmap blocks; length is a power of two holding at least size + 32 bits. */
  private readonly blocks: Uint32Array;
  private readonly blockMask: number;
  /** Highest sequence number committed so far (0 = none). */
  private top = 0;
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
  }

  /** Highest authenticated sequence number so far (full 64-bit value when ESN is on), 0 if none. */
  get highest(): number {
    return this.top;
  }

  /**
   * Check a received sequence number (its low 32 bits as carried in the header) before decrypting.
   * Returns the full sequence number (a positive integer) to use for the ICV and `commit`, or 'replay'
   * when it is 0, too old for the window, already seen, or not representable.
   */
  check(seqLow: number): number | DropReason {
    seqLow = seqLow >>> 0;
    let seq: number;
    if (this.esn) {
      const w = this.inferWindow;
      const th = Math.floor(this.top / TWO_32);
      const tl = this.top % TWO_32;
      let sh: number;
      if (tl >= w - 1) {
        // Appendix A2.2 case A: the window lies within one epoch.
        sh = seqLow >= tl - w + 1 ? th : th + 1;
      } else {
        // Case B: the window straddles the previous epoch.
        const bottom = (tl - w + 1 + TWO_32) % TWO_32;
        sh = seqLow >= bottom ? th - 1 : th;
      }
      if (sh < 0) return 'replay';
      seq = sh * TWO_32 + seqLow;
      if (seq > SEQ_MAX) return 'replay';
    } else {
      seq = seqLow;
    }
    if (seq === 0) return 'replay';
    if (this.size === 0 || seq > this.top) return seq;
    if (seq + this.size <= this.top) return 'replay';
    const block = Math.floor(seq / BLOCK_BITS) & this.blockMask;
    const bit = 1 << (seq % BLOCK_BITS);
    return ((this.blocks[block] ?? 0) & bit) !== 0 ? 'replay' : seq;
  }

  /**
   * Mark `seq` (a value returned by `check`) as received, after its ICV verified; moves the window
   * forward when it is the new highest. Returns false (and changes nothing) if it was seen meanwhile.
   */
  commit(seq: number): boolean {
    if (!(seq > 0 && seq <= SEQ_MAX)) return false;
    if (this.size === 0) {
      if (seq > this.top) this.top = seq;
      return true;
    }
    const index = Math.floor(seq / BLOCK_BITS);
    if (seq > this.top) {
      const topIndex = Math.floor(this.top / BLOCK_BITS);
      let diff = index - topIndex;
      if (diff > this.blocks.length) diff = this.blocks.length;
      for (let i = 1; i <= diff; i++) this.blocks[(topIndex + i) & this.blockMask] = 0;
      this.top = seq;
    } else if (seq + this.size <= this.top) {
      return false;
    }
    const block = index & this.blockMask;
    const bit = 1 << (seq % BLOCK_BITS);
    const old = this.blocks[block] ?? 0;
    if ((old & bit) !== 0) return false;
    this.blocks[block] = old | bit;
    return true;
  }

  /** Forget everything (a new SA starts from scratch). */
  reset(): void {
    this.top = 0;
    this.blocks.fill(0);
  }
}
