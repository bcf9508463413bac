/**
 * IKEv2 key material: SKEYSEED and the SK_* keys (RFC 7296 2.13, 2.14), rekeyed IKE_SA SKEYSEED (2.18),
 * CHILD_SA KEYMAT with and without PFS (2.17), and the PSK AUTH value (2.15).
 *
 * Key bytes are Buffers owned by the SA; they are only logged at the private level.
 */
import { encrKeymatLength, integInfo, prfInfo } from '../crypto/algorithms.js';
import { createPrf, prfPlus } from '../crypto/index.js';
import type { Prf } from '../crypto/types.js';
import { PrfId } from '../crypto/ids.js';
import type { EncrAlg, SelectedProposal } from './proposals.js';

/** The seven IKE_SA keys (RFC 7296 2.14). */
export interface IkeKeys {
  readonly skD: Buffer;
  readonly skAi: Buffer;
  readonly skAr: Buffer;
  readonly skEi: Buffer;
  readonly skEr: Buffer;
  readonly skPi: Buffer;
  readonly skPr: Buffer;
}

/** Keys of one CHILD_SA direction: encryption keymat (key || salt) and integrity key (empty when AEAD / AH). */
export interface ChildDirectionKeys {
  readonly encr: Buffer;
  readonly integ: Buffer;
}

/** CHILD_SA keys (RFC 7296 2.17): the initiator-to-responder SA first, then responder-to-initiator. */
export interface ChildKeys {
  /** Keys protecting traffic sent by the exchange initiator. */
  readonly i: ChildDirectionKeys;
  /** Keys protecting traffic sent by the exchange responder. */
  readonly r: ChildDirectionKeys;
}

/** Encryption keymat length for a selected transform (0 for none). */
export function encrLength(encr: EncrAlg | undefined): number {
  if (encr === undefined) return 0;
  const len = encrKeymatLength(encr.id, encr.keyLengthBits ?? defaultKeyBits(encr.id));
  if (len === undefined) throw new Error(`unsupported encryption transform ${encr.id}/${encr.keyLengthBits}`);
  return len;
}

function defaultKeyBits(encrId: number): number {
  // Transforms without a Key Length attribute: 3DES 192 bits, ChaCha20 256 bits, NULL 0.
  return encrId === 3 ? 192 : encrId === 28 ? 256 : 0;
}

/** Integrity key length for a selected transform (0 for none). */
export function integLength(integ: number | undefined): number {
  if (integ === undefined || integ === 0) return 0;
  const info = integInfo[integ];
  if (info === undefined) throw new Error(`unsupported integrity transform ${integ}`);
  return info.keyLength;
}

/** The PRF of a selected IKE proposal. */
export function prfOf(s: SelectedProposal): Prf {
  if (s.prf === undefined) throw new Error('IKE proposal without PRF');
  return createPrf(s.prf);
}

/**
 * The key of prf(Ni | Nr, g^ir): RFC 7296 2.14 says a PRF taking a fixed-size key uses the first 64 bits
 * of Ni and of Nr. AES-XCBC-PRF-128 and AES-CMAC-PRF-128 are used that way (as strongSwan does).
 */
function skeyseedKey(prfId: number, nonceI: Uint8Array, nonceR: Uint8Array): Buffer {
  if (prfId === PrfId.PRF_AES128_XCBC || prfId === PrfId.PRF_AES128_CMAC)
    return Buffer.concat([nonceI.subarray(0, 8), nonceR.subarray(0, 8)]);
  return Buffer.concat([nonceI, nonceR]);
}

/** SKEYSEED = prf(Ni | Nr, g^ir) (RFC 7296 2.14). */
export function computeSkeyseed(
  prf: Prf,
  prfId: number,
  nonceI: Uint8Array,
  nonceR: Uint8Array,
  gir: Uint8Array,
): Buffer {
  return prf.compute(skeyseedKey(prfId, nonceI, nonceR), gir);
}

/** SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) for a rekeyed IKE_SA (RFC 7296 2.18), old SA's PRF. */
export function computeRekeySkeyseed(
  oldPrf: Prf,
  oldSkD: Uint8Array,
  gir: Uint8Array,
  nonceI: Uint8Array,
  nonceR: Uint8Array,
): Buffer {
  return oldPrf.compute(oldSkD, Buffer.concat([gir, nonceI, nonceR]));
}

/**
 * {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
 * (RFC 7296 2.14). SK_d/SK_pi/SK_pr take the PRF's preferred key length.
 */
export function deriveIkeKeys(
  prf: Prf,
  s: SelectedProposal,
  skeyseed: Uint8Array,
  nonceI: Uint8Array,
  nonceR: Uint8Array,
  spiI: Uint8Array,
  spiR: Uint8Array,
): IkeKeys {
  const prfLen = prfInfo[s.prf ?? -1]?.keyLength ?? prf.keyLength;
  const aLen = integLength(s.integ);
  const eLen = encrLength(s.encr);
  const total = 3 * prfLen + 2 * aLen + 2 * eLen;
  const km = prfPlus(prf, skeyseed, Buffer.concat([nonceI, nonceR, spiI, spiR]), total);
  let off = 0;
  const take = (n: number): Buffer => {
    const k = Buffer.from(km.subarray(off, off + n));
    off += n;
    return k;
  };
  return {
    skD: take(prfLen),
    skAi: take(aLen),
    skAr: take(aLen),
    skEi: take(eLen),
    skEr: take(eLen),
    skPi: take(prfLen),
    skPr: take(prfLen),
  };
}

/**
 * KEYMAT = prf+(SK_d, Ni | Nr), or prf+(SK_d, g^ir (new) | Ni | Nr) with PFS (RFC 7296 2.17). Drawn in
 * the order: encryption then integrity key of the initiator-to-responder SA, then the same for the
 * responder-to-initiator SA. Ni/Nr are the nonces of the exchange that created the CHILD_SA.
 */
export function deriveChildKeys(
  prf: Prf,
  skD: Uint8Array,
  s: SelectedProposal,
  nonceI: Uint8Array,
  nonceR: Uint8Array,
  gir?: Uint8Array,
): ChildKeys {
  const eLen = encrLength(s.encr);
  const aLen = integLength(s.integ);
  const seed = gir === undefined ? Buffer.concat([nonceI, nonceR]) : Buffer.concat([gir, nonceI, nonceR]);
  const km = prfPlus(prf, skD, seed, 2 * (eLen + aLen));
  const part = (off: number, n: number): Buffer => Buffer.from(km.subarray(off, off + n));
  return {
    i: { encr: part(0, eLen), integ: part(eLen, aLen) },
    r: { encr: part(eLen + aLen, eLen), integ: part(2 * eLen + aLen, aLen) },
  };
}

/** The constant string the PSK is padded with (RFC 7296 2.15). */
const KEY_PAD = Buffer.from('Key Pad for IKEv2', 'ascii');

/**
 * The octets an AUTH payload signs (RFC 7296 2.15): the sender's IKE_SA_INIT message, the peer's nonce
 * and prf(SK_p, RestOfIDPayload) where RestOfIDPayload is ID Type, three reserved bytes and the ID data.
 */
export function signedOctets(
  prf: Prf,
  realMessage: Uint8Array,
  peerNonce: Uint8Array,
  skP: Uint8Array,
  idType: number,
  idData: Uint8Array,
): Buffer {
  const rest = Buffer.alloc(4 + idData.length);
  rest[0] = idType;
  rest.set(idData, 4);
  return Buffer.concat([realMessage, peerNonce, prf.compute(skP, rest)]);
}

/** AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>) (RFC 7296 2.15). */
export function pskAuth(prf: Prf, psk: Uint8Array, octets: Uint8Array): Buffer {
  return prf.compute(prf.compute(psk, KEY_PAD), octets);
}
