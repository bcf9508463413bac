/**
 * The OpenSSL EVP backend (through koffi): AES-GCM, AES-GMAC, ChaCha20-Poly1305, AES-CBC, AES-CTR, 3DES-CBC and
 * HMAC, each with contexts made once per SA. CCM, XCBC, CMAC, AH GMAC and NULL are left to node:crypto.
 */
import type { CryptoBackend } from '../backend.js';
import { createEvpAead } from './aead.js';
import { createEvpCipher } from './cipher.js';
import { createEvpIntegrity } from './integrity.js';
import { loadLibCrypto } from './libcrypto.js';

/** The backend, or null when koffi or OpenSSL 3 cannot be loaded. */
export function createOpenSslBackend(libraryPath?: string): CryptoBackend | null {
  const lib = loadLibCrypto(libraryPath);
  if (lib === null) return null;
  return {
    name: 'openssl',
    createAead: (params) => createEvpAead(lib, params),
    createCipher: (params) => createEvpCipher(lib, params),
    createIntegrity: (params) => createEvpIntegrity(lib, params),
  };
}
