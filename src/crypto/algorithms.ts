/**
 * Algorithm facts the IKE keymat (RFC 7296 2.14, 2.17) and proposal code need, and the strongSwan proposal
 * keywords that map to them. Pure data: no crypto happens here.
 */
import { EncrId, IntegId, KeGroup, PrfId, EsnId } from './ids.js';

/** Encryption transform facts. keymat = key || salt, as IKEv2 draws it (RFC 4106 8.1, RFC 4309 7.1, RFC 3686 5.1). */
export interface EncrInfo {
  /** Allowed key sizes in bits (the Key Length attribute values; RFC 7296 3.3.5). */
  readonly keySizes: readonly number[];
  /** True if the transform carries a Key Length attribute (AES variants); false for 3DES, ChaCha20, NULL. */
  readonly keyLengthAttribute: boolean;
  /** Bytes of keymat after the key: 4 (GCM, GMAC, CTR, ChaCha20-Poly1305), 3 (CCM), 0 otherwise. */
  readonly saltLength: number;
  /** Explicit per-packet IV bytes. */
  readonly ivLength: number;
  /** ICV bytes for AEADs, 0 for plain ciphers. */
  readonly icvLength: number;
  /** Cipher block size (1 for stream/counter modes). */
  readonly blockSize: number;
  readonly aead: boolean;
}

const AES_SIZES = [128, 192, 256] as const;

function aes(saltLength: number, ivLength: number, icvLength: number, blockSize: number): EncrInfo {
  return {
    keySizes: AES_SIZES,
    keyLengthAttribute: true,
    saltLength,
    ivLength,
    icvLength,
    blockSize,
    aead: icvLength > 0,
  };
}

/** ENCR transform facts by id (RFC 3602, RFC 3686, RFC 4106, RFC 4309, RFC 4543, RFC 7634, RFC 2451). */
export const encrInfo: Readonly<Record<number, EncrInfo>> = {
  [EncrId.ENCR_3DES]: {
    keySizes: [192],
    keyLengthAttribute: false,
    saltLength: 0,
    ivLength: 8,
    icvLength: 0,
    blockSize: 8,
    aead: false,
  },
  [EncrId.ENCR_NULL]: {
    keySizes: [0],
    keyLengthAttribute: false,
    saltLength: 0,
    ivLength: 0,
    icvLength: 0,
    blockSize: 1,
    aead: false,
  },
  [EncrId.ENCR_AES_CBC]: aes(0, 16, 0, 16),
  [EncrId.ENCR_AES_CTR]: aes(4, 8, 0, 1),
  [EncrId.ENCR_AES_CCM_8]: aes(3, 8, 8, 1),
  [EncrId.ENCR_AES_CCM_12]: aes(3, 8, 12, 1),
  [EncrId.ENCR_AES_CCM_16]: aes(3, 8, 16, 1),
  [EncrId.ENCR_AES_GCM_8]: aes(4, 8, 8, 1),
  [EncrId.ENCR_AES_GCM_12]: aes(4, 8, 12, 1),
  [EncrId.ENCR_AES_GCM_16]: aes(4, 8, 16, 1),
  [EncrId.ENCR_NULL_AUTH_AES_GMAC]: aes(4, 8, 16, 1),
  [EncrId.ENCR_CHACHA20_POLY1305]: {
    keySizes: [256],
    keyLengthAttribute: false,
    saltLength: 4,
    ivLength: 8,
    icvLength: 16,
    blockSize: 1,
    aead: true,
  },
};

/** Keymat bytes for an ENCR transform: key bits / 8 + salt (RFC 7296 2.17 draws this many for each SK_e / KEYMAT). */
export function encrKeymatLength(encrId: number, keyBits: number): number | undefined {
  const info = encrInfo[encrId];
  if (info === undefined || !info.keySizes.includes(keyBits)) return undefined;
  return keyBits / 8 + info.saltLength;
}

