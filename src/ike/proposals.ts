/**
 * Proposals: strongSwan proposal strings -> SA payload proposals (RFC 7296 3.3), and proposal selection
 * (RFC 7296 2.7, 3.3.6).
 *
 * A proposal string is a dash-separated list of keywords, one algorithm each, in preference order per
 * transform type (`aes128gcm16-aes256gcm16-prfsha256-x25519-ecp256`). `default` expands to the built-in
 * list of the protocol. Keywords follow strongSwan's names so that swanctl.conf proposals can be pasted in.
 *
 * Selection (responder): strongSwan's default `charon.prefer_configured_proposals = yes` is followed:
 * our configured proposals are walked in our order and, for each, the peer's proposals in the peer's
 * order; within a transform type our algorithm order wins. `preferPeer` flips both loops, which is what
 * RFC 7296 3.3.6 leaves to the responder.
 */
import { EncrId, EsnId, IntegId, KeGroup, PrfId, nameOf } from '../crypto/ids.js';
import { IkeError } from './errors.js';
import { NotifyType, PayloadType, ProtocolId, TransformType } from './codec/constants.js';
import type { SaPayload, Transform } from './codec/types.js';

/** Protocol of a proposal (RFC 7296 3.3.1 Protocol ID). */
export type ProposalProtocol = 'ike' | 'esp' | 'ah';

/** One encryption transform: id and, for variable-length ciphers, the Key Length attribute in bits (3.3.5). */
export interface EncrAlg {
  readonly id: number;
  readonly keyLengthBits?: number;
}

/**
 * One proposal with the algorithms of each transform type in preference order (RFC 7296 3.3.1, 3.3.2).
 * An empty list means "transform type absent". `number` and `spi` are filled when sent or selected.
 */
export interface Proposal {
  readonly protocol: ProposalProtocol;
  readonly number: number;
  readonly spi: Uint8Array;
  readonly encr: readonly EncrAlg[];
  readonly prf: readonly number[];
  readonly integ: readonly number[];
  readonly ke: readonly number[];
  readonly esn: readonly number[];
}

/** A selected proposal: exactly one algorithm per present transform type. */
export interface SelectedProposal {
  readonly protocol: ProposalProtocol;
  readonly number: number;
  readonly spi: Uint8Array;
  readonly encr?: EncrAlg;
  readonly prf?: number;
  readonly integ?: number;
  /** Key exchange method; KeGroup.NONE (0) when none (no PFS). */
  readonly ke: number;
  /** EsnId; only ESP and AH. */
  readonly esn?: number;
}

/** Raised for a proposal string we cannot understand; the message names the keyword. */
export class ProposalError extends Error {
  override readonly name = 'ProposalError';
}

type Kw =
  | { t: 'encr'; id: number; bits?: number; aead: boolean }
  | { t: 'integ'; id: number; prf?: number }
  | { t: 'prf'; id: number }
  | { t: 'ke'; id: number }
  | { t: 'esn'; id: number };

