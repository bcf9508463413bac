/**
 * IKEv2 registries (IANA "Internet Key Exchange Version 2 (IKEv2) Parameters"), RFC 7296 section 3 and the
 * extensions this project speaks. Keys keep the RFC spelling; `nameOf(Table, value)` gives a name for logs.
 * Transform IDs (ENCR, PRF, INTEG, KE groups, ESN) live in src/crypto/ids.ts.
 */
export { nameOf } from '../../crypto/ids.js';

/** IKE header: fixed length in bytes (RFC 7296 3.1). */
export const IKE_HEADER_LENGTH = 28;
/** Generic payload header length in bytes (RFC 7296 3.2), and its fields' offsets. */
export const PAYLOAD_HEADER_LENGTH = 4;
export const PAYLOAD_NEXT_OFFSET = 0;
export const PAYLOAD_FLAGS_OFFSET = 1;
export const PAYLOAD_LENGTH_OFFSET = 2;
/** The only major version this code speaks (RFC 7296 3.1). */
export const IKE_MAJOR_VERSION = 2;
/** Minor version sent (RFC 7296 3.1). */
export const IKE_MINOR_VERSION = 0;
/** Length of each IKE SPI in the header (RFC 7296 3.1). */
export const IKE_SPI_LENGTH = 8;

/** Exchange Type field of the IKE header (RFC 7296 3.1; RFC 5723; RFC 9242). */
export const ExchangeType = {
  IKE_SA_INIT: 34,
  IKE_AUTH: 35,
  CREATE_CHILD_SA: 36,
  INFORMATIONAL: 37,
  IKE_SESSION_RESUME: 38,
  IKE_INTERMEDIATE: 43,
} as const;
export type ExchangeType = (typeof ExchangeType)[keyof typeof ExchangeType];

/** Flags octet of the IKE header (RFC 7296 3.1): bit masks. Other bits are reserved (sent 0, ignored). */
export const HeaderFlag = {
  /** I: set in messages sent by the original initiator of the IKE SA. */
  INITIATOR: 0x08,
  /** V: the sender can speak a higher major version. */
  VERSION: 0x10,
  /** R: this message is a response. */
  RESPONSE: 0x20,
} as const;
export type HeaderFlag = (typeof HeaderFlag)[keyof typeof HeaderFlag];

/** Critical bit in the generic payload header (RFC 7296 3.2). */
export const PAYLOAD_CRITICAL_FLAG = 0x80;

/** Next Payload / payload type values (RFC 7296 3.2; RFC 6467 GSPM; RFC 7383 SKF). */
export const PayloadType = {
  NONE: 0,
  SA: 33,
  KE: 34,
  IDi: 35,
  IDr: 36,
  CERT: 37,
  CERTREQ: 38,
  AUTH: 39,
  NONCE: 40,
  NOTIFY: 41,
  DELETE: 42,
  VENDOR_ID: 43,
  TSi: 44,
  TSr: 45,
  SK: 46,
  CP: 47,
  EAP: 48,
  GSPM: 49,
  SKF: 53,
} as const;
export type PayloadType = (typeof PayloadType)[keyof typeof PayloadType];

/** Protocol ID in proposals, notifies and deletes (RFC 7296 3.3.1). 0 in a notify means "none". */
export const ProtocolId = {
  NONE: 0,
  IKE: 1,
  AH: 2,
  ESP: 3,
} as const;
export type ProtocolId = (typeof ProtocolId)[keyof typeof ProtocolId];

/** Transform Type (RFC 7296 3.3.2). Type 4 is "Diffie-Hellman Group", renamed Key Exchange Method by RFC 9370. */
export const TransformType = {
  ENCR: 1,
  PRF: 2,
  INTEG: 3,
  KE: 4,
  ESN: 5,
} as const;
export type TransformType = (typeof TransformType)[keyof typeof TransformType];

/** Transform attribute types (RFC 7296 3.3.5). Key Length is the only one IKEv2 defines; it is TV (AF = 1). */
export const TransformAttr = {
  KEY_LENGTH: 14,
} as const;
export type TransformAttr = (typeof TransformAttr)[keyof typeof TransformAttr];

/** Attribute Format bit of a transform attribute: set for TV, clear for TLV (RFC 7296 3.3.5). */
export const TRANSFORM_ATTR_TV_FLAG = 0x8000;

/** Proposal substructure "Last Substruc" values (RFC 7296 3.3.1). */
export const LastSubstruc = {
  LAST: 0,
  MORE_PROPOSALS: 2,
  MORE_TRANSFORMS: 3,
} as const;