/** Integrity transform facts (RFC 2404, RFC 4868 2.1, RFC 3566, RFC 4494, RFC 4543). */
export interface IntegInfo {
  /** Keymat bytes (for AES-GMAC: AES key || 4-byte salt). */
  readonly keyLength: number;
  /** Truncated ICV bytes. */
  readonly icvLength: number;
  /** Per-packet IV bytes (AES-GMAC for AH only). */
  readonly ivLength: number;
}

export const integInfo: Readonly<Record<number, IntegInfo>> = {
  [IntegId.AUTH_HMAC_MD5_96]: { keyLength: 16, icvLength: 12, ivLength: 0 },
  [IntegId.AUTH_HMAC_SHA1_96]: { keyLength: 20, icvLength: 12, ivLength: 0 },
  [IntegId.AUTH_AES_XCBC_96]: { keyLength: 16, icvLength: 12, ivLength: 0 },
  [IntegId.AUTH_AES_CMAC_96]: { keyLength: 16, icvLength: 12, ivLength: 0 },
  [IntegId.AUTH_AES_128_GMAC]: { keyLength: 20, icvLength: 16, ivLength: 8 },
  [IntegId.AUTH_AES_192_GMAC]: { keyLength: 28, icvLength: 16, ivLength: 8 },
  [IntegId.AUTH_AES_256_GMAC]: { keyLength: 36, icvLength: 16, ivLength: 8 },
  [IntegId.AUTH_HMAC_SHA2_256_128]: { keyLength: 32, icvLength: 16, ivLength: 0 },
  [IntegId.AUTH_HMAC_SHA2_384_192]: { keyLength: 48, icvLength: 24, ivLength: 0 },
  [IntegId.AUTH_HMAC_SHA2_512_256]: { keyLength: 64, icvLength: 32, ivLength: 0 },
};

/** PRF facts (RFC 7296 2.13: SK_d, SK_pi, SK_pr have the PRF's preferred key length). */
export interface PrfInfo {
  readonly outputLength: number;
  readonly keyLength: number;
}

export const prfInfo: Readonly<Record<number, PrfInfo>> = {
  [PrfId.PRF_HMAC_MD5]: { outputLength: 16, keyLength: 16 },
  [PrfId.PRF_HMAC_SHA1]: { outputLength: 20, keyLength: 20 },
  [PrfId.PRF_AES128_XCBC]: { outputLength: 16, keyLength: 16 },
  [PrfId.PRF_HMAC_SHA2_256]: { outputLength: 32, keyLength: 32 },
  [PrfId.PRF_HMAC_SHA2_384]: { outputLength: 48, keyLength: 48 },
  [PrfId.PRF_HMAC_SHA2_512]: { outputLength: 64, keyLength: 64 },
  [PrfId.PRF_AES128_CMAC]: { outputLength: 16, keyLength: 16 },
};

/** Key exchange facts: KE payload data length and g^ir length (RFC 7296 3.4, RFC 5903 7, RFC 8031 2). */
export interface GroupInfo {
  readonly kind: 'modp' | 'ecp' | 'curve';
  readonly publicLength: number;
  readonly sharedLength: number;
  /** Off unless explicitly allowed (RFC 8247 2.4: MUST NOT / SHOULD NOT). */
  readonly weak: boolean;
}

function modp(bits: number, weak: boolean): GroupInfo {
  return { kind: 'modp', publicLength: bits / 8, sharedLength: bits / 8, weak };
}
function ecp(fieldBytes: number): GroupInfo {
  return { kind: 'ecp', publicLength: 2 * fieldBytes, sharedLength: fieldBytes, weak: false };
}