const KEYWORDS: Record<string, Kw> = {};
/** AH integrity ids for the 'aesNNNgmac' keywords (RFC 4543). */
const AH_GMAC: Readonly<Record<number, number>> = {
  128: IntegId.AUTH_AES_128_GMAC,
  192: IntegId.AUTH_AES_192_GMAC,
  256: IntegId.AUTH_AES_256_GMAC,
};
function encr(names: string[], id: number, bits: number | undefined, aead: boolean): void {
  for (const n of names) KEYWORDS[n] = bits === undefined ? { t: 'encr', id, aead } : { t: 'encr', id, bits, aead };
}
for (const bits of [128, 192, 256]) {
  encr([`aes${bits}`], EncrId.ENCR_AES_CBC, bits, false);
  encr([`aes${bits}ctr`], EncrId.ENCR_AES_CTR, bits, false);
  encr([`aes${bits}gcm8`, `aes${bits}gcm64`], EncrId.ENCR_AES_GCM_8, bits, true);
  encr([`aes${bits}gcm12`, `aes${bits}gcm96`], EncrId.ENCR_AES_GCM_12, bits, true);
  encr([`aes${bits}gcm16`, `aes${bits}gcm128`, `aes${bits}gcm`], EncrId.ENCR_AES_GCM_16, bits, true);
  encr([`aes${bits}ccm8`, `aes${bits}ccm64`], EncrId.ENCR_AES_CCM_8, bits, true);
  encr([`aes${bits}ccm12`, `aes${bits}ccm96`], EncrId.ENCR_AES_CCM_12, bits, true);
  encr([`aes${bits}ccm16`, `aes${bits}ccm128`, `aes${bits}ccm`], EncrId.ENCR_AES_CCM_16, bits, true);
  encr([`aes${bits}gmac`], EncrId.ENCR_NULL_AUTH_AES_GMAC, bits, true);
}
encr(['aes'], EncrId.ENCR_AES_CBC, 128, false);
encr(['3des'], EncrId.ENCR_3DES, undefined, false);
encr(['null'], EncrId.ENCR_NULL, undefined, false);
encr(['chacha20poly1305'], EncrId.ENCR_CHACHA20_POLY1305, undefined, true);
const INTEG: [string[], number, number | undefined][] = [
  [['md5'], IntegId.AUTH_HMAC_MD5_96, PrfId.PRF_HMAC_MD5],
  [['sha1', 'sha'], IntegId.AUTH_HMAC_SHA1_96, PrfId.PRF_HMAC_SHA1],
  [['sha256', 'sha2_256'], IntegId.AUTH_HMAC_SHA2_256_128, PrfId.PRF_HMAC_SHA2_256],
  [['sha384', 'sha2_384'], IntegId.AUTH_HMAC_SHA2_384_192, PrfId.PRF_HMAC_SHA2_384],
  [['sha512', 'sha2_512'], IntegId.AUTH_HMAC_SHA2_512_256, PrfId.PRF_HMAC_SHA2_512],
  [['aesxcbc'], IntegId.AUTH_AES_XCBC_96, PrfId.PRF_AES128_XCBC],
  [['aescmac'], IntegId.AUTH_AES_CMAC_96, PrfId.PRF_AES128_CMAC],
];
for (const [names, id, prf] of INTEG)
  for (const n of names) KEYWORDS[n] = prf === undefined ? { t: 'integ', id } : { t: 'integ', id, prf };
const PRFS: [string, number][] = [
  ['prfmd5', PrfId.PRF_HMAC_MD5],
  ['prfsha1', PrfId.PRF_HMAC_SHA1],
  ['prfsha256', PrfId.PRF_HMAC_SHA2_256],
  ['prfsha384', PrfId.PRF_HMAC_SHA2_384],
  ['prfsha512', PrfId.PRF_HMAC_SHA2_512],
  ['prfaesxcbc', PrfId.PRF_AES128_XCBC],
  ['prfaescmac', PrfId.PRF_AES128_CMAC],
];
for (const [n, id] of PRFS) KEYWORDS[n] = { t: 'prf', id };
const GROUPS: [string[], number][] = [
  [['modp768'], KeGroup.MODP_768],
  [['modp1024'], KeGroup.MODP_1024],
  [['modp1536'], KeGroup.MODP_1536],
  [['modp2048'], KeGroup.MODP_2048],
  [['modp3072'], KeGroup.MODP_3072],
  [['modp4096'], KeGroup.MODP_4096],
  [['modp6144'], KeGroup.MODP_6144],
  [['modp8192'], KeGroup.MODP_8192],
  [['ecp192'], KeGroup.ECP_192],
  [['ecp224'], KeGroup.ECP_224],
  [['ecp256'], KeGroup.ECP_256],
  [['ecp384'], KeGroup.ECP_384],
  [['ecp521'], KeGroup.ECP_521],
  [['ecp224bp'], KeGroup.BRAINPOOL_P224],
  [['ecp256bp'], KeGroup.BRAINPOOL_P256],
  [['ecp384bp'], KeGroup.BRAINPOOL_P384],
  [['ecp512bp'], KeGroup.BRAINPOOL_P512],
  [['x25519', 'curve25519'], KeGroup.CURVE25519],
  [['x448', 'curve448'], KeGroup.CURVE448],
];
for (const [names, id] of GROUPS) for (const n of names) KEYWORDS[n] = { t: 'ke', id };
KEYWORDS['esn'] = { t: 'esn', id: EsnId.ESN };
KEYWORDS['noesn'] = { t: 'esn', id: EsnId.NO_ESN };

