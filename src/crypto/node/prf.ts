/**
 * PRFs (RFC 7296 2.13) on node:crypto: HMAC with SHA-1/SHA-2/MD5 (RFC 2104, RFC 4868 2.1.2),
 * AES-XCBC-PRF-128 (RFC 4434) and AES-CMAC-PRF-128 (RFC 4615).
 */
import { createHmac } from 'node:crypto';
import type { Prf } from '../types.js';
import { AES_BLOCK, AesCbcMac } from './aes-cbc-mac.js';

const ZERO_KEY = Buffer.alloc(AES_BLOCK);

class HmacPrf implements Prf {
  readonly name: string;
  readonly outputLength: number;
  readonly keyLength: number;
  readonly #hash: string;

  constructor(name: string, hash: string, outputLength: number) {
    this.name = name;
    this.#hash = hash;
    this.outputLength = outputLength;
    this.keyLength = outputLength;
  }

  compute(key: Uint8Array, data: Uint8Array): Buffer {
    return createHmac(this.#hash, key).update(data).digest();
  }
}

function fullMac(mac: AesCbcMac, data: Uint8Array): Buffer {
  const out = Buffer.alloc(AES_BLOCK);
  mac.mac([data], out, 0, AES_BLOCK);
  return out;
}

/**
 * RFC 4434 2: a 16-byte key is used as is, a shorter one is padded with zero bytes, a longer one is first
 * reduced with AES-XCBC-PRF-128 under a zero key. Output is the untruncated 128-bit MAC.
 */
class XcbcPrf implements Prf {
  readonly name = 'prfaesxcbc';
  readonly outputLength = AES_BLOCK;
  readonly keyLength = AES_BLOCK;

  compute(key: Uint8Array, data: Uint8Array): Buffer {
    let k: Uint8Array = key;
    if (key.length < AES_BLOCK) {
      k = Buffer.alloc(AES_BLOCK);
      k.set(key, 0);
    } else if (key.length > AES_BLOCK) {
      k = fullMac(AesCbcMac.xcbc(ZERO_KEY), key);
    }
    return fullMac(AesCbcMac.xcbc(k), data);
  }
}

/** RFC 4615 3: a key that is not 16 bytes is replaced by AES-CMAC(0^128, key); output is the full 128 bits. */
class CmacPrf implements Prf {
  readonly name = 'prfaescmac';
  readonly outputLength = AES_BLOCK;
  readonly keyLength = AES_BLOCK;

  compute(key: Uint8Array, data: Uint8Array): Buffer {
    const k = key.length === AES_BLOCK ? key : fullMac(AesCbcMac.cmac(ZERO_KEY), key);
    return fullMac(AesCbcMac.cmac(k), data);
  }
}

export function createHmacPrf(name: string, hash: string, outputLength: number): Prf {
  return new HmacPrf(name, hash, outputLength);
}
export function createXcbcPrf(): Prf {
  return new XcbcPrf();
}
export function createCmacPrf(): Prf {
  return new CmacPrf();
}
