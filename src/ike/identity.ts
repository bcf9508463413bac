/**
 * Identities (RFC 7296 3.5): configuration form <-> ID payload type and data, matching, and text for logs.
 */
import { printable } from '../common/printable.js';
import { IdType } from './codec/constants.js';
import type { IkeIdentity } from './config.js';
import { formatAddress, parseAddress } from './traffic-selectors.js';
import { decodeDn, dnMatches, formatDn } from '../pki/dn.js';

/** ID Type and Identification Data of an ID payload for our identity. */
export function encodeIdentity(id: IkeIdentity): { idType: number; data: Buffer } {
  switch (id.type) {
    case 'ipv4':
    case 'ipv6': {
      const a = parseAddress(id.value);
      if (a === undefined || a.length !== (id.type === 'ipv4' ? 4 : 16))
        throw new Error(`identity '${id.value}' is not an ${id.type} address`);
      return { idType: id.type === 'ipv4' ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR, data: a };
    }
    case 'fqdn':
      return { idType: IdType.ID_FQDN, data: Buffer.from(id.value, 'utf8') };
    case 'rfc822':
      return { idType: IdType.ID_RFC822_ADDR, data: Buffer.from(id.value, 'utf8') };
    case 'keyId':
      return { idType: IdType.ID_KEY_ID, data: Buffer.from(id.value) };
    case 'dn':
      return { idType: IdType.ID_DER_ASN1_DN, data: Buffer.from(id.der) };
    case 'any':
      throw new Error('%any cannot be sent as an identity');
  }
}

/** The identity an ID payload carries, or undefined for types this engine does not handle yet (DN, ...). */
export function decodeIdentity(idType: number, data: Uint8Array): IkeIdentity | undefined {
  switch (idType) {
    case IdType.ID_IPV4_ADDR:
      return data.length === 4 ? { type: 'ipv4', value: formatAddress(data) } : undefined;
    case IdType.ID_IPV6_ADDR:
      return data.length === 16 ? { type: 'ipv6', value: formatAddress(data) } : undefined;
    case IdType.ID_FQDN:
      return { type: 'fqdn', value: Buffer.from(data).toString('utf8') };
    case IdType.ID_RFC822_ADDR:
      return { type: 'rfc822', value: Buffer.from(data).toString('utf8') };
    case IdType.ID_KEY_ID:
      return { type: 'keyId', value: Buffer.from(data) };
    case IdType.ID_DER_ASN1_DN:
      try {
        return { type: 'dn', value: formatDn(decodeDn(data)), der: Buffer.from(data) };
      } catch {
        return undefined;
      }
    default:
      return undefined;
  }
}

/** Does a received identity match a configured one? `any` matches all; FQDN and RFC822 compare case-insensitively. */
export function identityMatches(configured: IkeIdentity, received: IkeIdentity): boolean {
  if (configured.type === 'any') return true;
  if (received.type !== configured.type) return false;
  if (configured.type === 'keyId' && received.type === 'keyId')
    return Buffer.compare(Buffer.from(configured.value), Buffer.from(received.value)) === 0;
  if (configured.type === 'ipv4' || configured.type === 'ipv6') {
    const a = parseAddress(configured.value);
    const b = received.type === 'ipv4' || received.type === 'ipv6' ? parseAddress(received.value) : undefined;
    return a !== undefined && b !== undefined && Buffer.compare(a, b) === 0;
  }
  if (configured.type === 'dn' && received.type === 'dn') {
    try {
      return dnMatches(decodeDn(configured.der), decodeDn(received.der));
    } catch {
      return false;
    }
  }
  if ((configured.type === 'fqdn' || configured.type === 'rfc822') && received.type === configured.type)
    return configured.value.toLowerCase() === received.value.toLowerCase();
  return false;
}

/**
 * Text like strongSwan prints identities: `moon.example.org`, `192.0.2.1`, `@#0102` for key ids. A peer
 * chooses its identity: non-printable characters come out escaped and the text is capped in length, so it
 * is safe in log lines and on terminals.
 */
export function formatIdentity(id: IkeIdentity): string {
  switch (id.type) {
    case 'any':
      return '%any';
    case 'keyId':
      return `@#${printable(Buffer.from(id.value).toString('hex'))}`;
    default:
      return printable(id.value);
  }
}

/** Can this configured remote identity be sent as IDr? Not `%any`, and not a pattern (a DN with `*` values). */
export function isConcreteIdentity(id: IkeIdentity): boolean {
  if (id.type === 'any') return false;
  if (id.type === 'dn') {
    try {
      return !decodeDn(id.der).some((a) => a.value === '*');
    } catch {
      return false;
    }
  }
  return true;
}