/** Identification Data ID Type (RFC 7296 3.5; RFC 4595 FC_NAME; RFC 7619 ID_NULL). */
export const IdType = {
  ID_IPV4_ADDR: 1,
  ID_FQDN: 2,
  ID_RFC822_ADDR: 3,
  ID_IPV6_ADDR: 5,
  ID_DER_ASN1_DN: 9,
  ID_DER_ASN1_GN: 10,
  ID_KEY_ID: 11,
  ID_FC_NAME: 12,
  ID_NULL: 13,
} as const;
export type IdType = (typeof IdType)[keyof typeof IdType];

/** Certificate Encoding for CERT and CERTREQ (RFC 7296 3.6; RFC 4806 OCSP; RFC 7670 raw public key). */
export const CertEncoding = {
  PKCS7_WRAPPED_X509: 1,
  PGP: 2,
  DNS_SIGNED_KEY: 3,
  X509_CERT_SIGNATURE: 4,
  KERBEROS_TOKEN: 6,
  CRL: 7,
  ARL: 8,
  SPKI: 9,
  X509_CERT_ATTRIBUTE: 10,
  RAW_RSA_KEY: 11,
  HASH_AND_URL_X509_CERT: 12,
  HASH_AND_URL_X509_BUNDLE: 13,
  OCSP_CONTENT: 14,
  RAW_PUBLIC_KEY: 15,
} as const;
export type CertEncoding = (typeof CertEncoding)[keyof typeof CertEncoding];

/** Authentication Method of the AUTH payload (RFC 7296 3.8; RFC 4754; RFC 6467; RFC 7619; RFC 7427). */
export const AuthMethod = {
  RSA_DIGITAL_SIGNATURE: 1,
  SHARED_KEY_MESSAGE_INTEGRITY_CODE: 2,
  DSS_DIGITAL_SIGNATURE: 3,
  ECDSA_SHA256_P256: 9,
  ECDSA_SHA384_P384: 10,
  ECDSA_SHA512_P521: 11,
  GENERIC_SECURE_PASSWORD: 12,
  NULL_AUTH: 13,
  DIGITAL_SIGNATURE: 14,
} as const;
export type AuthMethod = (typeof AuthMethod)[keyof typeof AuthMethod];

/** Hash algorithm identifiers carried in SIGNATURE_HASH_ALGORITHMS (RFC 7427 4; RFC 8420 IDENTITY). */
export const HashAlgorithm = {
  SHA1: 1,
  SHA2_256: 2,
  SHA2_384: 3,
  SHA2_512: 4,
  IDENTITY: 5,
} as const;
export type HashAlgorithm = (typeof HashAlgorithm)[keyof typeof HashAlgorithm];

/**
 * Notify Message Types (RFC 7296 3.10.1). 1..16383 are errors, 16384 and up are status types.
 * Extensions: RFC 4555 (MOBIKE), RFC 4478, RFC 4739, RFC 5685 (redirect), RFC 5723 (resumption), RFC 6023
 * (childless), RFC 7383 (fragmentation), RFC 7427 (signature hashes), RFC 9242 (intermediate exchange).
 */
