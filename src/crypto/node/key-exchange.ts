/**
 * Key exchange on node:crypto (RFC 7296 1.2, 3.4): MODP (RFC 2409, RFC 3526, RFC 5114), ECP (RFC 5903,
 * RFC 5114, RFC 6954 brainpool) and Curve25519/Curve448 (RFC 8031). Peer values are checked before use
 * (RFC 6989, RFC 7296 3.4, RFC 8031 2).
 */
import {
  createDiffieHellman,
  createECDH,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  getDiffieHellman,
} from 'node:crypto';
import type { DiffieHellman, ECDH, KeyObject } from 'node:crypto';
import { KeGroup } from '../ids.js';
import { CryptoError } from '../types.js';
import type { KeyExchange, Rng } from '../types.js';
import { RFC5114_GROUPS } from './modp-rfc5114.js';

/** Node's built-in RFC 2409 / RFC 3526 groups. */
const NODE_MODP: Readonly<Record<number, string>> = {
  [KeGroup.MODP_768]: 'modp1',
  [KeGroup.MODP_1024]: 'modp2',
  [KeGroup.MODP_1536]: 'modp5',
  [KeGroup.MODP_2048]: 'modp14',
  [KeGroup.MODP_3072]: 'modp15',
  [KeGroup.MODP_4096]: 'modp16',
  [KeGroup.MODP_6144]: 'modp17',
  [KeGroup.MODP_8192]: 'modp18',
};

/** OpenSSL curve names and field sizes (RFC 5903 3, RFC 5114 2.6-2.7, RFC 6954 2). */
const ECP_CURVES: Readonly<
  Record<number, { readonly curve: string; readonly fieldLength: number; readonly orderBits: number }>
> = {
  [KeGroup.ECP_256]: { curve: 'prime256v1', fieldLength: 32, orderBits: 256 },
  [KeGroup.ECP_384]: { curve: 'secp384r1', fieldLength: 48, orderBits: 384 },
  [KeGroup.ECP_521]: { curve: 'secp521r1', fieldLength: 66, orderBits: 521 },
  [KeGroup.ECP_192]: { curve: 'prime192v1', fieldLength: 24, orderBits: 192 },
  [KeGroup.ECP_224]: { curve: 'secp224r1', fieldLength: 28, orderBits: 224 },
  [KeGroup.BRAINPOOL_P224]: { curve: 'brainpoolP224r1', fieldLength: 28, orderBits: 224 },
  [KeGroup.BRAINPOOL_P256]: { curve: 'brainpoolP256r1', fieldLength: 32, orderBits: 256 },
  [KeGroup.BRAINPOOL_P384]: { curve: 'brainpoolP384r1', fieldLength: 48, orderBits: 384 },
  [KeGroup.BRAINPOOL_P512]: { curve: 'brainpoolP512r1', fieldLength: 64, orderBits: 512 },
};

/** RFC 8410 DER wrappers for raw X25519/X448 keys (PKCS#8 private, SPKI public). */
/**
 * RFC 8031 curves, imported as raw keys through JWK (RFC 8037 OKP): OpenSSL 3 decodes a PKCS#8 or SPKI DER key
 * through its generic decoder chain, about ten times the cost of the key agreement itself (0.8 ms against 0.1 ms
 * of CPU for one responder's x25519 here), which made x25519 dearer than ecp256.
 */
const CURVES: Readonly<Record<number, { readonly length: number; readonly crv: 'X25519' | 'X448' }>> = {
  [KeGroup.CURVE25519]: { length: 32, crv: 'X25519' },
  [KeGroup.CURVE448]: { length: 56, crv: 'X448' },
};

/** Uncompressed SEC1 point marker that RFC 5903 7 leaves out of the KE payload. */
const SEC1_UNCOMPRESSED = 0x04;
/** Bound on rejection sampling of a private scalar; failing it means the Rng is broken. */
const MAX_KEYGEN_TRIES = 256;

function leftPad(value: Buffer, length: number): Buffer {
  if (value.length === length) return value;
  if (value.length > length) throw new CryptoError(`value of ${value.length} bytes exceeds ${length}`);
  const out = Buffer.alloc(length);
  value.copy(out, length - value.length);
  return out;
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0
    ? 0n
    : BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')}`);
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if ((e & 1n) === 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const b of bytes) acc |= b;
  return acc === 0;
}

class ModpKeyExchange implements KeyExchange {
  readonly group: number;
  readonly publicKey: Buffer;
  readonly #dh: DiffieHellman;
  readonly #primeLength: number;
  readonly #p: bigint;
  readonly #q: bigint | undefined;

