/**
 * EVP_CIPHER_CTX setup shared by the OpenSSL AEADs and ciphers: one context per direction and SA, keyed once
 * (EVP_CipherInit_ex with the key and no IV); per packet only the IV or nonce is set with ENC_UNCHANGED.
 */
import { CryptoError } from '../types.js';
import type { EvpCipherCtx, LibCrypto } from './libcrypto.js';
import { NativeResources } from './lifetime.js';

/** EVP_CipherInit_ex `enc` values. */
export const ENC_ENCRYPT = 1;
export const ENC_DECRYPT = 0;
export const ENC_UNCHANGED = -1;

/** A cipher context keyed once for one direction (enc 1 = encrypt, 0 = decrypt). */
export function keyedContext(lib: LibCrypto, evpName: string, key: Uint8Array, enc: number): EvpCipherCtx {
  const cipher = lib.cipher(evpName);
  const ctx = lib.EVP_CIPHER_CTX_new();
  if (cipher === null || ctx === null) throw new CryptoError(`OpenSSL: ${evpName} unavailable`);
  if (lib.EVP_CipherInit_ex(ctx, cipher, null, key, null, enc) !== 1) {
    lib.EVP_CIPHER_CTX_free(ctx);
    throw new CryptoError(`OpenSSL: cannot key ${evpName}`);
  }
  return ctx;
}

/** An SA's encrypt and decrypt contexts, freed together by dispose() or when their owner is collected. */
export interface KeyedContextPair {
  readonly enc: EvpCipherCtx;
  readonly dec: EvpCipherCtx;
  readonly resources: NativeResources;
}

/** Both directions keyed with the same key, tied to owner's lifetime; nothing leaks if the second fails. */
export function keyedContextPair(lib: LibCrypto, evpName: string, key: Uint8Array, owner: object): KeyedContextPair {
  const enc = keyedContext(lib, evpName, key, ENC_ENCRYPT);
  let dec: EvpCipherCtx;
  try {
    dec = keyedContext(lib, evpName, key, ENC_DECRYPT);
  } catch (e) {
    lib.EVP_CIPHER_CTX_free(enc);
    throw e;
  }
  const resources = new NativeResources(owner, () => {
    lib.EVP_CIPHER_CTX_free(enc);
    lib.EVP_CIPHER_CTX_free(dec);
  });
  return { enc, dec, resources };
}
