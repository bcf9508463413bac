/**
 * An X.509 certificate as authentication needs it: names, validity, CA constraints, key usage, subjectAltNames,
 * the public key, and the SHA-1 key hash CERTREQ payloads carry (RFC 7296 3.7). Parsing uses @peculiar/asn1-x509
 * for the extensions and node:crypto's X509Certificate for signature checks; no wall clock here.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityInfoAccessSyntax,
  BasicConstraints,
  Certificate,
  CRLDistributionPoints,
  id_ce_basicConstraints,
  id_ce_cRLDistributionPoints,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_pe_authorityInfoAccess,
  KeyUsage,
  SubjectAlternativeName,
} from '@peculiar/asn1-x509';
import { formatDn, nameAttributes } from './dn.js';
import type { DnAttribute } from './dn.js';

/** Key usage bits (RFC 5280 4.2.1.3) as @peculiar/asn1-x509 numbers them. */
export const KeyUsageBit = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  keyCertSign: 32,
  cRLSign: 64,
} as const;

const ID_AD_OCSP = '1.3.6.1.5.5.7.48.1';

export class CertificateError extends Error {
  override readonly name = 'CertificateError';
}

export class X509Cert {
  readonly der: Buffer;
  readonly x509: X509Certificate;
  readonly subject: readonly DnAttribute[];
  readonly issuer: readonly DnAttribute[];
  readonly subjectDer: Buffer;
  readonly issuerDer: Buffer;
  /** Hex, as OpenSSL prints it. */
  readonly serial: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** basicConstraints cA. */
  readonly isCa: boolean;
  /** basicConstraints pathLenConstraint, when present. */
  readonly pathLen: number | undefined;
  /** Key usage bits, or undefined when the extension is absent (any use allowed). */
  readonly keyUsage: number | undefined;
  readonly sanDns: readonly string[];
  readonly sanEmail: readonly string[];
  readonly sanIp: readonly string[];
  readonly crlUris: readonly string[];
  readonly ocspUris: readonly string[];
  readonly publicKey: KeyObject;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Buffer;
  /** SHA-1 of the SubjectPublicKeyInfo: what CERTREQ names a CA by (RFC 7296 3.7). */
  readonly keyHash: Buffer;

  private constructor(der: Buffer) {
    this.der = der;
    let cert: Certificate;
    try {
      this.x509 = new X509Certificate(der);
      cert = AsnConvert.parse(der, Certificate);
    } catch (e) {
      throw new CertificateError(`not an X.509 certificate: ${(e as Error).message}`);
    }
    const tbs = cert.tbsCertificate;
    this.subject = nameAttributes(tbs.subject);
    this.issuer = nameAttributes(tbs.issuer);
    this.subjectDer = Buffer.from(AsnConvert.serialize(tbs.subject));
    this.issuerDer = Buffer.from(AsnConvert.serialize(tbs.issuer));
    this.serial = this.x509.serialNumber.toLowerCase();
    this.notBeforeMs = tbs.validity.notBefore.getTime().getTime();
    this.notAfterMs = tbs.validity.notAfter.getTime().getTime();
    this.spki = Buffer.from(AsnConvert.serialize(tbs.subjectPublicKeyInfo));
    this.keyHash = createHash('sha1').update(this.spki).digest();
    this.publicKey = this.x509.publicKey;
    let isCa = false;
    let pathLen: number | undefined;
    let keyUsage: number | undefined;
    const dns: string[] = [];
    const email: string[] = [];
    const ip: string[] = [];
    const crl: string[] = [];
    const ocsp: string[] = [];
    for (const ext of tbs.extensions ?? []) {
      try {
        if (ext.extnID === id_ce_basicConstraints) {
          const bc = AsnConvert.parse(ext.extnValue, BasicConstraints);
          isCa = bc.cA;
          pathLen = bc.pathLenConstraint;
        } else if (ext.extnID === id_ce_keyUsage) {
          keyUsage = AsnConvert.parse(ext.extnValue, KeyUsage).toNumber();
        } else if (ext.extnID === id_ce_subjectAltName) {
          for (const g of AsnConvert.parse(ext.extnValue, SubjectAlternativeName)) {
            if (g.dNSName !== undefined) dns.push(g.dNSName);
            if (g.rfc822Name !== undefined) email.push(g.rfc822Name);
            if (g.iPAddress !== undefined) ip.push(g.iPAddress);
          }
        } else if (ext.extnID === id_ce_cRLDistributionPoints) {
          for (const dp of AsnConvert.parse(ext.extnValue, CRLDistributionPoints))
            for (const g of dp.distributionPoint?.fullName ?? [])
              if (g.uniformResourceIdentifier !== undefined) crl.push(g.uniformResourceIdentifier);
        } else if (ext.extnID === id_pe_authorityInfoAccess) {
          for (const ad of AsnConvert.parse(ext.extnValue, AuthorityInfoAccessSyntax))
            if (ad.accessMethod === ID_AD_OCSP && ad.accessLocation.uniformResourceIdentifier !== undefined)
              ocsp.push(ad.accessLocation.uniformResourceIdentifier);
        }
      } catch (e) {
        throw new CertificateError(`certificate extension ${ext.extnID} is malformed: ${(e as Error).message}`);
      }
    }
    this.isCa = isCa;
    this.pathLen = pathLen;
    this.keyUsage = keyUsage;
    this.sanDns = dns;
    this.sanEmail = email;
    this.sanIp = ip;
    this.crlUris = crl;
    this.ocspUris = ocsp;
  }

  /** Parse DER; throws CertificateError. */
  static fromDer(der: Uint8Array): X509Cert {
    try {
      return new X509Cert(Buffer.from(der));
    } catch (e) {
      if (e instanceof CertificateError) throw e;
      // node:crypto may accept the outer structure and still fail on the key or a field inside
      throw new CertificateError(`malformed certificate: ${(e as Error).message}`);
    }
  }

  get subjectText(): string {
    return formatDn(this.subject);
  }

  get issuerText(): string {
    return formatDn(this.issuer);
  }

  /** Is this certificate's signature made by `issuer`'s key, with the issuer's name? */
  signedBy(issuer: X509Cert): boolean {
    if (!namesEqual(this.issuerDer, issuer.subjectDer, this.issuer, issuer.subject)) return false;
    try {
      return this.x509.verify(issuer.publicKey);
    } catch {
      return false;
    }
  }

  get selfSigned(): boolean {
    return this.signedBy(this);
  }

  allows(bit: number): boolean {
    return this.keyUsage === undefined || (this.keyUsage & bit) !== 0;
  }

  /** What `conns --json` / `sas --json` show. */
  summary(): CertificateSummary {
    return {
      subject: this.subjectText,
      issuer: this.issuerText,
      serial: this.serial,
      notBefore: new Date(this.notBeforeMs).toISOString(),
      notAfter: new Date(this.notAfterMs).toISOString(),
    };
  }
}

export interface CertificateSummary {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
}

/** Names compare by DER, else attribute by attribute ignoring case (string types may differ between issuers). */
export function namesEqual(derA: Buffer, derB: Buffer, a: readonly DnAttribute[], b: readonly DnAttribute[]): boolean {
  if (derA.equals(derB)) return true;
  return (
    a.length === b.length &&
    a.every((x, i) => x.oid === b[i]?.oid && x.value.toLowerCase() === b[i]?.value.toLowerCase())
  );
}
