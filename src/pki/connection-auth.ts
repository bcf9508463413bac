/**
 * From a connection's swanctl.conf authentication rounds and the loaded credentials to the IKE engine's
 * LocalPubkeyAuth / RemotePubkeyAuth: which certificate and private key we use, the chain we send, the trust
 * anchors and pinned keys for the peer, and the CRL lookup. Problems are diagnostics at the key's file:line.
 */
import type { KeyObject } from 'node:crypto';
import type { Diagnostic, Origin } from '../config/config-error.js';
import { diagnostic } from '../config/config-error.js';
import type { AuthRound } from '../config/swanctl-model.js';
import type { IkeIdentity, LocalPubkeyAuth, RemotePubkeyAuth } from '../ike/config.js';
import { formatIdentity } from '../ike/identity.js';
import type { X509Cert } from './certificate.js';
import { crlStatus } from './crl.js';
import type { Credentials } from './credentials.js';
import { privateKeyFor, readCertificates, readPublicKey, resolveIn } from './credentials.js';
import { encodeDn, formatDn, parseDn, DnError } from './dn.js';
import { certHasIdentity } from './identity-binding.js';

/** Our identity from a DN string, or a certificate's subject (the exact DER it carries). */
export function dnIdentity(text: string): IkeIdentity {
  const attrs = parseDn(text);
  return { type: 'dn', value: formatDn(attrs), der: encodeDn(attrs) };
}

export { DnError };

function load<T>(
  names: readonly string[],
  read: (file: string) => T[],
  folder: string,
  creds: Credentials,
  origin: Origin,
  errors: Diagnostic[],
): T[] {
  const out: T[] = [];
  for (const n of names) {
    const file = resolveIn(creds.baseDir, folder, n);
    try {
      out.push(...read(file));
    } catch (e) {
      errors.push(
        diagnostic(
          origin,
          `cannot load ${file}: ${(e as Error).message}`,
          `put the file in ${folder}/ beside the config, PEM or DER`,
        ),
      );
    }
  }
  return out;
}

/** Intermediate CAs above `ee` that we know (not the self-signed root), to send along. */
function chainOf(ee: X509Cert, pool: readonly X509Cert[]): X509Cert[] {
  const out: X509Cert[] = [];
  let cur = ee;
  for (let i = 0; i < 8; i++) {
    const issuer = pool.find((c) => c !== cur && !c.der.equals(cur.der) && cur.signedBy(c));
    if (issuer === undefined || issuer.selfSigned) break;
    out.push(issuer);
    cur = issuer;
  }
  return out;
}

/** Wall-clock time for certificate validity (the daemon's own clock is monotonic). */
export const wallClockMs = (): number => Date.now();

export interface LocalAuthResult {
  readonly auth: LocalPubkeyAuth | undefined;
  /** The identity to use: the configured one, or our certificate's subject. */
  readonly id: IkeIdentity | undefined;
}

