/**
 * The crypto provider: factories that turn IANA transform ids and keymat into bound transforms
 * (types.ts), prf+ (RFC 7296 2.13), key exchange, algorithm facts and Rngs. node:crypto does the work
 * unless another CryptoBackend is registered in front of it.
 */
import type { AeadParams, CipherParams, CryptoBackend, IntegrityParams } from './backend.js';
import { encrInfo, encrName, groupInfo, integInfo, keywordOf } from './algorithms.js';
import { EncrId, IntegId, PrfId, nameOf, KeGroup } from './ids.js';
import { nodeBackend } from './node/backend.js';
import { createOpenSslBackend } from './openssl/backend.js';
import { libCryptoLoadError } from './openssl/libcrypto.js';
import { createNodeKeyExchange, createNodeKeyExchangeFromPrivate, nodeSupportsGroup } from './node/key-exchange.js';
import { createCmacPrf, createHmacPrf, createXcbcPrf } from './node/prf.js';
import { CryptoError } from './types.js';
import type { AeadTransform, CipherTransform, IntegrityTransform, KeyExchange, Prf, Rng } from './types.js';

export * from './ids.js';
export * from './types.js';
export * from './algorithms.js';
export type { AeadParams, CipherParams, CryptoBackend, IntegrityParams } from './backend.js';
export { prfPlus, PRF_PLUS_MAX_ITERATIONS } from './prf-plus.js';
export { nodeRng, createTestRng } from './rng.js';
export { nodeBackend } from './node/backend.js';
export { createOpenSslBackend } from './openssl/backend.js';

/** Backends asked before node:crypto, most preferred first; undefined until configured (then 'auto'). */
let preferredBackends: CryptoBackend[] | undefined;

/** Put backends in front of node:crypto (replacing any set before); pass [] to use node:crypto only. */
export function setCryptoBackends(backends: readonly CryptoBackend[]): void {
  preferredBackends = [...backends];
}

/**
 * Backend selection: 'openssl' puts the OpenSSL EVP backend (per-SA contexts through koffi) in front of
 * node:crypto and fails if it cannot be loaded; 'auto' (the default) does so when it can; 'node' uses node:crypto
 * only. The daemon maps its environment (e.g. TSIPSEC_CRYPTO_BACKEND=node) onto this; the core reads no
 * environment. Returns the chain's backend names.
 */
export function configureCryptoBackend(choice: string = 'auto', libraryPath?: string): readonly string[] {
  if (choice !== 'auto' && choice !== 'node' && choice !== 'openssl') {
    throw new CryptoError(`unknown crypto backend '${choice}' (use auto, node or openssl)`);
  }
  if (choice === 'node') {
    setCryptoBackends([]);
  } else {
    const openssl = createOpenSslBackend(libraryPath);
    if (openssl === null && choice === 'openssl') {
      throw new CryptoError(`OpenSSL backend unavailable: ${libCryptoLoadError()}`);
    }
    setCryptoBackends(openssl === null ? [] : [openssl]);
  }
  return cryptoBackends().map((b) => b.name);
}

/** The backends in the order the factories ask them (node:crypto last). */
export function cryptoBackends(): readonly CryptoBackend[] {
  if (preferredBackends === undefined) configureCryptoBackend('auto');
  return [...(preferredBackends ?? []), nodeBackend];
}

/** Options every transform factory takes. */
export interface FactoryOptions {
  /** Use exactly this backend instead of the registered chain. */
  readonly backend?: CryptoBackend;
}

function chain(options: FactoryOptions | undefined): readonly CryptoBackend[] {
  return options?.backend !== undefined ? [options.backend] : cryptoBackends();
}

function unsupported(what: string): CryptoError {
  return new CryptoError(`${what} is not supported`);
}

const AEAD_MODES: Readonly<Record<number, AeadParams['mode']>> = {
  [EncrId.ENCR_AES_CCM_8]: 'ccm',
  [EncrId.ENCR_AES_CCM_12]: 'ccm',
  [EncrId.ENCR_AES_CCM_16]: 'ccm',
  [EncrId.ENCR_AES_GCM_8]: 'gcm',
  [EncrId.ENCR_AES_GCM_12]: 'gcm',
  [EncrId.ENCR_AES_GCM_16]: 'gcm',
  [EncrId.ENCR_NULL_AUTH_AES_GMAC]: 'gmac',
  [EncrId.ENCR_CHACHA20_POLY1305]: 'chacha20-poly1305',
};

