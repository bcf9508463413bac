/**
 * Per-packet argument checks and nonce layouts shared by the node:crypto and OpenSSL backends, so both give the
 * same answers and the same CryptoError messages. Nothing here allocates per call; the nonce and counter blocks
 * are made once per SA and only their IV part is rewritten per packet.
 */
import { CryptoError } from './types.js';

/** Explicit IV bytes carried in every ESP packet for the AEADs (RFC 4106 3.1, RFC 4309 3.1, RFC 4543 3.1, RFC 7634 2). */
export const AEAD_IV_LENGTH = 8;

/** RFC 3686 4: counter block = nonce(4) || IV(8) || block counter(4), the counter starting at 1. */
export const CTR_NONCE_LENGTH = 4;
export const CTR_IV_LENGTH = 8;
export const CTR_COUNTER_OFFSET = CTR_NONCE_LENGTH + CTR_IV_LENGTH;
export const CTR_BLOCK_LENGTH = CTR_COUNTER_OFFSET + 4;

/** True if buf[off, off + len) is not a valid range of buf. */
export function outOfBounds(buf: Uint8Array, off: number, len: number): boolean {
  return off < 0 || len < 0 || off + len > buf.length;
}

/** Throws `<name>: IV must be <ivLength> bytes` unless iv has exactly ivLength bytes. */
export function checkIv(name: string, iv: Uint8Array | undefined, ivLength: number): asserts iv is Uint8Array {
  if (iv?.length !== ivLength) throw new CryptoError(`${name}: IV must be ${ivLength} bytes`);
}

/** Throws `<name>: range out of bounds` unless data[off, off + len) lies inside data. */
export function checkRange(name: string, data: Uint8Array, off: number, len: number): void {
  if (outOfBounds(data, off, len)) throw new CryptoError(`${name}: range out of bounds`);
}

/** Block ciphers (CBC): the range must lie inside data and be a whole number of blocks. */
export function checkBlocks(name: string, data: Uint8Array, off: number, len: number, blockSize: number): void {
  if (len % blockSize !== 0 || outOfBounds(data, off, len)) {
    throw new CryptoError(`${name}: length ${len} is not a whole number of ${blockSize}-byte blocks`);
  }
}

/**
 * AeadTransform.open never throws: true if its arguments cannot be a packet (IV length, ICV or data range out of
 * bounds), so the caller returns false before touching the cipher.
 */
export function aeadOpenArgsInvalid(
  iv: Uint8Array,
  data: Uint8Array,
  off: number,
  len: number,
  icv: Uint8Array,
  icvOff: number,
  icvLength: number,
): boolean {
  return iv.length !== AEAD_IV_LENGTH || outOfBounds(icv, icvOff, icvLength) || outOfBounds(data, off, len);
}

/**
 * The nonce = salt || IV (RFC 4106 4, RFC 4309 4, RFC 4543 3.1, RFC 7634 2), made once per SA with the salt in
 * place; setNonceIv writes each packet's IV behind it.
 */
export function saltedNonce(salt: Uint8Array, ivLength: number): Buffer {
  const nonce = Buffer.alloc(salt.length + ivLength);
  nonce.set(salt, 0);
  return nonce;
}

/** Writes the packet IV into the last iv.length bytes of a nonce from saltedNonce. */
export function setNonceIv(nonce: Uint8Array, iv: Uint8Array): void {
  nonce.set(iv, nonce.length - iv.length);
}

/** RFC 3686 4: the AES-CTR counter block with the nonce and the initial counter 1 in place; the IV goes at CTR_NONCE_LENGTH. */
export function ctrCounterBlock(nonce: Uint8Array): Buffer {
  const block = Buffer.alloc(CTR_BLOCK_LENGTH);
  block.set(nonce, 0);
  block.writeUInt32BE(1, CTR_COUNTER_OFFSET);
  return block;
}