export function mapLocalPubkey(
  conn: string,
  round: AuthRound,
  configuredId: IkeIdentity | undefined,
  creds: Credentials,
  errors: Diagnostic[],
): LocalAuthResult {
  const before = errors.length;
  const origin = round.keyOrigins['certs'] ?? round.keyOrigins['pubkeys'] ?? round.origin;
  const certs = load(round.certs, readCertificates, 'x509', creds, origin, errors);
  let ee: X509Cert | undefined = certs[0];
  let key: KeyObject | undefined;
  if (ee === undefined && round.pubkeys.length > 0) {
    const pub = load(round.pubkeys, (f) => [readPublicKey(f)], 'pubkey', creds, origin, errors)[0];
    if (pub === undefined) return { auth: undefined, id: configuredId };
    key = privateKeyFor(creds, pub);
    if (key === undefined) {
      errors.push(
        diagnostic(
          origin,
          `no private key for local.pubkeys of '${conn}'`,
          'put the key in private/ (chmod 600) or name it in secrets.private<suffix>',
        ),
      );
      return { auth: undefined, id: configuredId };
    }
    return { auth: { privateKey: key, certs: [], rsaPss: /rsa\/pss/i.test(round.auth) }, id: configuredId };
  }
  if (ee === undefined && configuredId !== undefined)
    ee = creds.certs.find((c) => certHasIdentity(c, configuredId) && privateKeyFor(creds, c.publicKey) !== undefined);
  if (ee === undefined) {
    if (errors.length === before)
      errors.push(
        diagnostic(
          round.origin,
          `'${conn}.${round.name}' uses auth = ${round.auth} but names no certificate`,
          'set certs = FILE (in x509/) or pubkeys = FILE (in pubkey/)',
        ),
      );
    return { auth: undefined, id: configuredId };
  }
  key = privateKeyFor(creds, ee.publicKey);
  if (key === undefined) {
    errors.push(
      diagnostic(
        origin,
        `no private key for certificate '${ee.subjectText}' of '${conn}'`,
        'put the key in private/ (chmod 600) or name it in secrets.private<suffix> { file = ... }',
      ),
    );
    return { auth: undefined, id: configuredId };
  }
  let id = configuredId;
  if (id === undefined) id = { type: 'dn', value: ee.subjectText, der: ee.subjectDer };
  else if (!certHasIdentity(ee, id))
    errors.push(
      diagnostic(
        round.keyOrigins['id'] ?? round.origin,
        `local id '${formatIdentity(id)}' of '${conn}' is not in certificate '${ee.subjectText}'`,
        `use the subject DN or a subjectAltName (${[...ee.sanDns, ...ee.sanEmail, ...ee.sanIp].join(', ') || 'none'})`,
      ),
    );
  else if (id.type === 'dn') id = { type: 'dn', value: ee.subjectText, der: ee.subjectDer };
  const chain = chainOf(ee, [...certs.slice(1), ...creds.certs, ...creds.cacerts]);
  return { auth: { privateKey: key, certs: [ee, ...chain], rsaPss: /rsa\/pss/i.test(round.auth) }, id };
}

export function mapRemotePubkey(
  conn: string,
  round: AuthRound,
  creds: Credentials,
  errors: Diagnostic[],
): RemotePubkeyAuth | undefined {
  const origin = (k: string) => round.keyOrigins[k] ?? round.origin;
  const cacerts =
    round.cacerts.length > 0
      ? load(round.cacerts, readCertificates, 'x509ca', creds, origin('cacerts'), errors)
      : creds.cacerts;
  const certs = load(round.certs, readCertificates, 'x509', creds, origin('certs'), errors);
  const pubkeys = load(round.pubkeys, (f) => [readPublicKey(f)], 'pubkey', creds, origin('pubkeys'), errors);
  if (cacerts.length === 0 && certs.length === 0 && pubkeys.length === 0) {
    errors.push(
      diagnostic(
        round.origin,
        `'${conn}.${round.name}' uses auth = ${round.auth} but no CA certificate is loaded to check the peer`,
        'put the CA certificate in x509ca/ beside the config, or set cacerts, certs or pubkeys',
      ),
    );
    return undefined;
  }
  const crls = creds.crls;
  const cache = creds.crlCache;
  for (const uri of [...certs, ...cacerts].flatMap((c) => c.crlUris)) void cache?.fetch(uri);
  return {
    cacerts,
    intermediates: [...creds.certs, ...creds.cacerts],
    certs,
    pubkeys,
    revocation: round.revocation,
    // The daemon's engine clock is monotonic: certificates are checked against the wall clock.
    wallClockMs: () => Date.now(),
    // OCSP first, then CRLs, as strongSwan's revocation plugin does.
    revocationStatus: (cert, issuer, nowMs) => {
      const extra = creds.ocspUrisByCa.get(issuer.keyHash.toString('hex')) ?? [];
      const o = creds.ocspCache?.status(cert, issuer, extra, nowMs);
      if (o !== undefined && o.status !== 'unknown') return o;
      const c = cache?.status(cert, issuer, nowMs) ?? crlStatus(crls, cert, issuer, nowMs);
      if (c.status !== 'unknown' || o === undefined) return c;
      return { status: 'unknown', detail: `${o.detail}; ${c.detail}` };
    },
  };
}