export const groupInfo: Readonly<Record<number, GroupInfo>> = {
  [KeGroup.MODP_768]: modp(768, true),
  [KeGroup.MODP_1024]: modp(1024, true),
  [KeGroup.MODP_1536]: modp(1536, true),
  [KeGroup.MODP_2048]: modp(2048, false),
  [KeGroup.MODP_3072]: modp(3072, false),
  [KeGroup.MODP_4096]: modp(4096, false),
  [KeGroup.MODP_6144]: modp(6144, false),
  [KeGroup.MODP_8192]: modp(8192, false),
  [KeGroup.MODP_1024_160]: modp(1024, true),
  [KeGroup.MODP_2048_224]: modp(2048, true),
  [KeGroup.MODP_2048_256]: modp(2048, true),
  [KeGroup.ECP_256]: ecp(32),
  [KeGroup.ECP_384]: ecp(48),
  [KeGroup.ECP_521]: ecp(66),
  [KeGroup.ECP_192]: ecp(24),
  [KeGroup.ECP_224]: ecp(28),
  [KeGroup.BRAINPOOL_P224]: ecp(28),
  [KeGroup.BRAINPOOL_P256]: ecp(32),
  [KeGroup.BRAINPOOL_P384]: ecp(48),
  [KeGroup.BRAINPOOL_P512]: ecp(64),
  [KeGroup.CURVE25519]: { kind: 'curve', publicLength: 32, sharedLength: 32, weak: false },
  [KeGroup.CURVE448]: { kind: 'curve', publicLength: 56, sharedLength: 56, weak: false },
};

/** What a strongSwan proposal keyword stands for. */
export type AlgorithmKeyword =
  | { readonly type: 'encr'; readonly id: EncrId; readonly keyBits: number; readonly ahIntegId?: IntegId }
  | { readonly type: 'integ'; readonly id: IntegId }
  | { readonly type: 'prf'; readonly id: PrfId }
  | { readonly type: 'ke'; readonly id: KeGroup }
  | { readonly type: 'esn'; readonly id: EsnId };

