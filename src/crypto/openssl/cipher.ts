/**
 * AES-CBC (RFC 3602), AES-CTR (RFC 3686) and 3DES-CBC (RFC 2451) on OpenSSL EVP: one keyed context per direction
 * and SA, the IV (or RFC 3686 counter block) set per packet, data transformed in place.
 */
import type { CipherParams } from '../backend.js';
import { CryptoError } from '../types.js';
import type { CipherTransform } from '../types.js';
import { CTR_IV_LENGTH, CTR_NONCE_LENGTH, checkBlocks, checkIv, ctrCounterBlock } from '../packet-args.js';
import { ENC_UNCHANGED, keyedContextPair } from './evp-context.js';
import type { EvpCipherCtx, LibCrypto } from './libcrypto.js';
import type { NativeResources } from './lifetime.js';

const MAX_BLOCK = 16;

class EvpCipher implements CipherTransform {
  readonly kind = 'cipher';
  readonly name: string;
  readonly ivLength: number;
  readonly blockSize: number;
  readonly #lib: LibCrypto;
  readonly #enc: EvpCipherCtx;
  readonly #dec: EvpCipherCtx;
  /** Per-packet IV handed to OpenSSL: the packet IV (CBC) or the counter block (CTR). */
  readonly #ivBlock: Uint8Array;
  readonly #ivOffset: number;
  readonly #outl = new Int32Array(1);
  readonly #finalOut = new Uint8Array(MAX_BLOCK);
  readonly #resources: NativeResources;

  constructor(lib: LibCrypto, params: CipherParams, evpName: string, blockSize: number) {
    this.name = params.name;
    this.#lib = lib;
    this.blockSize = blockSize;
    const ctr = params.mode === 'aes-ctr';
    this.ivLength = ctr ? CTR_IV_LENGTH : blockSize;
    if (ctr) {
      this.#ivBlock = ctrCounterBlock(params.nonce);
      this.#ivOffset = CTR_NONCE_LENGTH;
    } else {
      this.#ivBlock = new Uint8Array(blockSize);
      this.#ivOffset = 0;
    }
    const contexts = keyedContextPair(lib, evpName, params.key, this);
    this.#enc = contexts.enc;
    this.#dec = contexts.dec;
    this.#resources = contexts.resources;
  }

  #run(ctx: EvpCipherCtx, iv: Uint8Array, data: Uint8Array, off: number, len: number): void {
    checkIv(this.name, iv, this.ivLength);
    checkBlocks(this.name, data, off, len, this.blockSize);
    if (this.#resources.released) throw new CryptoError(`${this.name}: used after dispose()`);
    const lib = this.#lib;
    this.#ivBlock.set(iv, this.#ivOffset);
    let ok = lib.EVP_CipherInit_ex(ctx, null, null, null, this.#ivBlock, ENC_UNCHANGED);
    // Padding is ESP's job (RFC 4303 2.4); set per packet so no OpenSSL version can hold a block back.
    ok &= lib.EVP_CIPHER_CTX_set_padding(ctx, 0);
    if (len > 0) {
      const region = data.subarray(off, off + len);
      ok &= lib.EVP_CipherUpdate(ctx, region, this.#outl, region, len);
      ok &= this.#outl[0] === len ? 1 : 0;
    }
    ok &= lib.EVP_CipherFinal_ex(ctx, this.#finalOut, this.#outl);
    if (ok !== 1) throw new CryptoError(`${this.name}: OpenSSL cipher failed`);
  }

  encrypt(iv: Uint8Array, data: Uint8Array, off: number, len: number): void {
    this.#run(this.#enc, iv, data, off, len);
  }

  decrypt(iv: Uint8Array, data: Uint8Array, off: number, len: number): void {
    this.#run(this.#dec, iv, data, off, len);
  }

  dispose(): void {
    this.#resources.release();
  }
}

/** An EVP cipher, or undefined for ENCR_NULL (node's no-op is as fast). */
export function createEvpCipher(lib: LibCrypto, params: CipherParams): CipherTransform | undefined {
  switch (params.mode) {
    case 'aes-cbc':
      return new EvpCipher(lib, params, `aes-${params.key.length * 8}-cbc`, 16);
    case 'aes-ctr':
      return new EvpCipher(lib, params, `aes-${params.key.length * 8}-ctr`, 1);
    case '3des-cbc':
      return new EvpCipher(lib, params, 'des-ede3-cbc', 8);
    case 'null':
      return undefined;
  }
}
