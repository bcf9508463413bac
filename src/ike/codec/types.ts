/**
 * Decoded shapes of IKEv2 messages (RFC 7296 section 3). The codec fills these after bounds checks only;
 * meaning (which payloads an exchange may carry, nonce sizes, ...) is checked separately.
 *
 * Byte fields are Buffers that may share memory with the decoded datagram: copy them to keep them past
 * the datagram's lifetime.
 */
import type { PayloadType } from './constants.js';

/** IKE header flags (RFC 7296 3.1). Reserved bits are dropped on decode and sent as zero. */
export interface IkeHeaderFlags {
  /** I: sent by the original initiator of the IKE SA. */
  initiator: boolean;
  /** R: this message is a response. */
  response: boolean;
  /** V: the sender can speak a higher major version. */
  version: boolean;
}

/** The 28-byte IKE header (RFC 7296 3.1). */
export interface IkeHeader {
  /** IKE SA Initiator's SPI, 8 bytes. */
  spiI: Buffer;
  /** IKE SA Responder's SPI, 8 bytes (zero in the first IKE_SA_INIT request). */
  spiR: Buffer;
  /** Type of the first payload (PayloadType). Recomputed by encodeMessage. */
  nextPayload: number;
  majorVersion: number;
  minorVersion: number;
  /** ExchangeType. */
  exchangeType: number;
  flags: IkeHeaderFlags;
  /** Unsigned 32-bit message ID. */
  messageId: number;
  /** Total message length in bytes, header included. Recomputed by encodeMessage. */
  length: number;
}

/** One transform of a proposal (RFC 7296 3.3.2). */
export interface Transform {
  /** TransformType. */
  type: number;
  /** Transform ID (EncrId, PrfId, IntegId, KeGroup or EsnId from src/crypto/ids.ts). */
  id: number;
  /** Key Length attribute in bits (RFC 7296 3.3.5), when present. */
  keyLength?: number;
  /**
   * Attributes other than Key Length, kept raw. RFC 7296 3.3.6: a transform with an attribute that is
   * not understood must not be selected. Absent when there are none.
   */
  unknownAttributes?: TransformAttribute[];
}

/** A raw transform attribute (RFC 7296 3.3.5): TV (2-byte value in the header) or TLV. */
export interface TransformAttribute {
  /** Attribute type without the AF bit. */
  type: number;
  /** True for TV format (AF = 1): value is exactly 2 bytes. */
  tv: boolean;
  value: Buffer;
}

/** One proposal of an SA payload (RFC 7296 3.3.1). */
export interface Proposal {
  /** Proposal Num, 1 for the first proposal and incremented by one. */
  num: number;
  /** ProtocolId: IKE, AH or ESP. */
  protocolId: number;
  /** SPI: empty in an initial IKE_SA_INIT, 8 bytes for IKE rekeys, 4 bytes for AH/ESP. */
  spi: Buffer;
  transforms: Transform[];
}

/** Security Association payload (RFC 7296 3.3). */
export interface SaPayload {
  type: typeof PayloadType.SA;
  proposals: Proposal[];
}

/** Key Exchange payload (RFC 7296 3.4). */
export interface KePayload {
  type: typeof PayloadType.KE;
  /** Key exchange method (KeGroup). */
  group: number;
  data: Buffer;
}

/** Identification payload, IDi or IDr (RFC 7296 3.5). */
export interface IdPayload {
  type: typeof PayloadType.IDi | typeof PayloadType.IDr;
  /** IdType. */
  idType: number;
  data: Buffer;
}

/** Certificate payload (RFC 7296 3.6). */
export interface CertPayload {
  type: typeof PayloadType.CERT;
  /** CertEncoding. */
  certEncoding: number;
  data: Buffer;
}

/** Certificate Request payload (RFC 7296 3.7): data is the concatenated SHA-1 hashes of trusted CA keys. */
export interface CertReqPayload {
  type: typeof PayloadType.CERTREQ;
  /** CertEncoding. */
  certEncoding: number;
  data: Buffer;
}

/** Authentication payload (RFC 7296 3.8). */
export interface AuthPayload {
  type: typeof PayloadType.AUTH;
  /** AuthMethod. */
  method: number;
  data: Buffer;
}

