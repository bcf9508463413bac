/**
 * EAP registries (IANA "Extensible Authentication Protocol (EAP) Registry"; RFC 3748, RFC 2759 and
 * draft-kamath-pppext-eap-mschapv2 for MS-CHAPv2). Keys keep the RFC spelling; `nameOf(Table, value)` names a value.
 */
export { nameOf } from '../crypto/ids.js';

/** EAP header: Code(1) Identifier(1) Length(2) (RFC 3748 4). */
export const EAP_HEADER_LENGTH = 4;
export const EAP_CODE_OFFSET = 0;
export const EAP_IDENTIFIER_OFFSET = 1;
export const EAP_LENGTH_OFFSET = 2;
/** Requests and responses carry a Type octet after the header (RFC 3748 4.1). */
export const EAP_TYPE_OFFSET = 4;

/** Code (RFC 3748 4). */
export const EapCode = {
  Request: 1,
  Response: 2,
  Success: 3,
  Failure: 4,
} as const;
export type EapCode = (typeof EapCode)[keyof typeof EapCode];

/** Method Type (RFC 3748 5, 6; IANA). */
export const EapType = {
  Identity: 1,
  Notification: 2,
  Nak: 3,
  'MD5-Challenge': 4,
  'One-Time Password': 5,
  'Generic Token Card': 6,
  'EAP-TLS': 13,
  'EAP-MSCHAP-V2': 26,
  Expanded: 254,
  Experimental: 255,
} as const;
export type EapType = (typeof EapType)[keyof typeof EapType];

/** MS-CHAPv2 OpCode (RFC 2759 4-6; draft-kamath-pppext-eap-mschapv2 2). */
export const MsChapV2OpCode = {
  Challenge: 1,
  Response: 2,
  Success: 3,
  Failure: 4,
  'Change-Password': 7,
} as const;
export type MsChapV2OpCode = (typeof MsChapV2OpCode)[keyof typeof MsChapV2OpCode];
