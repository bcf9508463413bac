/**
 * The Linux XFRM algorithm names `ip xfrm state add` takes (the kernel's table in net/xfrm/xfrm_algo.c, as
 * facts: canonical name, compatibility alias, default truncation) and the IKEv2 transform ids (src/crypto/ids.ts)
 * each stands for in ts-ipsec. Keymat lengths follow RFC 7296 2.17 and src/crypto/algorithms.ts: AEADs and
 * AES-CTR take key || salt (RFC 4106 8.1, RFC 4309 7.1, RFC 4543 8, RFC 7634 2,
 * RFC 3686 5.1).
 */
import { EncrId, IntegId } from '../crypto/ids.js';
import { encrInfo, integInfo } from '../crypto/algorithms.js';

/** An `aead` algorithm: which EncrId each ICV length (bits) selects. */
export interface XfrmAeadAlgorithm {
  readonly kind: 'aead';
  readonly name: string;
  readonly icvBits: Readonly<Record<number, EncrId>>;
  /** Salt bytes at the end of the keymat. */
  readonly saltLength: number;
  readonly rfc: string;
}

export interface XfrmEncAlgorithm {
  readonly kind: 'enc';
  readonly name: string;
  readonly alias?: string;
  readonly encrId: EncrId;
  /** Salt (nonce) bytes at the end of the keymat. */
  readonly saltLength: number;
  readonly rfc: string;
}

export interface XfrmAuthAlgorithm {
  readonly kind: 'auth';
  readonly name: string;
  readonly alias?: string;
  /** Truncation the kernel applies when `auth` (not `auth-trunc`) is used. */
  readonly defaultTruncBits: number;
  readonly fullBits: number;
  /** The IANA integrity transform, and the truncation it fixes. */
  readonly integId: IntegId;
  readonly truncBits: number;
  readonly rfc: string;
}

export type XfrmAlgorithmInfo = XfrmAeadAlgorithm | XfrmEncAlgorithm | XfrmAuthAlgorithm;

export const XFRM_AEAD_ALGORITHMS: readonly XfrmAeadAlgorithm[] = [
  {
    kind: 'aead',
    name: 'rfc4106(gcm(aes))',
    icvBits: { 64: EncrId.ENCR_AES_GCM_8, 96: EncrId.ENCR_AES_GCM_12, 128: EncrId.ENCR_AES_GCM_16 },
    saltLength: 4,
    rfc: 'RFC 4106',
  },
  {
    kind: 'aead',
    name: 'rfc4309(ccm(aes))',
    icvBits: { 64: EncrId.ENCR_AES_CCM_8, 96: EncrId.ENCR_AES_CCM_12, 128: EncrId.ENCR_AES_CCM_16 },
    saltLength: 3,
    rfc: 'RFC 4309',
  },
  {
    kind: 'aead',
    name: 'rfc4543(gcm(aes))',
    icvBits: { 128: EncrId.ENCR_NULL_AUTH_AES_GMAC },
    saltLength: 4,
    rfc: 'RFC 4543',
  },
  {
    kind: 'aead',
    name: 'rfc7539esp(chacha20,poly1305)',
    icvBits: { 128: EncrId.ENCR_CHACHA20_POLY1305 },
    saltLength: 4,
    rfc: 'RFC 7634',
  },
];

export const XFRM_ENC_ALGORITHMS: readonly XfrmEncAlgorithm[] = [
  { kind: 'enc', name: 'cbc(aes)', alias: 'aes', encrId: EncrId.ENCR_AES_CBC, saltLength: 0, rfc: 'RFC 3602' },
  { kind: 'enc', name: 'rfc3686(ctr(aes))', encrId: EncrId.ENCR_AES_CTR, saltLength: 4, rfc: 'RFC 3686' },
  {
    kind: 'enc',
    name: 'ecb(cipher_null)',
    alias: 'cipher_null',
    encrId: EncrId.ENCR_NULL,
    saltLength: 0,
    rfc: 'RFC 2410',
  },
  {
    kind: 'enc',
    name: 'cbc(des3_ede)',
    alias: 'des3_ede',
    encrId: EncrId.ENCR_3DES,
    saltLength: 0,
    rfc: 'RFC 2451',
  },
];

