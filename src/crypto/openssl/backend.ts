/** The OpenSSL EVP backend (through koffi): AES-GCM, AES-GMAC and ChaCha20-Poly1305 with per-SA contexts. */
import type { CryptoBackend } from '../backend.js';
import { createEvpAead } from './aead.js';
import { loadLibCrypto } from './libcrypto.js';

/** The backend, or null when koffi or OpenSSL 3 cannot be loaded. */
export function createOpenSslBackend(libraryPath?: string): CryptoBackend | null {
  const lib = loadLibCrypto(libraryPath);
  if (lib === null) return null;
  return {
    name: 'openssl',
    createAead: (params) => createEvpAead(lib, params),
  };
}
