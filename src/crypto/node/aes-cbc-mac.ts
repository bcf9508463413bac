/**
 * The CBC-MAC core shared by AES-XCBC-MAC (RFC 3566 2.2) and AES-CMAC (RFC 4493 2.4): CBC over all blocks
 * with a zero IV, the last block XORed with one of two subkeys (complete block) or 10* padded and XORed
 * with the other (partial or empty block). The chunks are streamed through one AES-CBC cipher, so the
 * message is never concatenated.
 */
import { createCipheriv, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export const AES_BLOCK = 16;
const ZERO_IV = Buffer.alloc(AES_BLOCK);
/** RFC 4493 2.3: R_b for a 128-bit block cipher. */
const CMAC_RB = 0x87;
/** 10* padding marker (RFC 3566 2.2, RFC 4493 2.4). */
const PAD_MARKER = 0x80;

/** One AES block in ECB mode: E(key, block). */
export function aesEncryptBlock(key: Uint8Array, block: Uint8Array): Buffer {
  const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null).setAutoPadding(false);
  const out = c.update(block);
  c.final();
  return out;
}

/** RFC 4493 2.3: doubling in GF(2^128), the subkey step. */
function dbl(block: Uint8Array): Buffer {
  const out = Buffer.alloc(AES_BLOCK);
  for (let i = 0; i < AES_BLOCK; i++) {
    out[i] = (((block[i] ?? 0) << 1) | ((block[i + 1] ?? 0) >>> 7)) & 0xff;
  }
  if (((block[0] ?? 0) & 0x80) !== 0) out[AES_BLOCK - 1] = (out[AES_BLOCK - 1] ?? 0) ^ CMAC_RB;
  return out;
}

/** A keyed CBC-MAC with final-block subkeys. */
export class AesCbcMac {
  readonly #algo: string;
  readonly #cbcKey: KeyObject;
  readonly #kComplete: Buffer;
  readonly #kPartial: Buffer;
  readonly #last = Buffer.alloc(AES_BLOCK);

  private constructor(cbcKey: Uint8Array, kComplete: Buffer, kPartial: Buffer) {
    this.#algo = `aes-${cbcKey.length * 8}-cbc`;
    this.#cbcKey = createSecretKey(cbcKey);
    this.#kComplete = kComplete;
    this.#kPartial = kPartial;
  }

  /** RFC 3566 2.2: K1 = E(K, 0x01^16) keys the CBC, K2 = E(K, 0x02^16), K3 = E(K, 0x03^16). AES-128 only. */
  static xcbc(key: Uint8Array): AesCbcMac {
    const k1 = aesEncryptBlock(key, Buffer.alloc(AES_BLOCK, 0x01));
    const k2 = aesEncryptBlock(key, Buffer.alloc(AES_BLOCK, 0x02));
    const k3 = aesEncryptBlock(key, Buffer.alloc(AES_BLOCK, 0x03));
    return new AesCbcMac(k1, k2, k3);
  }

  /** RFC 4493 2.3: L = E(K, 0^128), K1 = dbl(L), K2 = dbl(K1); K itself keys the CBC. */
  static cmac(key: Uint8Array): AesCbcMac {
    const k1 = dbl(aesEncryptBlock(key, ZERO_IV));
    return new AesCbcMac(key, k1, dbl(k1));
  }

  /** Full 16-byte MAC of the concatenated chunks; the first outLen bytes go to out[outOff]. */
  mac(chunks: readonly Uint8Array[], out: Uint8Array, outOff: number, outLen: number): void {
    let total = 0;
    for (const chunk of chunks) total += chunk.length;
    const lastLen = total === 0 ? 0 : ((total - 1) % AES_BLOCK) + 1;
    let bodyLeft = total - lastLen;
    let lastFill = 0;
    const last = this.#last;
    const c = createCipheriv(this.#algo, this.#cbcKey, ZERO_IV).setAutoPadding(false);
    for (const chunk of chunks) {
      const take = Math.min(chunk.length, bodyLeft);
      if (take > 0) {
        c.update(take === chunk.length ? chunk : chunk.subarray(0, take));
        bodyLeft -= take;
      }
      if (take < chunk.length) {
        last.set(chunk.subarray(take), lastFill);
        lastFill += chunk.length - take;
      }
    }
    let subkey = this.#kComplete;
    if (lastLen < AES_BLOCK) {
      last[lastLen] = PAD_MARKER;
      last.fill(0, lastLen + 1);
      subkey = this.#kPartial;
    }
    for (let i = 0; i < AES_BLOCK; i++) last[i] = (last[i] ?? 0) ^ (subkey[i] ?? 0);
    const tail = c.update(last);
    c.final();
    const macOff = tail.length - AES_BLOCK;
    out.set(tail.subarray(macOff, macOff + outLen), outOff);
  }
}