function buildKeywords(): Map<string, AlgorithmKeyword> {
  const m = new Map<string, AlgorithmKeyword>();
  const encr = (names: readonly string[], id: EncrId, keyBits: number, ahIntegId?: IntegId): void => {
    for (const n of names)
      m.set(n, ahIntegId === undefined ? { type: 'encr', id, keyBits } : { type: 'encr', id, keyBits, ahIntegId });
  };
  encr(['null'], EncrId.ENCR_NULL, 0);
  encr(['3des'], EncrId.ENCR_3DES, 192);
  encr(['chacha20poly1305'], EncrId.ENCR_CHACHA20_POLY1305, 256);
  const gmacAh = {
    128: IntegId.AUTH_AES_128_GMAC,
    192: IntegId.AUTH_AES_192_GMAC,
    256: IntegId.AUTH_AES_256_GMAC,
  } as const;
  for (const bits of AES_SIZES) {
    const a = `aes${bits}`;
    encr([a], EncrId.ENCR_AES_CBC, bits);
    encr([`${a}ctr`], EncrId.ENCR_AES_CTR, bits);
    encr([`${a}ccm8`, `${a}ccm64`], EncrId.ENCR_AES_CCM_8, bits);
    encr([`${a}ccm12`, `${a}ccm96`], EncrId.ENCR_AES_CCM_12, bits);
    encr([`${a}ccm16`, `${a}ccm128`, `${a}ccm`], EncrId.ENCR_AES_CCM_16, bits);
    encr([`${a}gcm8`, `${a}gcm64`], EncrId.ENCR_AES_GCM_8, bits);
    encr([`${a}gcm12`, `${a}gcm96`], EncrId.ENCR_AES_GCM_12, bits);
    encr([`${a}gcm16`, `${a}gcm128`, `${a}gcm`], EncrId.ENCR_AES_GCM_16, bits);
    encr([`${a}gmac`], EncrId.ENCR_NULL_AUTH_AES_GMAC, bits, gmacAh[bits]);
  }
  // Bare 'aes' means AES-128-CBC (added after the loop so names print as 'aes128').
  encr(['aes'], EncrId.ENCR_AES_CBC, 128);
  const integ = (names: readonly string[], id: IntegId): void => {
    for (const n of names) m.set(n, { type: 'integ', id });
  };
  integ(['md5'], IntegId.AUTH_HMAC_MD5_96);
  integ(['sha1', 'sha'], IntegId.AUTH_HMAC_SHA1_96);
  integ(['sha256', 'sha2_256'], IntegId.AUTH_HMAC_SHA2_256_128);
  integ(['sha384', 'sha2_384'], IntegId.AUTH_HMAC_SHA2_384_192);
  integ(['sha512', 'sha2_512'], IntegId.AUTH_HMAC_SHA2_512_256);
  integ(['aesxcbc'], IntegId.AUTH_AES_XCBC_96);
  integ(['aescmac'], IntegId.AUTH_AES_CMAC_96);
  const prf = (name: string, id: PrfId): void => void m.set(name, { type: 'prf', id });
  prf('prfmd5', PrfId.PRF_HMAC_MD5);
  prf('prfsha1', PrfId.PRF_HMAC_SHA1);
  prf('prfsha256', PrfId.PRF_HMAC_SHA2_256);
  prf('prfsha384', PrfId.PRF_HMAC_SHA2_384);
  prf('prfsha512', PrfId.PRF_HMAC_SHA2_512);
  prf('prfaesxcbc', PrfId.PRF_AES128_XCBC);
  prf('prfaescmac', PrfId.PRF_AES128_CMAC);
  const ke = (names: readonly string[], id: KeGroup): void => {
    for (const n of names) m.set(n, { type: 'ke', id });
  };
  ke(['modp768'], KeGroup.MODP_768);
  ke(['modp1024'], KeGroup.MODP_1024);
  ke(['modp1536'], KeGroup.MODP_1536);
  ke(['modp2048'], KeGroup.MODP_2048);
  ke(['modp3072'], KeGroup.MODP_3072);
  ke(['modp4096'], KeGroup.MODP_4096);
  ke(['modp6144'], KeGroup.MODP_6144);
  ke(['modp8192'], KeGroup.MODP_8192);
  ke(['modp1024s160'], KeGroup.MODP_1024_160);
  ke(['modp2048s224'], KeGroup.MODP_2048_224);
  ke(['modp2048s256'], KeGroup.MODP_2048_256);
  ke(['ecp192'], KeGroup.ECP_192);
  ke(['ecp224'], KeGroup.ECP_224);
  ke(['ecp256'], KeGroup.ECP_256);
  ke(['ecp384'], KeGroup.ECP_384);
  ke(['ecp521'], KeGroup.ECP_521);
  ke(['ecp224bp'], KeGroup.BRAINPOOL_P224);
  ke(['ecp256bp'], KeGroup.BRAINPOOL_P256);
  ke(['ecp384bp'], KeGroup.BRAINPOOL_P384);
  ke(['ecp512bp'], KeGroup.BRAINPOOL_P512);
  ke(['curve25519', 'x25519'], KeGroup.CURVE25519);
  ke(['curve448', 'x448'], KeGroup.CURVE448);
  m.set('esn', { type: 'esn', id: EsnId.ESN });
  m.set('noesn', { type: 'esn', id: EsnId.NO_ESN });
  return m;
}

/**
 * strongSwan proposal keywords ('aes128gcm16', 'sha256', 'prfsha256', 'x25519', 'ecp256', 'modp3072', ...).
 * 'aesNNNgmac' names ENCR_NULL_AUTH_AES_GMAC in an ESP proposal; in an AH proposal use `ahIntegId`.
 */
export const algorithmKeywords: ReadonlyMap<string, AlgorithmKeyword> = buildKeywords();

/** The strongSwan-style name of an ENCR transform with a key size, e.g. (20, 128) -> 'aes128gcm16'. */
export function encrName(encrId: number, keyBits: number): string {
  for (const [name, kw] of algorithmKeywords) {
    if (kw.type === 'encr' && kw.id === encrId && kw.keyBits === keyBits) return name;
  }
  return `encr${encrId}-${keyBits}`;
}

/** The first strongSwan keyword for a transform of a given type and id, e.g. ('integ', 12) -> 'sha256'. */
export function keywordOf(type: 'integ' | 'prf' | 'ke' | 'esn', id: number): string {
  for (const [name, kw] of algorithmKeywords) if (kw.type === type && kw.id === id) return name;
  return `${type}${id}`;
}
