/**
 * IKEv2 transform identifiers (IANA "Internet Key Exchange Version 2 (IKEv2) Parameters",
 * RFC 7296 section 3.3.2 and later RFCs). ESP and AH use the same numbers.
 */

/** Transform Type 1: Encryption Algorithm (RFC 7296 3.3.2, RFC 4106, RFC 4309, RFC 4543, RFC 7634). */
export const EncrId = {
  ENCR_3DES: 3,
  ENCR_NULL: 11,
  ENCR_AES_CBC: 12,
  ENCR_AES_CTR: 13,
  ENCR_AES_CCM_8: 14,
  ENCR_AES_CCM_12: 15,
  ENCR_AES_CCM_16: 16,
  ENCR_AES_GCM_8: 18,
  ENCR_AES_GCM_12: 19,
  ENCR_AES_GCM_16: 20,
  ENCR_NULL_AUTH_AES_GMAC: 21,
  ENCR_CHACHA20_POLY1305: 28,
} as const;
export type EncrId = (typeof EncrId)[keyof typeof EncrId];

/** Transform Type 2: Pseudorandom Function (RFC 7296 3.3.2, RFC 4434, RFC 4615, RFC 4868). */
export const PrfId = {
  PRF_HMAC_MD5: 1,
  PRF_HMAC_SHA1: 2,
  PRF_AES128_XCBC: 4,
  PRF_HMAC_SHA2_256: 5,
  PRF_HMAC_SHA2_384: 6,
  PRF_HMAC_SHA2_512: 7,
  PRF_AES128_CMAC: 8,
} as const;
export type PrfId = (typeof PrfId)[keyof typeof PrfId];

/** Transform Type 3: Integrity Algorithm (RFC 7296 3.3.2, RFC 4494, RFC 4543, RFC 4868). */
export const IntegId = {
  NONE: 0,
  AUTH_HMAC_MD5_96: 1,
  AUTH_HMAC_SHA1_96: 2,
  AUTH_AES_XCBC_96: 5,
  AUTH_AES_CMAC_96: 8,
  AUTH_AES_128_GMAC: 9,
  AUTH_AES_192_GMAC: 10,
  AUTH_AES_256_GMAC: 11,
  AUTH_HMAC_SHA2_256_128: 12,
  AUTH_HMAC_SHA2_384_192: 13,
  AUTH_HMAC_SHA2_512_256: 14,
} as const;
export type IntegId = (typeof IntegId)[keyof typeof IntegId];

/** Transform Type 4: Key Exchange Method (RFC 7296 3.3.2, RFC 3526, RFC 5903, RFC 5114, RFC 8031, RFC 9370). */
export const KeGroup = {
  NONE: 0,
  MODP_768: 1,
  MODP_1024: 2,
  MODP_1536: 5,
  MODP_2048: 14,
  MODP_3072: 15,
  MODP_4096: 16,
  MODP_6144: 17,
  MODP_8192: 18,
  ECP_256: 19,
  ECP_384: 20,
  ECP_521: 21,
  /** RFC 5114 MODP groups with prime-order subgroups; RFC 8247 says SHOULD NOT, so they are off by default. */
  MODP_1024_160: 22,
  MODP_2048_224: 23,
  MODP_2048_256: 24,
  ECP_192: 25,
  ECP_224: 26,
  BRAINPOOL_P224: 27,
  BRAINPOOL_P256: 28,
  BRAINPOOL_P384: 29,
  BRAINPOOL_P512: 30,
  CURVE25519: 31,
  CURVE448: 32,
} as const;
export type KeGroup = (typeof KeGroup)[keyof typeof KeGroup];

/** Transform Type 5: Extended Sequence Numbers (RFC 7296 3.3.2). */
export const EsnId = {
  NO_ESN: 0,
  ESN: 1,
} as const;
export type EsnId = (typeof EsnId)[keyof typeof EsnId];

/** Reverse lookup for logs: nameOf(EncrId, 20) === 'ENCR_AES_GCM_16'. */
export function nameOf(table: Readonly<Record<string, number>>, value: number): string {
  for (const [k, v] of Object.entries(table)) if (v === value) return k;
  return `UNKNOWN(${value})`;
}
