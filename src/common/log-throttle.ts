/**
 * Rate limit for log lines an unauthenticated peer can cause: at most `maxLines` per `intervalMs`; the lines
 * in between are counted and the next line written says how many were left out. Time comes in as `nowMs`,
 * so the sans-I/O core can use it.
 */
export class LogThrottle {
  private readonly maxLines: number;
  private readonly intervalMs: number;
  private windowStartMs: number | undefined;
  private written = 0;
  private suppressed = 0;

  constructor(maxLines: number, intervalMs: number) {
    this.maxLines = maxLines;
    this.intervalMs = intervalMs;
  }

  /**
   * Whether a line may be written now: false when it is to be left out, else the suffix to append to it
   * (empty, or ` (N similar lines suppressed)`).
   */
  allow(nowMs: number): string | false {
    if (
      this.windowStartMs === undefined ||
      nowMs - this.windowStartMs >= this.intervalMs ||
      nowMs < this.windowStartMs
    ) {
      this.windowStartMs = nowMs;
      this.written = 0;
    }
    if (this.written >= this.maxLines) {
      this.suppressed++;
      return false;
    }
    this.written++;
    const suffix = this.suppressed > 0 ? ` (${this.suppressed} similar lines suppressed)` : '';
    this.suppressed = 0;
    return suffix;
  }
}
