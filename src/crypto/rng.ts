/** Randomness sources. The sans-I/O core receives one of these; it never reaches for a global one. */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import type { Rng } from './types.js';

/** The operating system CSPRNG through node:crypto. */
export const nodeRng: Rng = {
  fill(out: Uint8Array): void {
    randomFillSync(out);
  },
  bytes(n: number): Buffer {
    return randomBytes(n);
  },
};

const SHA256_LENGTH = 32;

/**
 * A deterministic Rng for tests only: block i = SHA-256(seed || i as 8-byte big-endian), concatenated.
 * Two instances with the same seed produce the same stream.
 */
export function createTestRng(seed: string | Uint8Array): Rng {
  const seedBytes = typeof seed === 'string' ? Buffer.from(seed, 'utf8') : Buffer.from(seed);
  const input = Buffer.alloc(seedBytes.length + 8);
  input.set(seedBytes, 0);
  let counter = 0n;
  let block = Buffer.alloc(0);
  let used = 0;
  const fill = (out: Uint8Array): void => {
    let written = 0;
    while (written < out.length) {
      if (used === block.length) {
        input.writeBigUInt64BE(counter, seedBytes.length);
        counter += 1n;
        block = createHash('sha256').update(input).digest();
        used = 0;
      }
      const n = Math.min(out.length - written, SHA256_LENGTH - used);
      out.set(block.subarray(used, used + n), written);
      used += n;
      written += n;
    }
  };
  return {
    fill,
    bytes(n: number): Buffer {
      const out = Buffer.alloc(n);
      fill(out);
      return out;
    },
  };
}
