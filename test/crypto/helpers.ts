/** Shared helpers for the crypto vector tests. */
import assert from 'node:assert/strict';
import { CryptoError, createOpenSslBackend, nodeBackend } from '../../src/crypto/index.js';
import type { CryptoBackend } from '../../src/crypto/index.js';

/** The OpenSSL EVP backend where it loads, else null. */
export const openssl: CryptoBackend | null = createOpenSslBackend();
/** node:crypto always, and the OpenSSL EVP backend where it loads. */
export const allBackends: readonly CryptoBackend[] = openssl === null ? [nodeBackend] : [nodeBackend, openssl];
/** For test titles. */
export const backendNames = allBackends.map((b) => b.name).join(', ');

/** A copy of bytes with one byte changed (the middle one by default). */
export function flipByte(bytes: Uint8Array, at: number = bytes.length >> 1): Buffer {
  assert.ok(bytes.length > 0, 'cannot mutate an empty input');
  const out = Buffer.from(bytes);
  out[at] = (out[at] ?? 0) ^ 0x5a;
  return out;
}

/** Bytes placed at an offset inside a larger buffer (headroom and tailroom), to exercise off/len handling. */
export function embed(bytes: Uint8Array, headroom = 37, tailroom = 23): { buf: Buffer; off: number; len: number } {
  const buf = Buffer.alloc(headroom + bytes.length + tailroom, 0xee);
  buf.set(bytes, headroom);
  return { buf, off: headroom, len: bytes.length };
}

/** Asserts fn throws a CryptoError. */
export function assertCryptoError(fn: () => unknown, message?: string): void {
  assert.throws(fn, (e: unknown) => e instanceof CryptoError, message);
}

/** Asserts the result of fn differs from expected, or fn rejects the input with a CryptoError. */
export function assertDiffersOrRejected(fn: () => Uint8Array, expected: Uint8Array, message: string): void {
  let out: Uint8Array;
  try {
    out = fn();
  } catch (e) {
    assert.ok(e instanceof CryptoError, `${message}: threw ${String(e)}`);
    return;
  }
  assert.notDeepEqual(Buffer.from(out), Buffer.from(expected), message);
}
