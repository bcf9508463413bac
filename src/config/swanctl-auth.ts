/** local<suffix> / remote<suffix> authentication rounds of a connection (swanctl.conf(5)). */
import type { Origin } from './config-error.js';
import type { SettingsSection } from './settings-tree.js';
import { didYouMean } from './suggest.js';
import { parseEnum, parseUint, splitList } from './values.js';
import { AUTH_KEYS } from './swanctl-keys.js';
import { keyOriginsOf, type Findings } from './swanctl-findings.js';
import type { AuthClass, AuthRound } from './swanctl-model.js';

/** The rounds of one side, sorted by `round`, then by position; strongSwan's default round when there is none. */
export function buildAuthRounds(
  f: Findings,
  sections: SettingsSection[],
  side: 'local' | 'remote',
  conn: SettingsSection,
): AuthRound[] {
  if (sections.length === 0) {
    f.warn(
      conn.origin,
      `connection '${conn.name}' has no ${side} section, so strongSwan's default auth = pubkey applies`,
      `add ${side} { auth = ... } to say which authentication is meant`,
    );
    return [defaultRound(side, conn.origin)];
  }
  const rounds = sections.map((sec, position) => ({ r: round(f, sec, side, position), position }));
  rounds.sort((a, b) => a.r.round - b.r.round || a.position - b.position);
  return rounds.map((x) => x.r);
}

function defaultRound(side: 'local' | 'remote', origin: Origin): AuthRound {
  return {
    name: side,
    origin,
    keyOrigins: {},
    round: 0,
    auth: 'pubkey',
    authClass: 'pubkey',
    id: side === 'remote' ? '%any' : undefined,
    certs: [],
    pubkeys: [],
    cacerts: [],
    revocation: 'relaxed',
  };
}

function round(f: Findings, s: SettingsSection, side: 'local' | 'remote', position: number): AuthRound {
  const where = `${side} round '${s.name}'`;
  f.checkKeys(s, AUTH_KEYS, where);
  for (const sub of s.sections.values()) {
    if (sub.name.startsWith('cert') || sub.name.startsWith('cacert')) {
      f.warn(sub.origin, `certificate section '${sub.name}' is ignored`, 'certificates are not supported yet');
    } else {
      f.error(sub.origin, `unknown section '${sub.name}' in ${where}`, didYouMean(sub.name, ['cert', 'cacert']));
    }
  }
  const auth = f.read(s, 'auth', (v) => v.trim()) ?? 'pubkey';
  const authClass = classifyAuth(f, auth, s);
  const list = (key: string) => f.read(s, key, splitList) ?? [];
  return {
    name: s.name,
    origin: s.origin,
    keyOrigins: keyOriginsOf(s.keys),
    round: f.read(s, 'round', (v) => parseUint(v, 0xffffffff, 'round number')) ?? position,
    auth,
    authClass,
    id: f.read(s, 'id', (v) => v) ?? (side === 'remote' ? '%any' : undefined),
    certs: list('certs'),
    pubkeys: list('pubkeys'),
    cacerts: list('cacerts'),
    revocation: f.read(s, 'revocation', (v) => parseEnum(v, ['strict', 'ifuri', 'relaxed'] as const)) ?? 'relaxed',
  };
}

function classifyAuth(f: Findings, auth: string, s: SettingsSection): AuthClass {
  const origin = s.keys.get('auth')?.valueOrigin ?? s.origin;
  const lower = auth.toLowerCase();
  if (lower === 'psk') return 'psk';
  if (['ike:', 'pubkey', 'rsa', 'ecdsa', 'ed25519', 'ed448'].some((p) => lower.startsWith(p))) return 'pubkey';
  if (lower.startsWith('bliss')) {
    f.error(origin, `auth = ${auth}: BLISS signatures are not supported`, 'use pubkey with RSA, ECDSA or EdDSA keys');
    return 'pubkey';
  }
  if (lower === 'eap-tls') return 'eap';
  if (lower.startsWith('eap')) {
    f.error(origin, `auth = ${auth}: EAP authentication is not supported`, 'use auth = psk');
    return 'eap';
  }
  if (lower.startsWith('xauth')) {
    f.error(origin, `auth = ${auth}: XAuth is IKEv1 only and not supported`, 'use auth = psk');
    return 'xauth';
  }
  f.error(origin, `unknown auth method '${auth}'`, 'use psk, pubkey, rsa, ecdsa, eap... (see man swanctl.conf)');
  return 'psk';
}
