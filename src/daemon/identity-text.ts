/**
 * strongSwan's identity strings (swanctl.conf `id`, `secrets.ike*.id*`) to IKEv2 identities: `%any`, IP
 * addresses, `@fqdn` or a bare name (FQDN), `user@domain` (RFC822), `@#hex` (KEY_ID), and the typed prefixes
 * `fqdn:`, `email:`/`rfc822:`, `keyid:`, `ipv4:`, `ipv6:`. Distinguished names (`C=CH, O=...`) come with
 * certificate authentication and are refused with that explanation for now.
 */
import { isIP } from 'node:net';
import type { IkeIdentity } from '../ike/config.js';

export class IdentityError extends Error {
  override readonly name = 'IdentityError';
}

export function parseIdentityText(text: string): IkeIdentity {
  const t = text.trim();
  if (t === '' || t === '%any' || t === '%any6') return { type: 'any' };
  const typed = /^(fqdn|email|rfc822|keyid|ipv4|ipv6):(.*)$/i.exec(t);
  if (typed) {
    const kind = (typed[1] as string).toLowerCase();
    const value = typed[2] as string;
    switch (kind) {
      case 'fqdn':
        return { type: 'fqdn', value };
      case 'email':
      case 'rfc822':
        return { type: 'rfc822', value };
      case 'keyid':
        return { type: 'keyId', value: hexOrText(value) };
      default:
        if (isIP(value) !== (kind === 'ipv4' ? 4 : 6)) throw new IdentityError(`'${t}' is not an ${kind} address`);
        return { type: kind === 'ipv4' ? 'ipv4' : 'ipv6', value };
    }
  }
  const family = isIP(t);
  if (family === 4) return { type: 'ipv4', value: t };
  if (family === 6) return { type: 'ipv6', value: t };
  if (t.startsWith('@#')) return { type: 'keyId', value: hexOrText(t.slice(1)) };
  if (t.startsWith('@@')) return { type: 'rfc822', value: t.slice(2) };
  if (t.startsWith('@')) return { type: 'fqdn', value: t.slice(1) };
  if (t.includes('=')) {
    throw new IdentityError(
      `'${t}' looks like a distinguished name; DN identities need certificate authentication, which is not supported yet: use an FQDN, e-mail or IP identity`,
    );
  }
  if (t.includes('@')) return { type: 'rfc822', value: t };
  return { type: 'fqdn', value: t };
}

function hexOrText(v: string): Uint8Array {
  const s = v.startsWith('#') ? v.slice(1) : v;
  const clean = s.replace(/^0x/i, '').replace(/:/g, '');
  if (clean.length > 0 && clean.length % 2 === 0 && /^[0-9a-f]+$/i.test(clean)) return Buffer.from(clean, 'hex');
  return Buffer.from(v, 'utf8');
}
