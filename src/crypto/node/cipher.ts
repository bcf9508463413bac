/**
 * Non-AEAD ciphers on node:crypto: AES-CBC (RFC 3602), AES-CTR (RFC 3686), 3DES-CBC (RFC 2451) and NULL
 * (RFC 2410). The key object and the counter block are made once per SA.
 */
import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { CipherParams } from '../backend.js';
import type { CipherTransform } from '../types.js';
import { CTR_IV_LENGTH, CTR_NONCE_LENGTH, checkBlocks, checkIv, checkRange, ctrCounterBlock } from '../packet-args.js';

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
    checkIv(this.name, iv, this.ivLength);
    checkBlocks(this.name, data, off, len, this.blockSize);
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
  readonly #counterBlock: Buffer;

  constructor(name: string, key: Uint8Array, nonce: Uint8Array) {
    this.name = name;
    this.#algo = `aes-${key.length * 8}-ctr`;
    this.#key = createSecretKey(key);
    this.#counterBlock = ctrCounterBlock(nonce);
  }

  #run(iv: Uint8Array, data: Uint8Array, off: number, len: number): void {
    checkIv(this.name, iv, CTR_IV_LENGTH);
    checkRange(this.name, data, off, len);
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
