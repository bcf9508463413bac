/**
 * Is an IKE identity bound to a certificate (RFC 7296 3.5, RFC 4945 3.1)? The subject DN (with `*` wildcards
 * in the identity), or a subjectAltName of the identity's type: dNSName for FQDN, rfc822Name for e-mail,
 * iPAddress for IPv4/IPv6; a KEY_ID names the SHA-1 of the public key.
 */
import type { IkeIdentity } from '../ike/config.js';
import { parseAddress } from '../ike/traffic-selectors.js';
import type { X509Cert } from './certificate.js';
import { decodeDn, dnMatches } from './dn.js';

function sameAddress(a: string, b: string): boolean {
  const x = parseAddress(a);
  const y = parseAddress(b);
  return x !== undefined && y !== undefined && Buffer.compare(x, y) === 0;
}

/** A pattern `*.example.org` matches one or more leading labels; otherwise names compare ignoring case. */
function nameMatches(pattern: string, value: string): boolean {
  const p = pattern.toLowerCase();
  const v = value.toLowerCase();
  if (p.startsWith('*.')) return v.endsWith(p.slice(1)) && v.length > p.length - 1;
  return p === v;
}

export function certHasIdentity(cert: X509Cert, id: IkeIdentity): boolean {
  switch (id.type) {
    case 'any':
      return true;
    case 'dn':
      try {
        return dnMatches(decodeDn(id.der), cert.subject);
      } catch {
        return false;
      }
    case 'fqdn':
      return cert.sanDns.some((d) => nameMatches(id.value, d));
    case 'rfc822':
      return cert.sanEmail.some((e) => nameMatches(id.value, e));
    case 'ipv4':
    case 'ipv6':
      return cert.sanIp.some((ip) => sameAddress(id.value, ip));
    case 'keyId':
      return Buffer.compare(Buffer.from(id.value), cert.keyHash) === 0;
  }
}