/**
 * What `default` expands to, per protocol (close to strongSwan's compiled-in defaults), with no MODP group
 * above 3072 bits: an unauthenticated peer could otherwise make the responder compute modp4096 and larger.
 */
export const DEFAULT_PROPOSALS: Readonly<Record<ProposalProtocol, readonly string[]>> = {
  ike: [
    'aes128gcm16-aes192gcm16-aes256gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512-x25519-x448-ecp256-ecp384-ecp521-modp3072',
    'aes128-aes192-aes256-sha256-sha384-sha512-x25519-x448-ecp256-ecp384-ecp521-modp3072',
  ],
  esp: ['aes128gcm16-aes192gcm16-aes256gcm16-chacha20poly1305', 'aes128-aes192-aes256-sha256-sha384-sha512'],
  ah: ['sha256-sha384-sha512'],
};

function push<T>(list: T[], v: T, same: (a: T, b: T) => boolean): void {
  if (!list.some((x) => same(x, v))) list.push(v);
}

/**
 * Parse one strongSwan proposal string for `protocol`. `default` expands to several proposals.
 * Throws ProposalError naming the unknown or misplaced keyword.
 */
export function parseProposal(text: string, protocol: ProposalProtocol): Proposal[] {
  const s = text.trim().toLowerCase();
  if (s === 'default') return DEFAULT_PROPOSALS[protocol].flatMap((p) => parseProposal(p, protocol));
  const encrs: EncrAlg[] = [];
  const prfs: number[] = [];
  const integs: number[] = [];
  const kes: number[] = [];
  const esns: number[] = [];
  const derivedPrfs: number[] = [];
  let aead: boolean | undefined;
  for (const word of s.split('-')) {
    if (word === '') throw new ProposalError(`empty keyword in ${protocol} proposal '${text}'`);
    const kw = KEYWORDS[word];
    if (kw === undefined)
      throw new ProposalError(`unknown algorithm keyword '${word}' in ${protocol} proposal '${text}'`);
    const misplaced = (): never => {
      throw new ProposalError(`keyword '${word}' is not allowed in an ${protocol} proposal ('${text}')`);
    };
    switch (kw.t) {
      case 'encr':
        if (protocol === 'ah') {
          // strongSwan: 'aesNNNgmac' in an AH proposal is AUTH_AES_NNN_GMAC (RFC 4543), not the ESP cipher.
          const gmac = kw.id === EncrId.ENCR_NULL_AUTH_AES_GMAC ? AH_GMAC[kw.bits ?? 0] : undefined;
          if (gmac === undefined) misplaced();
          else push(integs, gmac, Object.is);
          break;
        }
        if (aead !== undefined && aead !== kw.aead)
          throw new ProposalError(`'${word}' mixes AEAD and non-AEAD ciphers in proposal '${text}'`);
        aead = kw.aead;
        push(encrs, kw.bits === undefined ? { id: kw.id } : { id: kw.id, keyLengthBits: kw.bits }, sameEncr);
        break;
      case 'integ':
        push(integs, kw.id, Object.is);
        if (kw.prf !== undefined) push(derivedPrfs, kw.prf, Object.is);
        break;
      case 'prf':
        if (protocol !== 'ike') misplaced();
        push(prfs, kw.id, Object.is);
        break;
      case 'ke':
        push(kes, kw.id, Object.is);
        break;
      case 'esn':
        if (protocol === 'ike') misplaced();
        push(esns, kw.id, Object.is);
        break;
    }
  }
  if (protocol !== 'ah' && encrs.length === 0)
    throw new ProposalError(`${protocol} proposal '${text}' has no encryption algorithm`);
  if (aead === true && integs.length > 0)
    throw new ProposalError(`${protocol} proposal '${text}' combines an AEAD cipher with an integrity algorithm`);
  if ((protocol === 'ah' || (aead === false && protocol === 'ike')) && integs.length === 0)
    throw new ProposalError(`${protocol} proposal '${text}' has no integrity algorithm`);
  if (protocol === 'esp' && aead === false && integs.length === 0 && !encrs.every((e) => e.id === EncrId.ENCR_NULL))
    throw new ProposalError(`esp proposal '${text}' has a non-AEAD cipher but no integrity algorithm`);
  if (protocol === 'ike') {
    if (prfs.length === 0) {
      if (aead === true) throw new ProposalError(`ike proposal '${text}' uses an AEAD cipher and needs a prf keyword`);
      prfs.push(...derivedPrfs);
    }
    if (kes.length === 0) throw new ProposalError(`ike proposal '${text}' has no key exchange method`);
  } else if (esns.length === 0) esns.push(EsnId.NO_ESN);
  return [{ protocol, number: 1, spi: Buffer.alloc(0), encr: encrs, prf: prfs, integ: integs, ke: kes, esn: esns }];
}

