/**
 * The pluggable backend seam. Factories in index.ts resolve an algorithm to a parameter record (below) and ask
 * each registered backend in turn; the first that returns a transform wins. node:crypto is always last, so a
 * faster backend (for example OpenSSL EVP contexts reused per SA) only needs to implement what it speeds up.
 */
import type { AeadTransform, CipherTransform, IntegrityTransform } from './types.js';

/** AEAD parameters resolved from an ENCR id and the keymat length (RFC 4106, RFC 4309, RFC 4543, RFC 7634). */
export interface AeadParams {
  readonly encrId: number;
  readonly mode: 'gcm' | 'ccm' | 'chacha20-poly1305' | 'gmac';
  /** strongSwan-style name, e.g. 'aes128gcm16'. */
  readonly name: string;
  readonly key: Uint8Array;
  /** Implicit nonce part from the keymat: 4 bytes (GCM, GMAC, ChaCha20-Poly1305) or 3 bytes (CCM). */
  readonly salt: Uint8Array;
  readonly icvLength: number;
}

/** Non-AEAD cipher parameters (RFC 3602, RFC 3686, RFC 2451). */
export interface CipherParams {
  readonly encrId: number;
  readonly mode: 'aes-cbc' | 'aes-ctr' | '3des-cbc' | 'null';
  readonly name: string;
  readonly key: Uint8Array;
  /** RFC 3686 nonce for AES-CTR (4 bytes), empty otherwise. */
  readonly nonce: Uint8Array;
}

/** Integrity parameters (RFC 2404, RFC 4868, RFC 3566, RFC 4494, RFC 4543). */
export interface IntegrityParams {
  readonly integId: number;
  readonly mode: 'hmac' | 'aes-xcbc' | 'aes-cmac' | 'aes-gmac';
  readonly name: string;
  /** node:crypto hash name for HMAC ('sha1', 'sha256', ...), empty otherwise. */
  readonly hash: string;
  readonly key: Uint8Array;
  /** AES-GMAC salt (4 bytes), empty otherwise. */
  readonly salt: Uint8Array;
  readonly icvLength: number;
}

/** A crypto implementation. Each method returns undefined for parameters it does not handle. */
export interface CryptoBackend {
  readonly name: string;
  createAead?(params: AeadParams): AeadTransform | undefined;
  createCipher?(params: CipherParams): CipherTransform | undefined;
  createIntegrity?(params: IntegrityParams): IntegrityTransform | undefined;
}
