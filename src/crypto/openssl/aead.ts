/**
 * AES-GCM (RFC 4106), AES-GMAC (RFC 4543) and ChaCha20-Poly1305 (RFC 7634) on OpenSSL EVP: one encrypt and one
 * decrypt EVP_CIPHER_CTX per SA, keyed once; per packet only the nonce is set, and data is transformed truly in
 * place (EVP_CipherUpdate with out == in). Nothing is allocated per packet but the views koffi needs.
 */
import type { AeadParams } from '../backend.js';
import { CryptoError } from '../types.js';
import type { AeadTransform } from '../types.js';
import { AeadBase } from '../aead-base.js';
import { AEAD_IV_LENGTH, aeadOpenArgsInvalid, checkIv, checkRange, saltedNonce, setNonceIv } from '../packet-args.js';
import { EVP_CTRL_AEAD_GET_TAG, EVP_CTRL_AEAD_SET_TAG } from './libcrypto.js';
import type { EvpCipherCtx, LibCrypto } from './libcrypto.js';
import type { NativeResources } from './lifetime.js';
import { ENC_UNCHANGED, keyedContext, keyedContextPair } from './evp-context.js';

export { keyedContext };

/** Largest tag any of these AEADs produces. */
const MAX_TAG = 16;

class EvpNonceAead extends AeadBase implements AeadTransform {
  readonly #lib: LibCrypto;
  readonly #enc: EvpCipherCtx;
  readonly #dec: EvpCipherCtx;
  readonly #nonce: Uint8Array;
  readonly #outl = new Int32Array(1);
  readonly #tag = new Uint8Array(MAX_TAG);
  readonly #tagView: Uint8Array;
  readonly #resources: NativeResources;

  constructor(lib: LibCrypto, params: AeadParams, evpName: string) {
    super(params);
    this.#lib = lib;
    const contexts = keyedContextPair(lib, evpName, params.key, this);
    this.#enc = contexts.enc;
    this.#dec = contexts.dec;
    this.#resources = contexts.resources;
    this.#nonce = saltedNonce(params.salt, AEAD_IV_LENGTH);
    this.#tagView = this.#tag.subarray(0, this.icvLength);
  }

  seal(
    iv: Uint8Array,
    aad: Uint8Array,
    data: Uint8Array,
    off: number,
    len: number,
    icvOut: Uint8Array,
    icvOff: number,
  ): void {
    checkIv(this.name, iv, AEAD_IV_LENGTH);
    if (this.#resources.released) throw new CryptoError(`${this.name}: used after dispose()`);
    checkRange(this.name, data, off, len);
    const lib = this.#lib;
    const ctx = this.#enc;
    const outl = this.#outl;
    setNonceIv(this.#nonce, iv);
    let ok = lib.EVP_CipherInit_ex(ctx, null, null, null, this.#nonce, ENC_UNCHANGED);
    if (aad.length > 0) ok &= lib.EVP_CipherUpdate(ctx, null, outl, aad, aad.length);
    if (len > 0) {
      const region = data.subarray(off, off + len);
      if (this.authOnly) {
        ok &= lib.EVP_CipherUpdate(ctx, null, outl, iv, iv.length);
        ok &= lib.EVP_CipherUpdate(ctx, null, outl, region, len);
      } else {
        ok &= lib.EVP_CipherUpdate(ctx, region, outl, region, len);
      }
    } else if (this.authOnly) {
      ok &= lib.EVP_CipherUpdate(ctx, null, outl, iv, iv.length);
    }
    ok &= lib.EVP_CipherFinal_ex(ctx, null, outl);
    ok &= lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, this.icvLength, this.#tagView);
    if (ok !== 1) throw new CryptoError(`${this.name}: OpenSSL seal failed`);
    icvOut.set(this.#tagView, icvOff);
  }

  open(
    iv: Uint8Array,
    aad: Uint8Array,
    data: Uint8Array,
    off: number,
    len: number,
    icv: Uint8Array,
    icvOff: number,
  ): boolean {
    if (aeadOpenArgsInvalid(iv, data, off, len, icv, icvOff, this.icvLength) || this.#resources.released) {
      return false;
    }
    const lib = this.#lib;
    const ctx = this.#dec;
    const outl = this.#outl;
    const tag = this.#tagView;
    for (let i = 0; i < this.icvLength; i++) tag[i] = icv[icvOff + i] ?? 0;
    setNonceIv(this.#nonce, iv);
    let ok = lib.EVP_CipherInit_ex(ctx, null, null, null, this.#nonce, ENC_UNCHANGED);
    ok &= lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, this.icvLength, tag);
    if (aad.length > 0) ok &= lib.EVP_CipherUpdate(ctx, null, outl, aad, aad.length);
    if (this.authOnly) ok &= lib.EVP_CipherUpdate(ctx, null, outl, iv, iv.length);
    if (len > 0) {
      const region = data.subarray(off, off + len);
      ok &= this.authOnly
        ? lib.EVP_CipherUpdate(ctx, null, outl, region, len)
        : lib.EVP_CipherUpdate(ctx, region, outl, region, len);
    }
    // EVP_CipherFinal_ex checks the tag: 1 only if it matched.
    ok &= lib.EVP_CipherFinal_ex(ctx, null, outl);
    return ok === 1;
  }

  /** Frees the OpenSSL contexts now instead of at garbage collection. */
  dispose(): void {
    this.#resources.release();
  }
}

/** An EVP AEAD, or undefined for modes this backend leaves to node:crypto (CCM). */
export function createEvpAead(lib: LibCrypto, params: AeadParams): AeadTransform | undefined {
  switch (params.mode) {
    case 'gcm':
    case 'gmac':
      return new EvpNonceAead(lib, params, `aes-${params.key.length * 8}-gcm`);
    case 'chacha20-poly1305':
      return new EvpNonceAead(lib, params, 'chacha20-poly1305');
    case 'ccm':
      return undefined;
  }
}