/** Parse a list of proposal strings and number them 1, 2, ... (RFC 7296 3.3.1). */
export function parseProposals(texts: readonly string[], protocol: ProposalProtocol): Proposal[] {
  const all = (texts.length === 0 ? ['default'] : texts).flatMap((t) => parseProposal(t, protocol));
  return all.map((p, i) => ({ ...p, number: i + 1 }));
}

function sameEncr(a: EncrAlg, b: EncrAlg): boolean {
  return a.id === b.id && a.keyLengthBits === b.keyLengthBits;
}

/** Set SPI on every proposal (ESP/AH 4 bytes, IKE rekey 8 bytes, IKE_SA_INIT none). */
export function withSpi(proposals: readonly Proposal[], spi: Uint8Array): Proposal[] {
  return proposals.map((p) => ({ ...p, spi }));
}

/** Replace the key exchange methods (PFS on or off for a CHILD_SA, or the group of the first KE). */
export function withKe(proposals: readonly Proposal[], ke: readonly number[]): Proposal[] {
  return proposals.map((p) => ({ ...p, ke }));
}

function pick<T>(
  ours: readonly T[],
  theirs: readonly T[],
  same: (a: T, b: T) => boolean,
  preferPeer: boolean,
): T | undefined {
  const [first, second] = preferPeer ? [theirs, ours] : [ours, theirs];
  for (const a of first) if (second.some((b) => same(a, b))) return a;
  return undefined;
}

/**
 * Responder selection (RFC 7296 2.7): returns the proposal to put in the response, carrying the peer's
 * proposal number and SPI, or undefined (NO_PROPOSAL_CHOSEN). A transform type present in one side and
 * absent in the other does not match, except KE where "none" (0) may be listed explicitly.
 */
export function selectProposal(
  ours: readonly Proposal[],
  theirs: readonly Proposal[],
  preferPeer = false,
): SelectedProposal | undefined {
  const [outer, inner] = preferPeer ? [theirs, ours] : [ours, theirs];
  for (const a of outer) {
    for (const b of inner) {
      const [o, t] = preferPeer ? [b, a] : [a, b];
      const s = match(o, t, preferPeer);
      if (s !== undefined) return s;
    }
  }
  return undefined;
}

