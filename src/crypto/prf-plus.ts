/** prf+ (RFC 7296 2.13): the key stream every IKEv2 key derivation draws from. */
import { CryptoError } from './types.js';
import type { Prf } from './types.js';

/** RFC 7296 2.13: the counter is one octet, so prf+ yields at most 255 blocks. */
export const PRF_PLUS_MAX_ITERATIONS = 255;

/**
 * prf+(K, S) = T1 | T2 | ... truncated to `length` bytes, where T1 = prf(K, S | 0x01) and
 * Tn = prf(K, Tn-1 | S | n). Throws CryptoError if more than 255 blocks would be needed.
 */
export function prfPlus(prf: Prf, key: Uint8Array, seed: Uint8Array, length: number): Buffer {
  const blockLength = prf.outputLength;
  const iterations = Math.ceil(length / blockLength);
  if (!Number.isInteger(length) || length < 0 || iterations > PRF_PLUS_MAX_ITERATIONS) {
    throw new CryptoError(`prf+: cannot produce ${length} bytes with ${prf.name} (at most 255 blocks)`);
  }
  const out = Buffer.alloc(iterations * blockLength);
  // Input for block n: Tn-1 (absent for n = 1) | S | n.
  const input = Buffer.alloc(blockLength + seed.length + 1);
  input.set(seed, blockLength);
  let prevLength = 0;
  for (let n = 1; n <= iterations; n++) {
    const start = blockLength - prevLength;
    input[input.length - 1] = n;
    const t = prf.compute(key, input.subarray(start));
    if (t.length !== blockLength) throw new CryptoError(`prf+: ${prf.name} returned ${t.length} bytes`);
    out.set(t, (n - 1) * blockLength);
    input.set(t, 0);
    prevLength = blockLength;
  }
  return out.subarray(0, length);
}