/** Split keymat = key || salt and check the key size against the transform's allowed sizes. */
function splitKeymat(encrId: number, keyMaterial: Uint8Array): { key: Uint8Array; salt: Uint8Array; keyBits: number } {
  const info = encrInfo[encrId];
  if (info === undefined) throw unsupported(nameOf(EncrId, encrId));
  const keyLength = keyMaterial.length - info.saltLength;
  const keyBits = keyLength * 8;
  if (keyLength < 0 || !info.keySizes.includes(keyBits)) {
    const allowed = info.keySizes.map((b) => b / 8 + info.saltLength).join('/');
    throw new CryptoError(`${nameOf(EncrId, encrId)}: keymat is ${keyMaterial.length} bytes, expected ${allowed}`);
  }
  // Copies, so later changes to the caller's keymat buffer cannot reach the transform.
  return {
    key: Buffer.from(keyMaterial.subarray(0, keyLength)),
    salt: Buffer.from(keyMaterial.subarray(keyLength)),
    keyBits,
  };
}

/**
 * An AEAD bound to keymat = key || salt (RFC 4106 8.1, RFC 4309 7.1, RFC 4543 5, RFC 7634 2): 4-byte salt for
 * GCM, GMAC and ChaCha20-Poly1305, 3-byte for CCM. AES key size follows from the keymat length.
 */
export function createAead(encrId: number, keyMaterial: Uint8Array, options?: FactoryOptions): AeadTransform {
  const mode = AEAD_MODES[encrId];
  if (mode === undefined) throw new CryptoError(`${nameOf(EncrId, encrId)} is not an AEAD`);
  const { key, salt, keyBits } = splitKeymat(encrId, keyMaterial);
  const info = encrInfo[encrId];
  const params: AeadParams = {
    encrId,
    mode,
    name: encrName(encrId, keyBits),
    key,
    salt,
    icvLength: info?.icvLength ?? 0,
  };
  for (const b of chain(options)) {
    const t = b.createAead?.(params);
    if (t !== undefined) return t;
  }
  throw unsupported(params.name);
}

const CIPHER_MODES: Readonly<Record<number, CipherParams['mode']>> = {
  [EncrId.ENCR_AES_CBC]: 'aes-cbc',
  [EncrId.ENCR_AES_CTR]: 'aes-ctr',
  [EncrId.ENCR_3DES]: '3des-cbc',
  [EncrId.ENCR_NULL]: 'null',
};

/**
 * A non-AEAD cipher: ENCR_AES_CBC (16/24/32-byte key), ENCR_AES_CTR (key || 4-byte nonce, RFC 3686 5.1),
 * ENCR_3DES (24-byte key), ENCR_NULL (empty key).
 */
export function createCipher(encrId: number, key: Uint8Array, options?: FactoryOptions): CipherTransform {
  const mode = CIPHER_MODES[encrId];
  if (mode === undefined) throw new CryptoError(`${nameOf(EncrId, encrId)} is not a plain cipher`);
  const split = splitKeymat(encrId, key);
  const params: CipherParams = {
    encrId,
    mode,
    name: encrName(encrId, split.keyBits),
    key: split.key,
    nonce: split.salt,
  };
  for (const b of chain(options)) {
    const t = b.createCipher?.(params);
    if (t !== undefined) return t;
  }
  throw unsupported(params.name);
}

const INTEG_MODES: Readonly<Record<number, { mode: IntegrityParams['mode']; hash: string }>> = {
  [IntegId.AUTH_HMAC_MD5_96]: { mode: 'hmac', hash: 'md5' },
  [IntegId.AUTH_HMAC_SHA1_96]: { mode: 'hmac', hash: 'sha1' },
  [IntegId.AUTH_HMAC_SHA2_256_128]: { mode: 'hmac', hash: 'sha256' },
  [IntegId.AUTH_HMAC_SHA2_384_192]: { mode: 'hmac', hash: 'sha384' },
  [IntegId.AUTH_HMAC_SHA2_512_256]: { mode: 'hmac', hash: 'sha512' },
  [IntegId.AUTH_AES_XCBC_96]: { mode: 'aes-xcbc', hash: '' },
  [IntegId.AUTH_AES_CMAC_96]: { mode: 'aes-cmac', hash: '' },
  [IntegId.AUTH_AES_128_GMAC]: { mode: 'aes-gmac', hash: '' },
  [IntegId.AUTH_AES_192_GMAC]: { mode: 'aes-gmac', hash: '' },
  [IntegId.AUTH_AES_256_GMAC]: { mode: 'aes-gmac', hash: '' },
};

