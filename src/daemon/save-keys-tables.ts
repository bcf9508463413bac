/**
 * The two Wireshark decryption tables `--save-keys` writes, as text: Wireshark 4.0's algorithm names (the
 * value strings of packet-ipsec.c and packet-isakmp.c) and one line per SA. Pure; save-keys.ts writes them.
 *
 * - `esp_sa` (Wireshark's "ESP SAs" table), one line per SA direction, every field quoted:
 *     "IPv4","<src>","<dst>","0x<spi %08x>","<encryption>","0x<keymat hex>","<authentication>","0x<key hex>"
 *   The encryption keymat is key || salt for AES-GCM and AES-CTR (RFC 4106 8.1, RFC 3686 5.1).
 * - `ikev2_decryption_table` (Wireshark's "IKEv2 Decryption Table"), one line per IKE_SA, unquoted hex:
 *     <SPIi 16 hex>,<SPIr 16 hex>,<SK_ei>,<SK_er>,"<encryption>",<SK_ai>,<SK_ar>,"<integrity>"
 *
 * An SA whose algorithm Wireshark cannot decrypt (AES-CCM, AES-GMAC, ChaCha20-Poly1305 in ESP;
 * ChaCha20-Poly1305, AES-XCBC in IKE) gets a `#` comment line instead, saying why. ESP integrity Wireshark does
 * not know (AES-XCBC, AES-CMAC) is written as "ANY 96 bit authentication [no checking]": the packets decrypt,
 * the ICV is not checked.
 */
import { EncrId, IntegId, nameOf } from '../crypto/ids.js';

const IKE_SPI_LENGTH = 8;

/** One direction of an ESP SA. */
export interface SaveKeysEspSa {
  /** Outer source and destination of the packets this SA protects. */
  readonly src: string;
  readonly dst: string;
  readonly spi: number;
  /** EncrId and its keymat (key || salt for AEADs and AES-CTR). */
  readonly encrId: number;
  readonly encKey: Uint8Array;
  /** IntegId (NONE with an AEAD) and its key. */
  readonly integId: number;
  readonly integKey: Uint8Array;
}

/** The keys of one IKE_SA (RFC 7296 2.14) and its transforms. */
export interface SaveKeysIkeSa {
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
  readonly encrId: number;
  /** Key length in bits for AES (0 for fixed-length ciphers). */
  readonly encrKeyBits: number;
  readonly integId: number;
  readonly skEi: Uint8Array;
  readonly skEr: Uint8Array;
  readonly skAi: Uint8Array;
  readonly skAr: Uint8Array;
}

// Wireshark 4.0 ESP SA table names (packet-ipsec.c value strings).
const ESP_ENCR_NAMES: Readonly<Record<number, string>> = {
  [EncrId.ENCR_NULL]: 'NULL',
  [EncrId.ENCR_3DES]: 'TripleDES-CBC [RFC2451]',
  [EncrId.ENCR_AES_CBC]: 'AES-CBC [RFC3602]',
  [EncrId.ENCR_AES_CTR]: 'AES-CTR [RFC3686]',
  [EncrId.ENCR_AES_GCM_8]: 'AES-GCM with 8 octet ICV [RFC4106]',
  [EncrId.ENCR_AES_GCM_12]: 'AES-GCM with 12 octet ICV [RFC4106]',
  [EncrId.ENCR_AES_GCM_16]: 'AES-GCM with 16 octet ICV [RFC4106]',
};

const ESP_AEAD_IDS: ReadonlySet<number> = new Set([
  EncrId.ENCR_AES_GCM_8,
  EncrId.ENCR_AES_GCM_12,
  EncrId.ENCR_AES_GCM_16,
]);

const ESP_INTEG_NAMES: Readonly<Record<number, string>> = {
  [IntegId.NONE]: 'NULL',
  [IntegId.AUTH_HMAC_MD5_96]: 'HMAC-MD5-96 [RFC2403]',
  [IntegId.AUTH_HMAC_SHA1_96]: 'HMAC-SHA-1-96 [RFC2404]',
  [IntegId.AUTH_HMAC_SHA2_256_128]: 'HMAC-SHA-256-128 [RFC4868]',
  [IntegId.AUTH_HMAC_SHA2_384_192]: 'HMAC-SHA-384-192 [RFC4868]',
  [IntegId.AUTH_HMAC_SHA2_512_256]: 'HMAC-SHA-512-256 [RFC4868]',
  [IntegId.AUTH_AES_XCBC_96]: 'ANY 96 bit authentication [no checking]',
  [IntegId.AUTH_AES_CMAC_96]: 'ANY 96 bit authentication [no checking]',
};