function matchList(ours: readonly number[], theirs: readonly number[], preferPeer: boolean): number | null | undefined {
  if (ours.length === 0 && theirs.length === 0) return null;
  return pick(ours, theirs, Object.is, preferPeer);
}

function match(o: Proposal, t: Proposal, preferPeer: boolean): SelectedProposal | undefined {
  if (o.protocol !== t.protocol) return undefined;
  let encr: EncrAlg | undefined;
  if (o.encr.length > 0 || t.encr.length > 0) {
    encr = pick(o.encr, t.encr, sameEncr, preferPeer);
    if (encr === undefined) return undefined;
  }
  const prf = matchList(o.prf, t.prf, preferPeer);
  if (prf === undefined) return undefined;
  // Integrity "NONE" listed explicitly counts as absent (RFC 7296 3.3.3).
  const oi = o.integ.filter((i) => i !== IntegId.NONE);
  const ti = t.integ.filter((i) => i !== IntegId.NONE);
  const integ = matchList(oi, ti, preferPeer);
  if (integ === undefined) return undefined;
  const ok = o.ke.length === 0 ? [KeGroup.NONE] : o.ke;
  const tk = t.ke.length === 0 ? [KeGroup.NONE] : t.ke;
  const ke = pick(ok, tk, Object.is, preferPeer);
  if (ke === undefined) return undefined;
  let esn: number | undefined;
  if (o.protocol !== 'ike') {
    const oe = o.esn.length === 0 ? [EsnId.NO_ESN] : o.esn;
    const te = t.esn.length === 0 ? [EsnId.NO_ESN] : t.esn;
    esn = pick(oe, te, Object.is, preferPeer);
    if (esn === undefined) return undefined;
  }
  return {
    protocol: o.protocol,
    number: t.number,
    spi: t.spi,
    ...(encr === undefined ? {} : { encr }),
    ...(prf === null ? {} : { prf }),
    ...(integ === null ? {} : { integ }),
    ke,
    ...(esn === undefined ? {} : { esn }),
  };
}

/** The selected proposal as a one-transform-per-type Proposal, to put in the response SA payload. */
export function selectedAsProposal(s: SelectedProposal): Proposal {
  return {
    protocol: s.protocol,
    number: s.number,
    spi: s.spi,
    encr: s.encr === undefined ? [] : [s.encr],
    prf: s.prf === undefined ? [] : [s.prf],
    integ: s.integ === undefined ? [] : [s.integ],
    ke: s.ke === KeGroup.NONE ? [] : [s.ke],
    esn: s.esn === undefined ? [] : [s.esn],
  };
}

/**
 * Initiator check of the responder's answer (RFC 7296 2.7): exactly one proposal, one transform per
 * type, and a subset of what we offered under the proposal number it names.
 */
export function acceptResponseProposal(offered: readonly Proposal[], answer: readonly Proposal[]): SelectedProposal {
  const a = answer[0];
  if (answer.length !== 1 || a === undefined)
    throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, 'response must carry exactly one proposal');
  if (a.encr.length > 1 || a.prf.length > 1 || a.integ.length > 1 || a.ke.length > 1 || a.esn.length > 1)
    throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, 'response proposal has more than one transform of a type');
  const ours = offered.find((p) => p.number === a.number) ?? offered.find((p) => p.protocol === a.protocol);
  if (ours === undefined) throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, 'response proposal number not offered');
  const s = match(ours, a, true);
  if (s === undefined) throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, 'response proposal was not offered');
  return { ...s, spi: a.spi, number: a.number };
}