/** RFC 4543 3.2: AH AES-GMAC keymat = AES key || 4-byte salt. */
const GMAC_SALT_LENGTH = 4;

/**
 * An integrity transform bound to its key (RFC 2404, RFC 4868 2.1.1, RFC 3566, RFC 4494, RFC 4543). The key
 * must have exactly the algorithm's key length (for AES-GMAC: key || 4-byte salt).
 */
export function createIntegrity(integId: number, key: Uint8Array, options?: FactoryOptions): IntegrityTransform {
  const m = INTEG_MODES[integId];
  const info = integInfo[integId];
  if (m === undefined || info === undefined) throw unsupported(nameOf(IntegId, integId));
  if (key.length !== info.keyLength) {
    throw new CryptoError(`${nameOf(IntegId, integId)}: key is ${key.length} bytes, expected ${info.keyLength}`);
  }
  const saltLength = m.mode === 'aes-gmac' ? GMAC_SALT_LENGTH : 0;
  const params: IntegrityParams = {
    integId,
    mode: m.mode,
    name: m.mode === 'aes-gmac' ? `aes${(key.length - saltLength) * 8}gmac` : keywordOf('integ', integId),
    hash: m.hash,
    key: Buffer.from(key.subarray(0, key.length - saltLength)),
    salt: Buffer.from(key.subarray(key.length - saltLength)),
    icvLength: info.icvLength,
  };
  for (const b of chain(options)) {
    const t = b.createIntegrity?.(params);
    if (t !== undefined) return t;
  }
  throw unsupported(params.name);
}

/** A PRF (RFC 7296 2.13, RFC 4868 2.1.2, RFC 4434, RFC 4615). */
export function createPrf(prfId: number): Prf {
  switch (prfId) {
    case PrfId.PRF_HMAC_MD5:
      return createHmacPrf('prfmd5', 'md5', 16);
    case PrfId.PRF_HMAC_SHA1:
      return createHmacPrf('prfsha1', 'sha1', 20);
    case PrfId.PRF_HMAC_SHA2_256:
      return createHmacPrf('prfsha256', 'sha256', 32);
    case PrfId.PRF_HMAC_SHA2_384:
      return createHmacPrf('prfsha384', 'sha384', 48);
    case PrfId.PRF_HMAC_SHA2_512:
      return createHmacPrf('prfsha512', 'sha512', 64);
    case PrfId.PRF_AES128_XCBC:
      return createXcbcPrf();
    case PrfId.PRF_AES128_CMAC:
      return createCmacPrf();
    default:
      throw unsupported(nameOf(PrfId, prfId));
  }
}

/** Options for key exchange. */
export interface KeyExchangeOptions {
  /** Allow groups RFC 8247 deprecates (1, 2, 5, 22, 23, 24). Off by default. */
  readonly allowWeak?: boolean;
}

function checkGroup(group: number, options: KeyExchangeOptions | undefined): void {
  const info = groupInfo[group];
  if (info === undefined || !nodeSupportsGroup(group)) throw unsupported(`key exchange ${nameOf(KeGroup, group)}`);
  if (info.weak && options?.allowWeak !== true) {
    throw new CryptoError(`key exchange ${nameOf(KeGroup, group)} is weak and disabled (set allowWeak to use it)`);
  }
}

/** Our side of a key exchange with a fresh private value from rng (RFC 7296 1.2). */
export function createKeyExchange(group: number, rng: Rng, options?: KeyExchangeOptions): KeyExchange {
  checkGroup(group, options);
  return createNodeKeyExchange(group, rng);
}

/**
 * Our side of a key exchange from a known private value (known-answer tests, or a stored key):
 * a big-endian exponent (MODP) or scalar (ECP), or the raw 32/56-byte RFC 7748 scalar.
 */
export function createKeyExchangeFromPrivateKey(
  group: number,
  privateKey: Uint8Array,
  options?: KeyExchangeOptions,
): KeyExchange {
  checkGroup(group, options);
  return createNodeKeyExchangeFromPrivate(group, privateKey);
}