  constructor(group: number, dh: DiffieHellman, q: bigint | undefined) {
    this.group = group;
    this.#dh = dh;
    const prime = dh.getPrime();
    this.#primeLength = prime.length;
    this.#p = toBigInt(prime);
    this.#q = q;
    this.publicKey = leftPad(dh.getPublicKey(), this.#primeLength);
  }

  /** RFC 6989 2.1: 1 < y < p-1, and for RFC 5114 groups y^q = 1 mod p (2.2). */
  computeSharedSecret(peerPublic: Uint8Array): Buffer {
    if (peerPublic.length !== this.#primeLength) {
      throw new CryptoError(
        `MODP group ${this.group}: public value is ${peerPublic.length} bytes, expected ${this.#primeLength}`,
      );
    }
    const y = toBigInt(peerPublic);
    if (y <= 1n || y >= this.#p - 1n) throw new CryptoError(`MODP group ${this.group}: public value out of range`);
    if (this.#q !== undefined && modPow(y, this.#q, this.#p) !== 1n) {
      throw new CryptoError(`MODP group ${this.group}: public value not in the prime-order subgroup`);
    }
    return leftPad(this.#dh.computeSecret(peerPublic), this.#primeLength);
  }
}

class EcpKeyExchange implements KeyExchange {
  readonly group: number;
  readonly publicKey: Buffer;
  readonly #ecdh: ECDH;
  readonly #fieldLength: number;

  constructor(group: number, ecdh: ECDH, fieldLength: number) {
    this.group = group;
    this.#ecdh = ecdh;
    this.#fieldLength = fieldLength;
    // RFC 5903 7: x || y, each zero-padded to the field size, without the 0x04 prefix.
    this.publicKey = ecdh.getPublicKey().subarray(1);
  }

  /** RFC 5903 7 / 9: the peer point must be on the curve; g^ir is the x coordinate only. */
  computeSharedSecret(peerPublic: Uint8Array): Buffer {
    if (peerPublic.length !== 2 * this.#fieldLength) {
      throw new CryptoError(
        `ECP group ${this.group}: public value is ${peerPublic.length} bytes, expected ${2 * this.#fieldLength}`,
      );
    }
    const point = Buffer.alloc(1 + peerPublic.length);
    point[0] = SEC1_UNCOMPRESSED;
    point.set(peerPublic, 1);
    let secret: Buffer;
    try {
      secret = this.#ecdh.computeSecret(point);
    } catch {
      throw new CryptoError(`ECP group ${this.group}: public value is not a point on the curve`);
    }
    return leftPad(secret, this.#fieldLength);
  }
}

class CurveKeyExchange implements KeyExchange {
  readonly group: number;
  readonly publicKey: Buffer;
  readonly #privateKey: KeyObject;
  readonly #length: number;
  readonly #crv: 'X25519' | 'X448';

  constructor(group: number, privateKey: KeyObject, length: number, crv: 'X25519' | 'X448') {
    this.group = group;
    this.#privateKey = privateKey;
    this.#length = length;
    this.#crv = crv;
    const x = createPublicKey(privateKey).export({ format: 'jwk' }).x;
    this.publicKey = Buffer.from(x ?? '', 'base64url');
    if (this.publicKey.length !== length) throw new CryptoError(`group ${group}: no public value derived`);
  }

  /** RFC 8031 2: the public value is the raw u-coordinate; an all-zero result MUST be rejected. */
  computeSharedSecret(peerPublic: Uint8Array): Buffer {
    if (peerPublic.length !== this.#length) {
      throw new CryptoError(
        `group ${this.group}: public value is ${peerPublic.length} bytes, expected ${this.#length}`,
      );
    }
    let secret: Buffer;
    try {
      const x = Buffer.from(peerPublic).toString('base64url');
      const publicKey = createPublicKey({ key: { kty: 'OKP', crv: this.#crv, x }, format: 'jwk' });
      secret = diffieHellman({ privateKey: this.#privateKey, publicKey });
    } catch {
      throw new CryptoError(`group ${this.group}: key agreement failed (low-order public value)`);
    }
    if (secret.length !== this.#length || isAllZero(secret)) {
      throw new CryptoError(`group ${this.group}: all-zero shared secret (RFC 8031 2)`);
    }
    return secret;
  }
}

function modpDh(group: number): { dh: DiffieHellman; q: bigint | undefined } | undefined {
  const builtin = NODE_MODP[group];
  if (builtin !== undefined) {
    const prime = getDiffieHellman(builtin).getPrime();
    return { dh: createDiffieHellman(prime, Buffer.from([2])), q: undefined };
  }
  const sub = RFC5114_GROUPS[group];
  if (sub === undefined) return undefined;
  return { dh: createDiffieHellman(Buffer.from(sub.p, 'hex'), Buffer.from(sub.g, 'hex')), q: BigInt(`0x${sub.q}`) };
}

/** True if the node:crypto backend implements this group. */
export function nodeSupportsGroup(group: number): boolean {
  return (
    NODE_MODP[group] !== undefined ||
    RFC5114_GROUPS[group] !== undefined ||
    ECP_CURVES[group] !== undefined ||
    CURVES[group] !== undefined
  );
}

/**
 * A key exchange with a private value drawn from rng. MODP exponents: for RFC 5114 groups uniform in
 * [2, q-1]; otherwise one bit shorter than the prime. ECP scalars: uniform in [1, n-1] by rejection.
 */
export function createNodeKeyExchange(group: number, rng: Rng): KeyExchange {
  const modp = modpDh(group);
  if (modp !== undefined) {
    const primeLength = modp.dh.getPrime().length;
    let priv: Buffer;
    if (modp.q !== undefined) {
      const qBytes = Buffer.from(
        modp.q.toString(16).padStart(2 * Math.ceil(modp.q.toString(16).length / 2), '0'),
        'hex',
      );
      priv = sampleBelow(rng, qBytes, 2n);
    } else {
      priv = rng.bytes(primeLength);
      priv[0] = (priv[0] ?? 0) & 0x7f;
    }
    return createNodeKeyExchangeFromPrivate(group, priv);
  }
  const ecp = ECP_CURVES[group];
  if (ecp !== undefined) {
    const ecdh = createECDH(ecp.curve);
    const topBits = ecp.orderBits % 8;
    for (let i = 0; i < MAX_KEYGEN_TRIES; i++) {
      const priv = rng.bytes(ecp.fieldLength);
      if (topBits !== 0) priv[0] = (priv[0] ?? 0) & ((1 << topBits) - 1);
      try {
        ecdh.setPrivateKey(priv); // rejects 0 and values >= n
      } catch {
        continue;
      }
      return new EcpKeyExchange(group, ecdh, ecp.fieldLength);
    }
    throw new CryptoError(`ECP group ${group}: could not draw a private key`);
  }
  const curve = CURVES[group];
  if (curve !== undefined) return createNodeKeyExchangeFromPrivate(group, rng.bytes(curve.length));
  throw new CryptoError(`key exchange group ${group} is not supported`);
}

function sampleBelow(rng: Rng, bound: Buffer, min: bigint): Buffer {
  const limit = toBigInt(bound);
  const topBits = limit.toString(2).length % 8;
  for (let i = 0; i < MAX_KEYGEN_TRIES; i++) {
    const x = rng.bytes(bound.length);
    if (topBits !== 0) x[0] = (x[0] ?? 0) & ((1 << topBits) - 1);
    const v = toBigInt(x);
    if (v >= min && v < limit) return x;
  }
  throw new CryptoError('could not draw a private exponent');
}

/** A key exchange from a given private value (big-endian exponent/scalar, or the raw RFC 7748 scalar). */
export function createNodeKeyExchangeFromPrivate(group: number, privateKey: Uint8Array): KeyExchange {
  const modp = modpDh(group);
  if (modp !== undefined) {
    modp.dh.setPrivateKey(Buffer.from(privateKey));
    modp.dh.generateKeys();
    return new ModpKeyExchange(group, modp.dh, modp.q);
  }
  const ecp = ECP_CURVES[group];
  if (ecp !== undefined) {
    const ecdh = createECDH(ecp.curve);
    try {
      ecdh.setPrivateKey(Buffer.from(privateKey));
    } catch {
      throw new CryptoError(`ECP group ${group}: invalid private key`);
    }
    return new EcpKeyExchange(group, ecdh, ecp.fieldLength);
  }
  const curve = CURVES[group];
  if (curve !== undefined) {
    if (privateKey.length !== curve.length)
      throw new CryptoError(`group ${group}: private key must be ${curve.length} bytes`);
    // Node takes the raw private value `d` (EVP_PKEY_new_raw_private_key) and derives the public value from it;
    // `x` must be present in a private JWK but is not used, so a placeholder of the right length goes there.
    const jwk = {
      kty: 'OKP',
      crv: curve.crv,
      d: Buffer.from(privateKey).toString('base64url'),
      x: Buffer.alloc(curve.length).toString('base64url'),
    };
    const key = createPrivateKey({ key: jwk, format: 'jwk' });
    return new CurveKeyExchange(group, key, curve.length, curve.crv);
  }
  throw new CryptoError(`key exchange group ${group} is not supported`);
}
