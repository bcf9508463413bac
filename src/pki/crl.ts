/**
 * Certificate revocation lists (RFC 5280 5): parsed with @peculiar/asn1-x509, checked against the issuing CA
 * (name and signature) and consulted with a given time. Pure: loading and HTTP fetching happen elsewhere.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificateList } from '@peculiar/asn1-x509';
import type { RevocationStatus } from '../ike/config.js';
import { namesEqual } from './certificate.js';
import type { X509Cert } from './certificate.js';
import { formatDn, nameAttributes } from './dn.js';
import type { DnAttribute } from './dn.js';
import { isPem, pemBlocks } from './pem.js';
import { verifySigned } from './signed-data.js';

/** Serial numbers compare as hex without leading zeros. */
export function normalizeSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, '');
}

export class Crl {
  readonly der: Buffer;
  readonly issuer: readonly DnAttribute[];
  readonly issuerDer: Buffer;
  readonly thisUpdateMs: number;
  readonly nextUpdateMs: number | undefined;
  /** Normalised serial -> revocation time. */
  readonly revoked: ReadonlyMap<string, number>;
  private readonly list: CertificateList;

  private constructor(der: Buffer) {
    this.der = der;
    this.list = AsnConvert.parse(der, CertificateList);
    const tbs = this.list.tbsCertList;
    this.issuer = nameAttributes(tbs.issuer);
    this.issuerDer = Buffer.from(AsnConvert.serialize(tbs.issuer));
    this.thisUpdateMs = tbs.thisUpdate.getTime().getTime();
    this.nextUpdateMs = tbs.nextUpdate?.getTime().getTime();
    const revoked = new Map<string, number>();
    for (const r of tbs.revokedCertificates ?? [])
      revoked.set(
        normalizeSerial(Buffer.from(r.userCertificate).toString('hex')),
        r.revocationDate.getTime().getTime(),
      );
    this.revoked = revoked;
  }

  static fromDer(der: Uint8Array): Crl {
    return new Crl(Buffer.from(der));
  }

  /** A file's content: PEM (X509 CRL) or DER. */
  static fromFile(data: Buffer): Crl {
    if (!isPem(data)) return Crl.fromDer(data);
    const block = pemBlocks(data.toString('latin1')).find((b) => b.label === 'X509 CRL');
    if (block === undefined) throw new Error('no X509 CRL block in the PEM file');
    return Crl.fromDer(block.der);
  }

  get issuerText(): string {
    return formatDn(this.issuer);
  }

  /** Issued by this CA: same name, signature verifies with its key. */
  issuedBy(ca: X509Cert): boolean {
    if (!namesEqual(this.issuerDer, ca.subjectDer, this.issuer, ca.subject)) return false;
    const tbs = AsnConvert.serialize(this.list.tbsCertList);
    return verifySigned(
      new Uint8Array(tbs),
      this.list.signatureAlgorithm,
      new Uint8Array(this.list.signature),
      ca.publicKey,
    );
  }
}

/** The status of `cert` from the CRLs issued by `issuer` (the newest one wins). */
export function crlStatus(crls: readonly Crl[], cert: X509Cert, issuer: X509Cert, nowMs: number): RevocationStatus {
  const mine = crls.filter((c) => c.issuedBy(issuer)).sort((a, b) => b.thisUpdateMs - a.thisUpdateMs);
  const crl = mine[0];
  if (crl === undefined) return { status: 'unknown', detail: `no CRL of '${issuer.subjectText}' is loaded` };
  const at = crl.revoked.get(normalizeSerial(cert.serial));
  if (at !== undefined && at <= nowMs)
    return {
      status: 'revoked',
      detail: `listed in the CRL of '${crl.issuerText}' since ${new Date(at).toISOString()}`,
    };
  if (crl.nextUpdateMs !== undefined && crl.nextUpdateMs < nowMs)
    return {
      status: 'unknown',
      detail: `the CRL of '${crl.issuerText}' expired at ${new Date(crl.nextUpdateMs).toISOString()}`,
    };
  return { status: 'good', detail: `not listed in the CRL of '${crl.issuerText}'` };
}
