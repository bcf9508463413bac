/** Bounds-checked reads shared by the IKEv2 decoders: every failure is a ParseError naming what and where. */
import { ParseError } from '../../common/errors.js';

/** Throw ParseError unless buf[off, off + len) lies inside [off, end) and end <= buf.length. */
export function need(buf: Uint8Array, off: number, len: number, end: number, what: string): void {
  if (end > buf.length || off + len > end) throw new ParseError(`${what}: truncated`, off);
}