// Wireshark 4.0 IKEv2 decryption table names (packet-isakmp.c).
function ikeEncrName(encrId: number, keyBits: number): string | undefined {
  const aesBits = keyBits === 128 || keyBits === 192 || keyBits === 256;
  const icv = (n: number): string => `with ${n} octet ICV [RFC5282]`;
  switch (encrId) {
    case EncrId.ENCR_3DES:
      return '3DES [RFC2451]';
    case EncrId.ENCR_NULL:
      return 'NULL [RFC2410]';
    case EncrId.ENCR_AES_CBC:
      return aesBits ? `AES-CBC-${keyBits} [RFC3602]` : undefined;
    case EncrId.ENCR_AES_CTR:
      return aesBits ? `AES-CTR-${keyBits} [RFC5930]` : undefined;
    case EncrId.ENCR_AES_GCM_8:
      return aesBits ? `AES-GCM-${keyBits} ${icv(8)}` : undefined;
    case EncrId.ENCR_AES_GCM_12:
      return aesBits ? `AES-GCM-${keyBits} ${icv(12)}` : undefined;
    case EncrId.ENCR_AES_GCM_16:
      return aesBits ? `AES-GCM-${keyBits} ${icv(16)}` : undefined;
    case EncrId.ENCR_AES_CCM_8:
      return aesBits ? `AES-CCM-${keyBits} ${icv(8)}` : undefined;
    case EncrId.ENCR_AES_CCM_12:
      return aesBits ? `AES-CCM-${keyBits} ${icv(12)}` : undefined;
    case EncrId.ENCR_AES_CCM_16:
      return aesBits ? `AES-CCM-${keyBits} ${icv(16)}` : undefined;
    default:
      return undefined;
  }
}

const IKE_INTEG_NAMES: Readonly<Record<number, string>> = {
  [IntegId.NONE]: 'NONE [RFC4306]',
  [IntegId.AUTH_HMAC_MD5_96]: 'HMAC_MD5_96 [RFC2403]',
  [IntegId.AUTH_HMAC_SHA1_96]: 'HMAC_SHA1_96 [RFC2404]',
  [IntegId.AUTH_HMAC_SHA2_256_128]: 'HMAC_SHA2_256_128 [RFC4868]',
  [IntegId.AUTH_HMAC_SHA2_384_192]: 'HMAC_SHA2_384_192 [RFC4868]',
  [IntegId.AUTH_HMAC_SHA2_512_256]: 'HMAC_SHA2_512_256 [RFC4868]',
};

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function spi8(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

function quoted(fields: readonly string[]): string {
  return fields.map((f) => `"${f}"`).join(',');
}

/** The `esp_sa` line of one SA direction, or a `#` comment when Wireshark 4.0 cannot decrypt it. */
export function espSaLine(sa: SaveKeysEspSa): string {
  const family = sa.src.includes(':') ? 'IPv6' : 'IPv4';
  const enc = ESP_ENCR_NAMES[sa.encrId];
  const integ = ESP_AEAD_IDS.has(sa.encrId) ? 'NULL' : ESP_INTEG_NAMES[sa.integId];
  if (enc === undefined || integ === undefined) {
    return `# ${family} ${sa.src} -> ${sa.dst} SPI ${spi8(sa.spi)}: ${enc === undefined ? `encryption ${nameOf(EncrId, sa.encrId)}` : `integrity ${nameOf(IntegId, sa.integId)}`} is not decryptable by Wireshark 4.0`;
  }
  const integKey = integ === 'NULL' ? '' : hex(sa.integKey);
  return quoted([family, sa.src, sa.dst, spi8(sa.spi), enc, `0x${hex(sa.encKey)}`, integ, `0x${integKey}`]);
}

/** The `ikev2_decryption_table` line of one IKE_SA, or a `#` comment when Wireshark 4.0 cannot decrypt it. */
export function ikev2TableLine(sa: SaveKeysIkeSa): string {
  const spiI = hex(sa.spiI);
  const spiR = hex(sa.spiR);
  if (sa.spiI.length !== IKE_SPI_LENGTH || sa.spiR.length !== IKE_SPI_LENGTH) {
    throw new RangeError('IKE SPIs are 8 bytes (RFC 7296 3.1)');
  }
  const enc = ikeEncrName(sa.encrId, sa.encrKeyBits);
  const integ = IKE_INTEG_NAMES[sa.integId];
  if (enc === undefined || integ === undefined) {
    return `# IKE_SA ${spiI}_i ${spiR}_r: ${enc === undefined ? `encryption ${nameOf(EncrId, sa.encrId)}` : `integrity ${nameOf(IntegId, sa.integId)}`} is not decryptable by Wireshark 4.0`;
  }
  return [spiI, spiR, hex(sa.skEi), hex(sa.skEr), `"${enc}"`, hex(sa.skAi), hex(sa.skAr), `"${integ}"`].join(',');
}

/** The whole `esp_sa` file. */
export function espSaFile(sas: readonly SaveKeysEspSa[]): string {
  return sas.map((s) => `${espSaLine(s)}\n`).join('');
}

/** The whole `ikev2_decryption_table` file. */
export function ikev2TableFile(sas: readonly SaveKeysIkeSa[]): string {
  return sas.map((s) => `${ikev2TableLine(s)}\n`).join('');
}
