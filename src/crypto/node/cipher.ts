/**
 * Non-AEAD ciphers on node:crypto: AES-CBC (RFC 3602), AES-CTR (RFC 3686), 3DES-CBC (RFC 2451) and NULL
 * (RFC 2410). The key object and the counter block are made once per SA.
 */
import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { CipherParams } from '../backend.js';
import { CryptoError } from '../types.js';
import type { CipherTransform } from '../types.js';

/** RFC 3686 4: counter block = nonce(4) || IV(8) || block counter(4), the counter starting at 1. */
const CTR_NONCE_LENGTH = 4;
const CTR_IV_LENGTH = 8;
const CTR_COUNTER_OFFSET = CTR_NONCE_LENGTH + CTR_IV_LENGTH;

/** CBC mode (AES, 3DES): the IV travels in the packet; length must be a multiple of the block size. */
class NodeCbcCipher implements CipherTransform {
  readonly kind = 'cipher';
  readonly name: string;
  readonly ivLength: number;
  readonly blockSize: number;
  readonly #algo: string;
  readonly #key: KeyObject;

  constructor(name: string, algo: string, key: Uint8Array, blockSize: number) {
    this.name = name;
    this.#algo = algo;
    this.#key = createSecretKey(key);
    this.ivLength = blockSize;
    this.blockSize = blockSize;
  }

  #check(iv: Uint8Array, data: Uint8Array, off: number, len: number): void {
    if (iv.length !== this.ivLength) throw new CryptoError(`${this.name}: IV must be ${this.ivLength} bytes`);
    if (len % this.blockSize !== 0 || off < 0 || len < 0 || off + len > data.length) {
      throw new CryptoError(`${this.name}: length ${len} is not a whole number of ${this.blockSize}-byte blocks`);
    }
  }

  encrypt(iv: Uint8Array, data: Uint8Array, off: number, len: number): void {
    this.#check(iv, data, off, len);
    const c = createCipheriv(this.#algo, this.#key, iv).setAutoPadding(false);
    data.set(c.update(data.subarray(off, off + len)), off);
    c.final();
  }

  decrypt(iv: Uint8Array, data: Uint8Array, off: number, len: number): void {
    this.#check(iv, data, off, len);
    const d = createDecipheriv(this.#algo, this.#key, iv).setAutoPadding(false);
    data.set(d.update(data.subarray(off, off + len)), off);
    d.final();
  }
}

/** AES-CTR for ESP (RFC 3686): keymat = key || 4-byte nonce, 8-byte IV per packet. */
class NodeCtrCipher implements CipherTransform {
  readonly kind = 'cipher';
  readonly name: string;
  readonly ivLength = CTR_IV_LENGTH;
  readonly blockSize = 1;
  readonly #algo: string;
  readonly #key: KeyObject;
  readonly #counterBlock = Buffer.alloc(16);

  constructor(name: string, key: Uint8Array, nonce: Uint8Array) {
    this.name = name;
    this.#algo = `aes-${key.length * 8}-ctr`;
    this.#key = createSecretKey(key);
    this.#counterBlock.set(nonce, 0);
    this.#counterBlock.writeUInt32BE(1, CTR_COUNTER_OFFSET);
  }

  #run(iv: Uint8Array, data: Uint8Array, off: number, len: number): void {
    if (iv.length !== CTR_IV_LENGTH) throw new CryptoError(`${this.name}: IV must be ${CTR_IV_LENGTH} bytes`);
    if (off < 0 || len < 0 || off + len > data.length) throw new CryptoError(`${this.name}: range out of bounds`);
    this.#counterBlock.set(iv, CTR_NONCE_LENGTH);
    const c = createCipheriv(this.#algo, this.#key, this.#counterBlock);
    data.set(c.update(data.subarray(off, off + len)), off);
    c.final();
  }

  encrypt(iv: Uint8Array, data: Uint8Array, off: number, len: number): void {
    this.#run(iv, data, off, len);
  }

  decrypt(iv: Uint8Array, data: Uint8Array, off: number, len: number): void {
    this.#run(iv, data, off, len);
  }
}

/** ENCR_NULL (RFC 2410): no IV, no change. */
class NullCipher implements CipherTransform {
  readonly kind = 'cipher';
  readonly name = 'null';
  readonly ivLength = 0;
  readonly blockSize = 1;
  encrypt(): void {}
  decrypt(): void {}
}

/** node:crypto cipher for the given parameters. */
export function createNodeCipher(params: CipherParams): CipherTransform {
  switch (params.mode) {
    case 'aes-cbc':
      return new NodeCbcCipher(params.name, `aes-${params.key.length * 8}-cbc`, params.key, 16);
    case '3des-cbc':
      return new NodeCbcCipher(params.name, 'des-ede3-cbc', params.key, 8);
    case 'aes-ctr':
      return new NodeCtrCipher(params.name, params.key, params.nonce);
    case 'null':
      return new NullCipher();
  }
}
