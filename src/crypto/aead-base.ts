/**
 * The fixed facts of every AEAD transform (types.ts AeadTransform), shared by the node:crypto and OpenSSL
 * backends: 8-byte explicit IV, no block alignment of its own, and for ENCR_NULL_AUTH_AES_GMAC (RFC 4543 3.3)
 * authentication only.
 */
import type { AeadParams } from './backend.js';
import { AEAD_IV_LENGTH } from './packet-args.js';

export abstract class AeadBase {
  readonly kind = 'aead';
  readonly name: string;
  readonly ivLength = AEAD_IV_LENGTH;
  readonly icvLength: number;
  readonly blockSize = 1;
  readonly authOnly: boolean;

  constructor(params: AeadParams) {
    this.name = params.name;
    this.icvLength = params.icvLength;
    this.authOnly = params.mode === 'gmac';
  }
}
