/** EAP (RFC 3748) for IKEv2 (RFC 7296 2.16): packets, EAP-Identity, EAP-MD5, EAP-MSCHAPv2 and EAP-TLS, server and peer. */
export * from './constants.js';
export { decodeEapPacket, encodeEapPacket, encodedLengthEapPacket } from './eap-packet.js';
export type { EapPacket } from './eap-packet.js';
export { EapServer, hasServerMethod } from './eap-server.js';
export type { EapServerConfig, EapServerSettledStep, EapServerStep } from './eap-server.js';
export { EapPeer, hasPeerMethod } from './eap-peer.js';
export { EAP_METHOD_NAMES, eapMethodByName, eapMethodByType } from './method-names.js';
export type { EapMethodName } from './method-names.js';
export type { EapPeerConfig, EapPeerStep } from './eap-peer.js';
export type { PasswordLookup } from './eap-method.js';
export { TlsPeer, TlsServer, decodeEapTls, encodeEapTls, EapTlsFlag, identityFromEapText } from './eap-tls.js';
export type {
  EapTlsConfig,
  EapTlsMessage,
  TlsChannel,
  TlsChannelFactory,
  TlsCredentials,
  TlsSessionState,
} from './eap-tls.js';
