/**
 * The secrets section: ike<suffix> pre-shared keys, eap<suffix> / xauth<suffix> passwords (xauth is an alias of eap,
 * swanctl.conf(5)) and private key files; other secret types are recognised and skipped.
 */
import type { Origin } from './config-error.js';
import type { SettingsSection } from './settings-tree.js';
import { didYouMean } from './suggest.js';
import { parseSecret } from './values.js';
import { IKE_SECRET_KEYS, SECRET_TYPES } from './swanctl-keys.js';
import type { Findings } from './swanctl-findings.js';
import type { EapSecret, IkeSecret, PrivateKeySecret } from './swanctl-model.js';

/** Password sections: `eap<suffix>` and its alias `xauth<suffix>`. */
const EAP_SECRET_TYPES = ['eap', 'xauth'] as const;

/** Secret sections naming a private key file (swanctl.conf(5) secrets.private<suffix>, rsa, ecdsa, pkcs8, pkcs12). */
export const PRIVATE_KEY_TYPES = ['private', 'rsa', 'ecdsa', 'pkcs8', 'pkcs12'] as const;

/** private<suffix> { file, secret } and the like, in file order. */
export function buildPrivateKeySecrets(f: Findings, section: SettingsSection): PrivateKeySecret[] {
  const out: PrivateKeySecret[] = [];
  for (const s of section.sections.values()) {
    const type = PRIVATE_KEY_TYPES.find((t) => s.name.startsWith(t));
    if (type === undefined) continue;
    for (const k of s.keys.values())
      if (k.name !== 'file' && k.name !== 'secret')
        f.error(
          k.origin,
          `unknown key '${k.name}' in secret '${s.name}'`,
          didYouMean(k.name, ['file', 'secret']) ?? 'a key secret holds file and secret',
        );
    const file = s.keys.get('file')?.value;
    if (file === undefined || file === null || file.trim() === '') {
      f.error(s.origin, `secret '${s.name}' has no file`, `add file = NAME (looked up in ${type}/ beside the config)`);
      continue;
    }
    const secret = s.keys.get('secret')?.value;
    out.push({
      name: s.name,
      origin: s.origin,
      type,
      file: file.trim(),
      secret: secret === undefined || secret === null ? undefined : Buffer.from(secret, 'utf8'),
    });
  }
  return out;
}

/** IKE secrets in file order; records the origin of every secret-carrying key in `secretOrigins`. */
export function buildSecrets(f: Findings, section: SettingsSection, secretOrigins: Origin[]): IkeSecret[] {
  for (const key of section.keys.values()) {
    f.warn(key.origin, `key '${key.name}' directly in 'secrets' is ignored`, 'secrets go in ike<suffix> { } sections');
  }
  const out: IkeSecret[] = [];
  for (const s of section.sections.values()) {
    for (const k of s.keys.values())
      if ((k.name === 'secret' || k.name === 'pin') && k.value !== null) secretOrigins.push(k.origin);
    const type = SECRET_TYPES.find((t) => s.name.startsWith(t));
    if (type === undefined) {
      const letters = /^[a-z0-9]*/i.exec(s.name)?.[0] ?? s.name;
      f.warn(
        s.origin,
        `secret section '${s.name}' has an unknown type and is ignored (as strongSwan does)`,
        didYouMean(letters, SECRET_TYPES) ?? `name it ike-<name> for a pre-shared key`,
      );
      continue;
    }
    if (type !== 'ike') {
      if ((PRIVATE_KEY_TYPES as readonly string[]).includes(type)) continue;
      if ((EAP_SECRET_TYPES as readonly string[]).includes(type)) continue;
      f.warn(
        s.origin,
        `secret section '${s.name}' is ignored`,
        `${type} secrets are not used yet; only ike<suffix> secrets are`,
      );
      continue;
    }
    const secret = idsAndSecret(f, s);
    if (secret !== undefined) out.push(secret);
  }
  return out;
}

/** eap<suffix> and xauth<suffix> passwords in file order (their origins went into secretOrigins with the others). */
export function buildEapSecrets(f: Findings, section: SettingsSection): EapSecret[] {
  const out: EapSecret[] = [];
  for (const s of section.sections.values()) {
    if (!EAP_SECRET_TYPES.some((t) => s.name.startsWith(t))) continue;
    const secret = idsAndSecret(f, s);
    if (secret !== undefined) out.push(secret);
  }
  return out;
}

/** A section of `secret` and `id<suffix>` keys (ike, eap, xauth). */
function idsAndSecret(f: Findings, s: SettingsSection): IkeSecret | undefined {
  const ids: string[] = [];
  for (const k of s.keys.values()) {
    if (k.name.startsWith('id')) {
      if (k.value !== null) ids.push(k.value);
    } else if (k.name !== 'secret') {
      f.error(
        k.origin,
        `unknown key '${k.name}' in secret '${s.name}'`,
        didYouMean(k.name, Object.keys(IKE_SECRET_KEYS)) ?? 'this secret holds secret and id<suffix> keys',
      );
    }
  }
  for (const sub of s.sections.values())
    f.error(sub.origin, `unexpected section '${sub.name}' in secret '${s.name}'`, 'secrets hold keys only');
  const k = s.keys.get('secret');
  if (k === undefined || k.value === null) {
    f.warn(
      s.origin,
      `secret section '${s.name}' has no secret and is ignored (as strongSwan does)`,
      'add secret = "..."',
    );
    return undefined;
  }
  const secret = f.read(s, 'secret', parseSecret);
  if (secret === undefined) return undefined;
  return { name: s.name, origin: s.origin, secret, secretOrigin: k.origin, ids };
}
