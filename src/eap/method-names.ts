/**
 * EAP methods by the names swanctl.conf uses (`auth = eap-<name>`, swanctl.conf(5)), with their EapType and the
 * credential each needs. A name here is known; whether this build runs it is `hasServerMethod` / `hasPeerMethod`
 * (eap-server.ts, eap-peer.ts), so a method added there becomes configurable without touching the config code.
 */
import { EapType } from './constants.js';

export interface EapMethodName {
  /** The swanctl name after `eap-`. */
  readonly name: string;
  readonly type: number;
  /** What authenticates the client: a password from `secrets.eap*`, or a certificate. */
  readonly credential: 'password' | 'certificate';
}

export const EAP_METHOD_NAMES: readonly EapMethodName[] = [
  { name: 'mschapv2', type: EapType['EAP-MSCHAP-V2'], credential: 'password' },
  { name: 'md5', type: EapType['MD5-Challenge'], credential: 'password' },
  { name: 'tls', type: EapType['EAP-TLS'], credential: 'certificate' },
];

/** The method of `name` (case-insensitive, as strongSwan reads it), or undefined. */
export function eapMethodByName(name: string): EapMethodName | undefined {
  const lower = name.toLowerCase();
  return EAP_METHOD_NAMES.find((m) => m.name === lower);
}

export function eapMethodByType(type: number): EapMethodName | undefined {
  return EAP_METHOD_NAMES.find((m) => m.type === type);
}
