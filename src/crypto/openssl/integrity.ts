/**
 * HMAC-MD5-96, HMAC-SHA1-96 (RFC 2403, RFC 2404) and HMAC-SHA2 (RFC 4868) on OpenSSL: one HMAC_CTX per SA keyed
 * once and restarted per packet with the same key. verify() compares in constant time.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IntegrityParams } from '../backend.js';
import { CryptoError } from '../types.js';
import type { IntegrityTransform } from '../types.js';
import { outOfBounds } from '../packet-args.js';
import type { HmacCtx, LibCrypto } from './libcrypto.js';
import { NativeResources } from './lifetime.js';

/** Largest digest (SHA-512). */
const MAX_DIGEST = 64;

class EvpHmac implements IntegrityTransform {
  readonly name: string;
  readonly icvLength: number;
  readonly ivLength = 0;
  readonly #lib: LibCrypto;
  readonly #ctx: HmacCtx;
  readonly #digest = Buffer.alloc(MAX_DIGEST);
  readonly #icv: Buffer;
  readonly #digestLength = new Uint32Array(1);
  readonly #resources: NativeResources;

  constructor(lib: LibCrypto, params: IntegrityParams) {
    this.name = params.name;
    this.icvLength = params.icvLength;
    this.#lib = lib;
    this.#icv = this.#digest.subarray(0, params.icvLength);
    const md = lib.digest(params.hash);
    const ctx = lib.HMAC_CTX_new();
    if (md === null || ctx === null) throw new CryptoError(`OpenSSL: ${params.hash} unavailable`);
    if (lib.HMAC_Init_ex(ctx, params.key, params.key.length, md, null) !== 1) {
      lib.HMAC_CTX_free(ctx);
      throw new CryptoError(`OpenSSL: cannot key HMAC-${params.hash}`);
    }
    this.#ctx = ctx;
    this.#resources = new NativeResources(this, () => lib.HMAC_CTX_free(ctx));
  }

  /** Full HMAC into #digest; false if OpenSSL failed. */
  #mac(chunks: readonly Uint8Array[]): boolean {
    if (this.#resources.released) return false;
    const lib = this.#lib;
    const ctx = this.#ctx;
    let ok = lib.HMAC_Init_ex(ctx, null, 0, null, null);
    for (const chunk of chunks) if (chunk.length > 0) ok &= lib.HMAC_Update(ctx, chunk, chunk.length);
    ok &= lib.HMAC_Final(ctx, this.#digest, this.#digestLength);
    return ok === 1;
  }

  compute(chunks: readonly Uint8Array[], out: Uint8Array, outOff: number): void {
    if (!this.#mac(chunks)) throw new CryptoError(`${this.name}: OpenSSL HMAC failed`);
    out.set(this.#icv, outOff);
  }

  verify(chunks: readonly Uint8Array[], icv: Uint8Array, icvOff: number): boolean {
    if (outOfBounds(icv, icvOff, this.icvLength)) return false;
    if (!this.#mac(chunks)) return false;
    return timingSafeEqual(this.#icv, icv.subarray(icvOff, icvOff + this.icvLength));
  }

  dispose(): void {
    this.#resources.release();
  }
}

/** An EVP HMAC, or undefined for the AES-based MACs (left to node:crypto). */
export function createEvpIntegrity(lib: LibCrypto, params: IntegrityParams): IntegrityTransform | undefined {
  return params.mode === 'hmac' ? new EvpHmac(lib, params) : undefined;
}