/** Nonce payload, Ni or Nr (RFC 7296 3.9). */
export interface NoncePayload {
  type: typeof PayloadType.NONCE;
  data: Buffer;
}

/** Notify payload (RFC 7296 3.10). */
export interface NotifyPayload {
  type: typeof PayloadType.NOTIFY;
  /** ProtocolId the SPI belongs to; 0 when there is no SPI. */
  protocolId: number;
  /** SPI of the SA concerned; empty when none. */
  spi: Buffer;
  /** NotifyType. */
  notifyType: number;
  data: Buffer;
}

/** Delete payload (RFC 7296 3.11). */
export interface DeletePayload {
  type: typeof PayloadType.DELETE;
  /** ProtocolId: IKE (no SPIs), AH or ESP. */
  protocolId: number;
  /** Bytes per SPI: 0 for IKE, 4 for AH/ESP. */
  spiSize: number;
  spis: Buffer[];
}

/** Vendor ID payload (RFC 7296 3.12). */
export interface VendorIdPayload {
  type: typeof PayloadType.VENDOR_ID;
  data: Buffer;
}

/** One traffic selector (RFC 7296 3.13.1). Addresses are 4 bytes (IPv4) or 16 bytes (IPv6). */
export interface TrafficSelector {
  /** TsType. */
  tsType: number;
  /** IP protocol number, 0 for any. */
  ipProtocol: number;
  startPort: number;
  endPort: number;
  startAddr: Buffer;
  endAddr: Buffer;
}

/** Traffic Selector payload, TSi or TSr (RFC 7296 3.13). */
export interface TsPayload {
  type: typeof PayloadType.TSi | typeof PayloadType.TSr;
  selectors: TrafficSelector[];
}

/**
 * Encrypted and Authenticated payload, raw (RFC 7296 3.14). Always the last payload of a message;
 * src/ike/protection/ opens and seals it.
 */
export interface SkPayload {
  type: typeof PayloadType.SK;
  /** Next Payload of the SK generic header: type of the first inner payload. */
  firstPayload: number;
  /** IV || ciphertext (with padding and pad length) || ICV. */
  data: Buffer;
}

/** Encrypted and Authenticated Fragment payload, raw (RFC 7383 2.5). */
export interface SkfPayload {
  type: typeof PayloadType.SKF;
  /** Type of the first inner payload in fragment 1; 0 in every other fragment. */
  firstPayload: number;
  /** 1-based. */
  fragmentNumber: number;
  totalFragments: number;
  /** IV || ciphertext || ICV. */
  data: Buffer;
}

/** One configuration attribute (RFC 7296 3.15.1). */
export interface CpAttribute {
  /** CpAttr (15 bits). */
  type: number;
  value: Buffer;
}

/** Configuration payload (RFC 7296 3.15). */
export interface CpPayload {
  type: typeof PayloadType.CP;
  /** CfgType. */
  cfgType: number;
  attributes: CpAttribute[];
}

/** EAP payload (RFC 7296 3.16): data is the whole EAP message (Code, Identifier, Length, Type, ...). */
export interface EapPayload {
  type: typeof PayloadType.EAP;
  data: Buffer;
}

/**
 * A payload whose type this codec does not know. Skipped by the engine unless `critical`, in which case
 * the message is rejected with UNSUPPORTED_CRITICAL_PAYLOAD (RFC 7296 2.5, 3.2).
 */
export interface UnknownPayload {
  type: 'unknown';
  /** The payload type number from the chain. */
  payloadType: number;
  critical: boolean;
  /** Payload body after the generic header. */
  data: Buffer;
}

/** Any payload; switch on `type` (a PayloadType number, or 'unknown'). */
export type Payload =
  | SaPayload
  | KePayload
  | IdPayload
  | CertPayload
  | CertReqPayload
  | AuthPayload
  | NoncePayload
  | NotifyPayload
  | DeletePayload
  | VendorIdPayload
  | TsPayload
  | SkPayload
  | SkfPayload
  | CpPayload
  | EapPayload
  | UnknownPayload;

/** A decoded IKE message: header and payloads in wire order (an SK/SKF payload is last and still sealed). */
export interface IkeMessage {
  header: IkeHeader;
  payloads: Payload[];
}