export const NotifyType = {
  // Errors (RFC 7296 3.10.1 unless noted)
  UNSUPPORTED_CRITICAL_PAYLOAD: 1,
  INVALID_IKE_SPI: 4,
  INVALID_MAJOR_VERSION: 5,
  INVALID_SYNTAX: 7,
  INVALID_MESSAGE_ID: 9,
  INVALID_SPI: 11,
  NO_PROPOSAL_CHOSEN: 14,
  INVALID_KE_PAYLOAD: 17,
  AUTHENTICATION_FAILED: 24,
  SINGLE_PAIR_REQUIRED: 34,
  NO_ADDITIONAL_SAS: 35,
  INTERNAL_ADDRESS_FAILURE: 36,
  FAILED_CP_REQUIRED: 37,
  TS_UNACCEPTABLE: 38,
  INVALID_SELECTORS: 39,
  /** RFC 4555 */
  UNACCEPTABLE_ADDRESSES: 40,
  /** RFC 4555 */
  UNEXPECTED_NAT_DETECTED: 41,
  TEMPORARY_FAILURE: 43,
  CHILD_SA_NOT_FOUND: 44,

  // Status types (RFC 7296 3.10.1 unless noted)
  INITIAL_CONTACT: 16384,
  SET_WINDOW_SIZE: 16385,
  ADDITIONAL_TS_POSSIBLE: 16386,
  IPCOMP_SUPPORTED: 16387,
  NAT_DETECTION_SOURCE_IP: 16388,
  NAT_DETECTION_DESTINATION_IP: 16389,
  COOKIE: 16390,
  USE_TRANSPORT_MODE: 16391,
  HTTP_CERT_LOOKUP_SUPPORTED: 16392,
  REKEY_SA: 16393,
  ESP_TFC_PADDING_NOT_SUPPORTED: 16394,
  NON_FIRST_FRAGMENTS_ALSO: 16395,
  /** RFC 4555 */
  MOBIKE_SUPPORTED: 16396,
  /** RFC 4555 */
  ADDITIONAL_IP4_ADDRESS: 16397,
  /** RFC 4555 */
  ADDITIONAL_IP6_ADDRESS: 16398,
  /** RFC 4555 */
  NO_ADDITIONAL_ADDRESSES: 16399,
  /** RFC 4555 */
  UPDATE_SA_ADDRESSES: 16400,
  /** RFC 4555 */
  COOKIE2: 16401,
  /** RFC 4555 */
  NO_NATS_ALLOWED: 16402,
  /** RFC 4478 */
  AUTH_LIFETIME: 16403,
  /** RFC 4739 */
  MULTIPLE_AUTH_SUPPORTED: 16404,
  /** RFC 4739 */
  ANOTHER_AUTH_FOLLOWS: 16405,
  /** RFC 5685 */
  REDIRECT_SUPPORTED: 16406,
  /** RFC 5685 */
  REDIRECT: 16407,
  /** RFC 5685 */
  REDIRECTED_FROM: 16408,
  /** RFC 5723 */
  TICKET_LT_OPAQUE: 16409,
  /** RFC 5723 */
  TICKET_REQUEST: 16410,
  /** RFC 5723 */
  TICKET_ACK: 16411,
  /** RFC 5723 */
  TICKET_NACK: 16412,
  /** RFC 5723 */
  TICKET_OPAQUE: 16413,
  /** RFC 6023 */
  CHILDLESS_IKEV2_SUPPORTED: 16418,
  /** RFC 7383 */
  IKEV2_FRAGMENTATION_SUPPORTED: 16430,
  /** RFC 7427 */
  SIGNATURE_HASH_ALGORITHMS: 16431,
  /** RFC 9242 */
  INTERMEDIATE_EXCHANGE_SUPPORTED: 16438,
} as const;
export type NotifyType = (typeof NotifyType)[keyof typeof NotifyType];

/** Notify types below this value are errors (RFC 7296 3.10.1). */
export const NOTIFY_STATUS_MIN = 16384;

/** Traffic Selector Type (RFC 7296 3.13.1). */
export const TsType = {
  TS_IPV4_ADDR_RANGE: 7,
  TS_IPV6_ADDR_RANGE: 8,
} as const;
export type TsType = (typeof TsType)[keyof typeof TsType];

/** CFG Type of the Configuration payload (RFC 7296 3.15). */
export const CfgType = {
  CFG_REQUEST: 1,
  CFG_REPLY: 2,
  CFG_SET: 3,
  CFG_ACK: 4,
} as const;
export type CfgType = (typeof CfgType)[keyof typeof CfgType];

/** Configuration attribute types (RFC 7296 3.15.1; RFC 5739; RFC 7651 P-CSCF). */
export const CpAttr = {
  INTERNAL_IP4_ADDRESS: 1,
  INTERNAL_IP4_NETMASK: 2,
  INTERNAL_IP4_DNS: 3,
  INTERNAL_IP4_NBNS: 4,
  INTERNAL_IP4_DHCP: 6,
  APPLICATION_VERSION: 7,
  INTERNAL_IP6_ADDRESS: 8,
  INTERNAL_IP6_DNS: 10,
  INTERNAL_IP6_DHCP: 12,
  INTERNAL_IP4_SUBNET: 13,
  SUPPORTED_ATTRIBUTES: 14,
  INTERNAL_IP6_SUBNET: 15,
  INTERNAL_IP6_LINK: 17,
  INTERNAL_IP6_PREFIX: 18,
  P_CSCF_IP4_ADDRESS: 20,
  P_CSCF_IP6_ADDRESS: 21,
} as const;
export type CpAttr = (typeof CpAttr)[keyof typeof CpAttr];
