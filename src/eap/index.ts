/** EAP (RFC 3748) for IKEv2 (RFC 7296 2.16): packets, EAP-Identity, EAP-MD5 and EAP-MSCHAPv2, server and peer. */
export * from './constants.js';
export { decodeEapPacket, encodeEapPacket, encodedLengthEapPacket } from './eap-packet.js';
export type { EapPacket } from './eap-packet.js';
export { EapServer, hasServerMethod } from './eap-server.js';
export type { EapServerConfig, EapServerStep } from './eap-server.js';
export { EapPeer, hasPeerMethod } from './eap-peer.js';
export { EAP_METHOD_NAMES, eapMethodByName, eapMethodByType } from './method-names.js';
export type { EapMethodName } from './method-names.js';
export type { EapPeerConfig, EapPeerStep } from './eap-peer.js';
export type { PasswordLookup } from './eap-method.js';
