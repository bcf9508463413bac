/**
 * AES-GCM (RFC 4106), AES-GMAC (RFC 4543) and ChaCha20-Poly1305 (RFC 7634) on OpenSSL EVP: one encrypt and one
 * decrypt EVP_CIPHER_CTX per SA, keyed once; per packet only the nonce is set, and data is transformed truly in
 * place (EVP_CipherUpdate with out == in). Nothing is allocated per packet but the views koffi needs.
 */
import type { AeadParams } from '../backend.js';
import { CryptoError } from '../types.js';
import type { AeadTransform } from '../types.js';
import { AeadBase } from '../aead-base.js';
import { AEAD_IV_LENGTH, aeadOpenArgsInvalid, checkIv, checkRange, setNonceIv } from '../packet-args.js';
import { EVP_CTRL_AEAD_GET_TAG, EVP_CTRL_AEAD_SET_TAG } from './libcrypto.js';
import type { EvpCipherCtx, LibCrypto } from './libcrypto.js';
import type { NativeResources } from './lifetime.js';
import { ENC_UNCHANGED, keyedContext, keyedContextPair } from './evp-context.js';

export { keyedContext };

/** Largest tag any of these AEADs produces. */
const MAX_TAG = 16;
/** RFC 4106 4, RFC 4543 3.1, RFC 7634 2: salt(4) || IV(8). */
const SALT_LENGTH = 4;

/**
 * Per-packet scratch shared by every SA: the nonce, OpenSSL's output length and the tag are written in full for
 * each packet and forgotten after it, and the packet path is synchronous. Per-SA copies would each be cache
 * misses on every packet when traffic is spread over thousands of SAs; shared ones stay in the cache.
 */
const scratchNonce = Buffer.alloc(SALT_LENGTH + AEAD_IV_LENGTH);
const scratchOutl = new Int32Array(1);
const scratchTags = new Map<number, Uint8Array>();

/** The shared tag buffer of `length` bytes (a view, so OpenSSL is told the tag length by the buffer too). */
function scratchTag(length: number): Uint8Array {
  let t = scratchTags.get(length);
  if (t === undefined) scratchTags.set(length, (t = new Uint8Array(length)));
  return t;
}

class EvpNonceAead extends AeadBase implements AeadTransform {
  readonly #lib: LibCrypto;
  readonly #enc: EvpCipherCtx;
  readonly #dec: EvpCipherCtx;
  /** The salt as a big-endian 32-bit number, written in front of the shared nonce per packet. */
  readonly #salt: number;
  readonly #tagView: Uint8Array;
  readonly #resources: NativeResources;

  constructor(lib: LibCrypto, params: AeadParams, evpName: string) {
    super(params);
    if (params.salt.length !== SALT_LENGTH) throw new CryptoError(`${params.name}: salt must be ${SALT_LENGTH} bytes`);
    if (params.icvLength > MAX_TAG) throw new CryptoError(`${params.name}: ICV longer than ${MAX_TAG} bytes`);
    this.#lib = lib;
    const contexts = keyedContextPair(lib, evpName, params.key, this);
    this.#enc = contexts.enc;
    this.#dec = contexts.dec;
    this.#resources = contexts.resources;
    this.#salt = Buffer.from(params.salt).readUInt32BE(0);
    this.#tagView = scratchTag(this.icvLength);
  }

  /** The shared nonce with this SA's salt and the packet's IV. */
  #nonceFor(iv: Uint8Array): Uint8Array {
    const n = scratchNonce;
    n.writeUInt32BE(this.#salt, 0);
    setNonceIv(n, iv);
    return n;
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
    const outl = scratchOutl;
    let ok = lib.EVP_CipherInit_ex(ctx, null, null, null, this.#nonceFor(iv), ENC_UNCHANGED);
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
    const tag = this.#tagView;
    for (let i = 0; i < tag.length; i++) icvOut[icvOff + i] = tag[i]!;
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
    const outl = scratchOutl;
    const tag = this.#tagView;
    for (let i = 0; i < this.icvLength; i++) tag[i] = icv[icvOff + i] ?? 0;
    let ok = lib.EVP_CipherInit_ex(ctx, null, null, null, this.#nonceFor(iv), ENC_UNCHANGED);
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
