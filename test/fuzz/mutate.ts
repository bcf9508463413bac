/**
 * Byte-level mutations for the fuzz harness: bit flips, interesting values, 16/32-bit length fields set to
 * edge values, truncation, extension, duplicated and deleted ranges, and splices of two inputs. Deterministic
 * for a seed (Prng), so a crash replays from its seed and input number.
 */
import type { Prng } from '../ike/codec/prng.js';

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff] as const;
const INTERESTING_16 = [0, 1, 3, 4, 5, 8, 0x7fff, 0x8000, 0xffff] as const;
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff] as const;

/** One to `maxEdits` edits of a copy of `seed`; `other` (another input of the same kind) may be spliced in. */
export function mutate(r: Prng, seed: Uint8Array, other: Uint8Array, maxEdits = 4): Buffer {
  let b = Buffer.from(seed);
  for (let n = r.int(1, maxEdits); n > 0; n--) {
    const at = b.length === 0 ? 0 : r.int(0, b.length - 1);
    switch (r.int(0, 9)) {
      case 0:
      case 1:
        if (b.length > 0) b[at] = (b[at] ?? 0) ^ (1 << r.int(0, 7));
        break;
      case 2:
        if (b.length > 0) b[at] = r.bool() ? r.pick(INTERESTING_8) : r.int(0, 255);
        break;
      case 3:
        if (b.length >= 2)
          b.writeUInt16BE(r.bool() ? r.pick(INTERESTING_16) : r.int(0, b.length + 64), Math.min(at, b.length - 2));
        break;
      case 4:
        if (b.length >= 4) b.writeUInt32BE(r.pick(INTERESTING_32), Math.min(at, b.length - 4));
        break;
      case 5:
        b = b.subarray(0, r.int(0, b.length));
        break;
      case 6:
        b = Buffer.concat([b, r.bytes(r.int(1, 32))]);
        break;
      case 7: {
        const from = r.int(0, b.length);
        const to = r.int(from, Math.min(b.length, from + 32));
        b = Buffer.concat([b.subarray(0, at), b.subarray(from, to), b.subarray(at)]);
        break;
      }
      case 8: {
        const cut = r.int(0, other.length);
        b = Buffer.concat([b.subarray(0, at), other.subarray(cut, cut + r.int(1, 64))]);
        break;
      }
      default:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + r.int(1, 16)))]);
    }
  }
  return b;
}