/**
 * Linux's default truncation for `auth hmac(sha256)` is 96 bits (it predates RFC 4868); ts-ipsec has no
 * such transform, so that spelling is refused with a pointer to `auth-trunc ... 128`.
 */
export const XFRM_AUTH_ALGORITHMS: readonly XfrmAuthAlgorithm[] = [
  auth('hmac(md5)', 'md5', 96, 128, IntegId.AUTH_HMAC_MD5_96, 96, 'RFC 2403'),
  auth('hmac(sha1)', 'sha1', 96, 160, IntegId.AUTH_HMAC_SHA1_96, 96, 'RFC 2404'),
  auth('hmac(sha256)', 'sha256', 96, 256, IntegId.AUTH_HMAC_SHA2_256_128, 128, 'RFC 4868'),
  auth('hmac(sha384)', undefined, 192, 384, IntegId.AUTH_HMAC_SHA2_384_192, 192, 'RFC 4868'),
  auth('hmac(sha512)', undefined, 256, 512, IntegId.AUTH_HMAC_SHA2_512_256, 256, 'RFC 4868'),
  auth('xcbc(aes)', undefined, 96, 128, IntegId.AUTH_AES_XCBC_96, 96, 'RFC 3566'),
  auth('cmac(aes)', undefined, 96, 128, IntegId.AUTH_AES_CMAC_96, 96, 'RFC 4494'),
];

function auth(
  name: string,
  alias: string | undefined,
  defaultTruncBits: number,
  fullBits: number,
  integId: IntegId,
  truncBits: number,
  rfc: string,
): XfrmAuthAlgorithm {
  const base = { kind: 'auth' as const, name, defaultTruncBits, fullBits, integId, truncBits, rfc };
  return alias === undefined ? base : { ...base, alias };
}

/** Names Linux knows but ts-ipsec does not implement, with the reason given to the user. */
export const XFRM_REFUSED_ALGORITHMS: Readonly<Record<string, string>> = {
  'rfc7539(chacha20,poly1305)': "this is the non-ESP ChaCha20-Poly1305; ESP uses 'rfc7539esp(chacha20,poly1305)'",
  'cbc(des)': 'single DES is not implemented (RFC 8221: MUST NOT)',
  des: 'single DES is not implemented (RFC 8221: MUST NOT)',
  'cbc(cast5)': 'CAST5 is not implemented',
  'cbc(blowfish)': 'Blowfish is not implemented',
  'cbc(serpent)': 'Serpent is not implemented',
  'cbc(camellia)': 'Camellia is not implemented',
  'cbc(twofish)': 'Twofish is not implemented',
  'cbc(sm4)': 'SM4 is not implemented',
  digest_null: 'ESP without integrity is expressed by leaving auth out; AH needs a real algorithm',
  'hmac(rmd160)': 'HMAC-RIPEMD-160 is not implemented',
  rmd160: 'HMAC-RIPEMD-160 is not implemented',
  'hmac(sm3)': 'HMAC-SM3 is not implemented',
};

export function findAead(name: string): XfrmAeadAlgorithm | undefined {
  return XFRM_AEAD_ALGORITHMS.find((a) => a.name === name);
}

export function findEnc(name: string): XfrmEncAlgorithm | undefined {
  return XFRM_ENC_ALGORITHMS.find((a) => a.name === name || a.alias === name);
}

export function findAuth(name: string): XfrmAuthAlgorithm | undefined {
  return XFRM_AUTH_ALGORITHMS.find((a) => a.name === name || a.alias === name);
}

/** Allowed keymat lengths in bytes for an ENCR transform (key sizes from src/crypto/algorithms.ts + salt). */
export function encKeymatLengths(encrId: number): number[] {
  const info = encrInfo[encrId];
  if (info === undefined) return [];
  return info.keySizes.map((bits) => bits / 8 + info.saltLength);
}

/** Key length in bytes an IANA integrity transform takes (RFC 4868 2.1.1, RFC 2404, RFC 3566). */
export function integKeyLength(integId: number): number | undefined {
  return integInfo[integId]?.keyLength;
}
