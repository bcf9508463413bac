/** The node:crypto backend: handles every algorithm; always the last one asked. */
import type { CryptoBackend } from '../backend.js';
import { createNodeAead } from './aead.js';
import { createNodeCipher } from './cipher.js';
import { createNodeIntegrity } from './integrity.js';

export const nodeBackend: CryptoBackend = {
  name: 'node',
  createAead: createNodeAead,
  createCipher: createNodeCipher,
  createIntegrity: createNodeIntegrity,
};
