/**
 * Integrity transforms on node:crypto: HMAC-MD5-96 / HMAC-SHA1-96 (RFC 2403, RFC 2404), HMAC-SHA2 (RFC 4868),
 * AES-XCBC-MAC-96 (RFC 3566), AES-CMAC-96 (RFC 4494) and AES-GMAC for AH (RFC 4543). verify() compares in
 * constant time.
 */
import { createCipheriv, createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { IntegrityParams } from '../backend.js';
import type { IntegrityTransform } from '../types.js';
import { checkIv, outOfBounds, saltedNonce } from '../packet-args.js';
import { AesCbcMac } from './aes-cbc-mac.js';

/** RFC 4543 3.1 / 4: AH GMAC nonce = salt(4) || IV(8); the tag is the full 16 bytes. */
const GMAC_SALT_LENGTH = 4;
const GMAC_IV_LENGTH = 8;

abstract class MacBase implements IntegrityTransform {
  readonly name: string;
  readonly icvLength: number;
  readonly ivLength: number = 0;
  /** Scratch for verify(); transforms are used from one thread at a time. */
  protected readonly scratch: Buffer;

  constructor(name: string, icvLength: number) {
    this.name = name;
    this.icvLength = icvLength;
    this.scratch = Buffer.alloc(icvLength);
  }

  abstract compute(chunks: readonly Uint8Array[], out: Uint8Array, outOff: number, iv?: Uint8Array): void;

  verify(chunks: readonly Uint8Array[], icv: Uint8Array, icvOff: number, iv?: Uint8Array): boolean {
    if (outOfBounds(icv, icvOff, this.icvLength)) return false;
    if (this.ivLength > 0 && iv?.length !== this.ivLength) return false;
    this.compute(chunks, this.scratch, 0, iv);
    return timingSafeEqual(this.scratch, icv.subarray(icvOff, icvOff + this.icvLength));
  }
}

class NodeHmac extends MacBase {
  readonly #hash: string;
  readonly #key: KeyObject;

  constructor(params: IntegrityParams) {
    super(params.name, params.icvLength);
    this.#hash = params.hash;
    this.#key = createSecretKey(params.key);
  }

  compute(chunks: readonly Uint8Array[], out: Uint8Array, outOff: number): void {
    const h = createHmac(this.#hash, this.#key);
    for (const chunk of chunks) h.update(chunk);
    const digest = h.digest();
    out.set(digest.subarray(0, this.icvLength), outOff);
  }
}

class NodeCbcMacIntegrity extends MacBase {
  readonly #mac: AesCbcMac;

  constructor(params: IntegrityParams, mac: AesCbcMac) {
    super(params.name, params.icvLength);
    this.#mac = mac;
  }

  compute(chunks: readonly Uint8Array[], out: Uint8Array, outOff: number): void {
    this.#mac.mac(chunks, out, outOff, this.icvLength);
  }
}

/** AES-GMAC for AH (RFC 4543 3.2 / 5): the whole ICV input is AAD, the plaintext is empty. */
class NodeGmacIntegrity extends MacBase {
  override readonly ivLength = GMAC_IV_LENGTH;
  readonly #algo: string;
  readonly #key: KeyObject;
  readonly #nonce: Buffer;
  readonly #options: { authTagLength: number };

  constructor(params: IntegrityParams) {
    super(params.name, params.icvLength);
    this.#algo = `aes-${params.key.length * 8}-gcm`;
    this.#key = createSecretKey(params.key);
    this.#nonce = saltedNonce(params.salt, GMAC_IV_LENGTH);
    this.#options = { authTagLength: params.icvLength };
  }

  compute(chunks: readonly Uint8Array[], out: Uint8Array, outOff: number, iv?: Uint8Array): void {
    checkIv(this.name, iv, GMAC_IV_LENGTH);
    this.#nonce.set(iv, GMAC_SALT_LENGTH);
    const c = createCipheriv(this.#algo as 'aes-128-gcm', this.#key, this.#nonce, this.#options);
    for (const chunk of chunks) c.setAAD(chunk);
    c.final();
    out.set(c.getAuthTag(), outOff);
  }
}

/** node:crypto integrity transform for the given parameters. */
export function createNodeIntegrity(params: IntegrityParams): IntegrityTransform {
  switch (params.mode) {
    case 'hmac':
      return new NodeHmac(params);
    case 'aes-xcbc':
      return new NodeCbcMacIntegrity(params, AesCbcMac.xcbc(params.key));
    case 'aes-cmac':
      return new NodeCbcMacIntegrity(params, AesCbcMac.cmac(params.key));
    case 'aes-gmac':
      return new NodeGmacIntegrity(params);
  }
}
