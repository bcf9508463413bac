/** Thrown by every decoder when bytes do not fit the format; the only exception a codec may raise. */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  /** What was being decoded and what was wrong. */
  readonly what: string;
  /** Byte offset in the decoded buffer where the problem was found. */
  readonly offset: number;
  constructor(what: string, offset: number) {
    super(`${what} (at byte ${offset})`);
    this.what = what;
    this.offset = offset;
  }
}
