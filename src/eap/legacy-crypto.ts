/**
 * The two primitives MS-CHAPv2 needs that Node's OpenSSL 3 no longer offers by default:
 *
 * - MD4 (RFC 1320), for the NT password hash: from the `js-md4` package (synchronous, no dependencies);
 * - single DES (FIPS 46-3), for the NT-Response: OpenSSL's Triple DES with three equal keys, which is single DES
 *   (E_K(D_K(E_K(x))) = E_K(x), the backward-compatible keying option of NIST SP 800-67), so OpenSSL's own DES does
 *   the work and no DES code is added.
 */
import { createCipheriv } from 'node:crypto';
import md4 from 'js-md4';

export const DES_BLOCK_LENGTH = 8;
export const DES_KEY_LENGTH = 8;

export function md4Digest(data: Uint8Array): Buffer {
  return Buffer.from(md4.arrayBuffer(data));
}

/** One DES block encrypted with an 8-byte key (parity bits ignored, as DES does). */
export function desEncryptBlock(key: Uint8Array, block: Uint8Array): Buffer {
  if (key.length !== DES_KEY_LENGTH || block.length !== DES_BLOCK_LENGTH)
    throw new RangeError('DES key and block are 8 bytes');
  const cipher = createCipheriv('des-ede3', Buffer.concat([key, key, key]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}
