/**
 * AEADs on node:crypto: AES-GCM (RFC 4106), AES-CCM (RFC 4309), ChaCha20-Poly1305 (RFC 7634) and
 * ENCR_NULL_AUTH_AES_GMAC (RFC 4543). Node needs a fresh Cipheriv per packet; everything else (key object,
 * nonce buffer, option objects) is made once per SA.
 */
import { createCipheriv, createDecipheriv, createSecretKey, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { AeadParams } from '../backend.js';
import { CryptoError } from '../types.js';
import type { AeadTransform } from '../types.js';
import { AeadBase } from '../aead-base.js';
import { AEAD_IV_LENGTH, aeadOpenArgsInvalid, checkIv, saltedNonce, setNonceIv } from '../packet-args.js';

export { AEAD_IV_LENGTH };

function aesAlgo(keyLength: number, mode: 'gcm' | 'ccm'): string {
  return `aes-${keyLength * 8}-${mode}`;
}

/**
 * GCM, GMAC and ChaCha20-Poly1305: nonce = salt(4) || IV(8) (RFC 4106 4, RFC 4543 3.1, RFC 7634 2).
 * For GMAC the tag covers aad || iv || data and nothing is encrypted (RFC 4543 3.3).
 */
class NodeNonceAead extends AeadBase implements AeadTransform {
  readonly #algo: string;
  readonly #key: KeyObject;
  readonly #nonce: Buffer;
  readonly #options: { authTagLength: number };

  constructor(params: AeadParams, algo: string) {
    super(params);
    this.#algo = algo;
    this.#key = createSecretKey(params.key);
    this.#nonce = saltedNonce(params.salt, AEAD_IV_LENGTH);
    this.#options = { authTagLength: params.icvLength };
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
    setNonceIv(this.#nonce, iv);
    const c = createCipheriv(this.#algo as 'aes-128-gcm', this.#key, this.#nonce, this.#options);
    c.setAAD(aad);
    const region = data.subarray(off, off + len);
    if (this.authOnly) {
      c.setAAD(iv);
      c.setAAD(region);
    } else {
      data.set(c.update(region), off);
    }
    c.final();
    icvOut.set(c.getAuthTag(), icvOff);
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
    if (aeadOpenArgsInvalid(iv, data, off, len, icv, icvOff, this.icvLength)) return false;
    setNonceIv(this.#nonce, iv);
    try {
      const d = createDecipheriv(this.#algo as 'aes-128-gcm', this.#key, this.#nonce, this.#options);
      d.setAuthTag(icv.subarray(icvOff, icvOff + this.icvLength));
      d.setAAD(aad);
      const region = data.subarray(off, off + len);
      if (this.authOnly) {
        d.setAAD(iv);
        d.setAAD(region);
        d.final();
        return true;
      }
      const plain = d.update(region);
      d.final();
      data.set(plain, off);
      return true;
    } catch {
      return false;
    }
  }
}

/** RFC 3610 2.2: flags bit for "AAD present", and the length field size L for an 11-byte nonce (RFC 4309 4). */
const CCM_FLAG_ADATA = 0x40;
const CCM_L = 4;
const AES_BLOCK = 16;
/** RFC 3610 2.2: two-byte AAD length encoding is used below 2^16 - 2^8. */
const CCM_SHORT_AAD_LIMIT = 0xff00;

/**
 * The CCM tag for an empty payload (RFC 3610 2.2 and 2.3), which OpenSSL through node:crypto will not
 * produce: T = CBC-MAC(B0 || encoded AAD) XOR E(K, A0). Never reached by ESP or IKE (their payloads always
 * carry at least the pad length and next header), only by known-answer tests.
 */
function ccmEmptyTag(algo: string, key: KeyObject, nonce: Buffer, aad: Uint8Array, tagLength: number): Buffer {
  if (aad.length >= CCM_SHORT_AAD_LIMIT) throw new CryptoError('CCM: AAD too long');
  const aadBlocks = aad.length === 0 ? 0 : Math.ceil((2 + aad.length) / AES_BLOCK);
  const input = Buffer.alloc(AES_BLOCK * (1 + aadBlocks));
  input[0] = (aad.length > 0 ? CCM_FLAG_ADATA : 0) | (((tagLength - 2) / 2) << 3) | (CCM_L - 1);
  nonce.copy(input, 1);
  // l(m) = 0 fills the last CCM_L bytes of B0, already zero.
  if (aad.length > 0) {
    input.writeUInt16BE(aad.length, AES_BLOCK);
    input.set(aad, AES_BLOCK + 2);
  }
  const cbc = createCipheriv(algo.replace('ccm', 'cbc'), key, Buffer.alloc(AES_BLOCK)).setAutoPadding(false);
  const macBlocks = cbc.update(input);
  cbc.final();
  const a0 = Buffer.alloc(AES_BLOCK);
  a0[0] = CCM_L - 1;
  nonce.copy(a0, 1);
  const ecb = createCipheriv(algo.replace('ccm', 'ecb'), key, null).setAutoPadding(false);
  const s0 = ecb.update(a0);
  ecb.final();
  const tag = Buffer.alloc(tagLength);
  const x = macBlocks.length - AES_BLOCK;
  for (let i = 0; i < tagLength; i++) tag[i] = (macBlocks[x + i] ?? 0) ^ (s0[i] ?? 0);
  return tag;
}

/** AES-CCM: nonce = salt(3) || IV(8) (RFC 4309 4); node:crypto needs the plaintext length before the AAD. */
class NodeCcmAead extends AeadBase implements AeadTransform {
  readonly #algo: string;
  readonly #key: KeyObject;
  readonly #nonce: Buffer;
  readonly #options: { authTagLength: number };
  readonly #aadOptions = { plaintextLength: 0 };

  constructor(params: AeadParams) {
    super(params);
    this.#algo = aesAlgo(params.key.length, 'ccm');
    this.#key = createSecretKey(params.key);
    this.#nonce = saltedNonce(params.salt, AEAD_IV_LENGTH);
    this.#options = { authTagLength: params.icvLength };
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
    setNonceIv(this.#nonce, iv);
    if (len === 0) {
      icvOut.set(ccmEmptyTag(this.#algo, this.#key, this.#nonce, aad, this.icvLength), icvOff);
      return;
    }
    const c = createCipheriv(this.#algo as 'aes-128-ccm', this.#key, this.#nonce, this.#options);
    this.#aadOptions.plaintextLength = len;
    c.setAAD(aad, this.#aadOptions);
    data.set(c.update(data.subarray(off, off + len)), off);
    c.final();
    icvOut.set(c.getAuthTag(), icvOff);
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
    if (aeadOpenArgsInvalid(iv, data, off, len, icv, icvOff, this.icvLength)) return false;
    setNonceIv(this.#nonce, iv);
    try {
      if (len === 0) {
        const tag = ccmEmptyTag(this.#algo, this.#key, this.#nonce, aad, this.icvLength);
        return timingSafeEqual(tag, icv.subarray(icvOff, icvOff + this.icvLength));
      }
      const d = createDecipheriv(this.#algo as 'aes-128-ccm', this.#key, this.#nonce, this.#options);
      d.setAuthTag(icv.subarray(icvOff, icvOff + this.icvLength));
      this.#aadOptions.plaintextLength = len;
      d.setAAD(aad, this.#aadOptions);
      const plain = d.update(data.subarray(off, off + len));
      d.final();
      data.set(plain, off);
      return true;
    } catch {
      return false;
    }
  }
}

/** node:crypto AEAD for the given parameters. */
export function createNodeAead(params: AeadParams): AeadTransform {
  switch (params.mode) {
    case 'gcm':
    case 'gmac':
      return new NodeNonceAead(params, aesAlgo(params.key.length, 'gcm'));
    case 'chacha20-poly1305':
      return new NodeNonceAead(params, 'chacha20-poly1305');
    case 'ccm':
      return new NodeCcmAead(params);
  }
}