/** strongSwan-like text of a selected proposal for logs: `AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519`. */
export function describeSelected(s: SelectedProposal): string {
  const parts: string[] = [];
  if (s.encr) {
    const name = nameOf(EncrId, s.encr.id).replace(/^ENCR_/, '');
    parts.push(s.encr.keyLengthBits ? `${name}_${s.encr.keyLengthBits}` : name);
  }
  if (s.integ !== undefined && s.integ !== IntegId.NONE) parts.push(nameOf(IntegId, s.integ).replace(/^AUTH_/, ''));
  if (s.prf !== undefined) parts.push(nameOf(PrfId, s.prf));
  if (s.ke !== KeGroup.NONE) parts.push(KE_NAMES[s.ke] ?? nameOf(KeGroup, s.ke));
  if (s.esn !== undefined) parts.push(s.esn === EsnId.ESN ? 'EXT_SEQ' : 'NO_EXT_SEQ');
  return `${s.protocol.toUpperCase()}:${parts.join('/')}`;
}

/** strongSwan's spelling where it differs from the IANA key names. */
const KE_NAMES: Readonly<Record<number, string>> = {
  [KeGroup.CURVE25519]: 'CURVE_25519',
  [KeGroup.CURVE448]: 'CURVE_448',
  [KeGroup.BRAINPOOL_P224]: 'ECP_224_BP',
  [KeGroup.BRAINPOOL_P256]: 'ECP_256_BP',
  [KeGroup.BRAINPOOL_P384]: 'ECP_384_BP',
  [KeGroup.BRAINPOOL_P512]: 'ECP_512_BP',
};

const PROTOCOL_IDS: Record<ProposalProtocol, number> = { ike: ProtocolId.IKE, ah: ProtocolId.AH, esp: ProtocolId.ESP };

/** Protocol name of a Protocol ID, or undefined. */
export function protocolOf(id: number): ProposalProtocol | undefined {
  return id === ProtocolId.IKE ? 'ike' : id === ProtocolId.ESP ? 'esp' : id === ProtocolId.AH ? 'ah' : undefined;
}

/** SA payload for our proposals (RFC 7296 3.3). */
export function encodeSa(proposals: readonly Proposal[]): SaPayload {
  return {
    type: PayloadType.SA,
    proposals: proposals.map((p, i) => {
      const transforms: Transform[] = [];
      for (const e of p.encr)
        transforms.push(
          e.keyLengthBits === undefined
            ? { type: TransformType.ENCR, id: e.id }
            : { type: TransformType.ENCR, id: e.id, keyLength: e.keyLengthBits },
        );
      for (const id of p.prf) transforms.push({ type: TransformType.PRF, id });
      for (const id of p.integ) transforms.push({ type: TransformType.INTEG, id });
      for (const id of p.ke) transforms.push({ type: TransformType.KE, id });
      for (const id of p.esn) transforms.push({ type: TransformType.ESN, id });
      return { num: p.number || i + 1, protocolId: PROTOCOL_IDS[p.protocol], spi: Buffer.from(p.spi), transforms };
    }),
  };
}

/**
 * Our Proposal form of a received SA payload. Proposals for unknown protocols are skipped; transforms
 * with attributes we do not understand are dropped so they are never selected (RFC 7296 3.3.6).
 */
export function decodeSa(sa: SaPayload): Proposal[] {
  const out: Proposal[] = [];
  for (const w of sa.proposals) {
    const protocol = protocolOf(w.protocolId);
    if (protocol === undefined) continue;
    const encr: EncrAlg[] = [];
    const prf: number[] = [];
    const integ: number[] = [];
    const ke: number[] = [];
    const esn: number[] = [];
    for (const t of w.transforms) {
      if (t.unknownAttributes !== undefined && t.unknownAttributes.length > 0) continue;
      switch (t.type) {
        case TransformType.ENCR:
          encr.push(t.keyLength === undefined ? { id: t.id } : { id: t.id, keyLengthBits: t.keyLength });
          break;
        case TransformType.PRF:
          prf.push(t.id);
          break;
        case TransformType.INTEG:
          integ.push(t.id);
          break;
        case TransformType.KE:
          ke.push(t.id);
          break;
        case TransformType.ESN:
          esn.push(t.id);
          break;
      }
    }
    out.push({ protocol, number: w.num, spi: Buffer.from(w.spi), encr, prf, integ, ke, esn });
  }
  return out;
}
