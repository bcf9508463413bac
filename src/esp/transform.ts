/**
 * The cryptographic part of an ESP SA (RFC 4303 3.2): either one combined-mode algorithm (AEAD) or a
 * cipher plus an optional integrity algorithm, already bound to their keys. Engines see only the
 * interfaces of src/crypto/types.ts.
 */

import type { AeadTransform, CipherTransform, IntegrityTransform } from '../crypto/types.js';
import { createAead, createCipher, createIntegrity } from '../crypto/index.js';
import { EncrId, IntegId } from '../crypto/ids.js';
import { ESP_HEADER_LENGTH, ESP_MIN_ALIGN } from './constants.js';

/** Combined mode: AES-GCM (RFC 4106), AES-CCM (RFC 4309), ChaCha20-Poly1305 (RFC 7634), GMAC (RFC 4543). */
export interface EspAeadTransform {
  readonly aead: AeadTransform;
}

/**
 * Separate cipher and integrity (RFC 4303 3.2.1). `integrity: null` is confidentiality-only ESP, which RFC
 * 4303 3.2 permits but no one should configure (it exists for the RFC 3602 examples); ENCR_NULL (a cipher
 * without IV) always needs integrity.
 */
export interface EspCipherTransform {
  readonly cipher: CipherTransform;
  readonly integrity: IntegrityTransform | null;
}

export type EspTransform = EspAeadTransform | EspCipherTransform;

export function isAeadTransform(t: EspTransform): t is EspAeadTransform {
  return 'aead' in t;
}

/** Sizes an SA needs, derived once. */
export interface EspLayout {
  readonly ivLength: number;
  readonly icvLength: number;
  /** The payload + trailer is padded to a multiple of this (RFC 4303 2.4: the cipher block size, at least 4). */
  readonly align: number;
  /** Ciphertext must be a multiple of the cipher block size on receive (1 for counter modes and AEADs). */
  readonly cipherBlock: number;
  /** Header + IV: where the payload starts relative to the ESP header. */
  readonly payloadOffset: number;
  /** Whether the SA protects integrity (always true except confidentiality-only ESP). */
  readonly integrity: boolean;
  readonly name: string;
}

/** Check the combination and compute sizes. Throws RangeError for a forbidden combination. */
export function espLayout(t: EspTransform): EspLayout {
  if (isAeadTransform(t)) {
    const a = t.aead;
    return {
      ivLength: a.ivLength,
      icvLength: a.icvLength,
      align: Math.max(a.blockSize, ESP_MIN_ALIGN),
      cipherBlock: Math.max(a.blockSize, 1),
      payloadOffset: ESP_HEADER_LENGTH + a.ivLength,
      integrity: true,
      name: a.name,
    };
  }
  const c = t.cipher;
  const i = t.integrity;
  if (c.ivLength === 0 && i === null) {
    throw new RangeError('ESP with ENCR_NULL needs an integrity algorithm (RFC 4303 3.2, 5)');
  }
  if (i !== null && i.ivLength !== 0) {
    throw new RangeError(`integrity ${i.name} needs a per-packet IV; it is for AH only`);
  }
  const block = Math.max(c.blockSize, 1);
  let align = ESP_MIN_ALIGN;
  while (align % block !== 0) align += ESP_MIN_ALIGN;
  return {
    ivLength: c.ivLength,
    icvLength: i === null ? 0 : i.icvLength,
    align,
    cipherBlock: block,
    payloadOffset: ESP_HEADER_LENGTH + c.ivLength,
    integrity: i !== null,
    name: i === null ? c.name : `${c.name}-${i.name}`,
  };
}

/** Algorithm ids and keys of one direction of a CHILD_SA (RFC 7296 2.17: KEYMAT gives encryption then integrity). */
export interface EspKeys {
  /** Transform Type 1 id (EncrId). */
  readonly encrId: number;
  /** Encryption keymat: key || salt for AEADs and AES-CTR (RFC 4106 8.1, RFC 3686 5.1), the key otherwise. */
  readonly encKey: Uint8Array;
  /** Transform Type 3 id (IntegId); NONE for AEADs. */
  readonly integId: number;
  readonly integKey: Uint8Array;
}

const AEAD_IDS: ReadonlySet<number> = new Set([
  EncrId.ENCR_AES_GCM_8,
  EncrId.ENCR_AES_GCM_12,
  EncrId.ENCR_AES_GCM_16,
  EncrId.ENCR_AES_CCM_8,
  EncrId.ENCR_AES_CCM_12,
  EncrId.ENCR_AES_CCM_16,
  EncrId.ENCR_NULL_AUTH_AES_GMAC,
  EncrId.ENCR_CHACHA20_POLY1305,
]);

/**
 * Build the transform of one SA direction through the crypto provider (RFC 4303 3.2). AEADs take no
 * integrity algorithm (RFC 4106 4, RFC 7296 3.3); ENCR_NULL needs one. Throws CryptoError/RangeError.
 */
export function createEspTransform(k: EspKeys): EspTransform {
  if (AEAD_IDS.has(k.encrId)) {
    if (k.integId !== IntegId.NONE) throw new RangeError('an AEAD takes no separate integrity algorithm');
    return { aead: createAead(k.encrId, k.encKey) };
  }
  const cipher = createCipher(k.encrId, k.encKey);
  const integrity = k.integId === IntegId.NONE ? null : createIntegrity(k.integId, k.integKey);
  const t: EspCipherTransform = { cipher, integrity };
  espLayout(t);
  return t;
}
