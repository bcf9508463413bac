/**
 * Making certificates and CRLs (what `tsipsec pki --self / --issue / --signcrl` and the tests use): a
 * TBSCertificate built with @peculiar/asn1-x509 and signed with node:crypto. RSA keys sign with PKCS#1 v1.5
 * or RSASSA-PSS and SHA-256, ECDSA keys with the curve's hash, Ed25519/Ed448 as they are.
 */
import { constants, createHash, createPublicKey, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AccessDescription,
  AuthorityInfoAccessSyntax,
  id_pe_authorityInfoAccess,
  AlgorithmIdentifier,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  CertificateList,
  CRLDistributionPoints,
  DistributionPoint,
  DistributionPointName,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_cRLDistributionPoints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_clientAuth,
  id_kp_serverAuth,
  KeyUsage,
  Name,
  RevokedCertificate,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  TBSCertList,
  Time,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { id_mgf1, id_RSASSA_PSS, id_sha256, id_sha256WithRSAEncryption, RsaSaPssParams } from '@peculiar/asn1-rsa';
import { KeyUsageBit } from './certificate.js';
import type { X509Cert } from './certificate.js';
import type { DnAttribute } from './dn.js';
import { encodeDn } from './dn.js';

/** id-kp-ipsecIKE (RFC 4945 5.1.3.12) and strongSwan's ikeIntermediate. */
const ID_KP_IPSEC_IKE = '1.3.6.1.5.5.7.3.17';
const ID_KP_IKE_INTERMEDIATE = '1.3.6.1.5.5.8.2.2';
const ID_AD_OCSP = '1.3.6.1.5.5.7.48.1';

export interface IssueOptions {
  readonly subject: readonly DnAttribute[];
  readonly publicKey: KeyObject;
  /** The issuing CA; omitted for a self-signed certificate (then `signingKey` is the subject's key). */
  readonly issuer?: X509Cert;
  readonly signingKey: KeyObject;
  /** Serial number bytes (positive: the top bit is cleared). */
  readonly serial: Uint8Array;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  readonly ca?: boolean;
  readonly pathLen?: number;
  readonly sans?: readonly string[];
  /** `serverAuth`, `clientAuth`, `ikeIntermediate`, `ipsecIKE`. */
  readonly flags?: readonly string[];
  readonly crlUris?: readonly string[];
  /** OCSP responder URIs (authorityInfoAccess id-ad-ocsp). */
  readonly ocspUris?: readonly string[];
  /** Sign with RSASSA-PSS (RSA signing keys only). */
  readonly rsaPss?: boolean;
  /** Leave out the keyUsage extension (tests of peers that set none). */
  readonly keyUsage?: number;
}

export function signatureAlgorithm(
  key: KeyObject,
  pss: boolean,
): { id: AlgorithmIdentifier; sign: (d: Buffer) => Buffer } {
  const type = key.asymmetricKeyType;
  if (type === 'rsa' || type === 'rsa-pss') {
    if (pss) {
      const h = new AlgorithmIdentifier({ algorithm: id_sha256, parameters: null });
      const params = new RsaSaPssParams({
        hashAlgorithm: h,
        maskGenAlgorithm: new AlgorithmIdentifier({ algorithm: id_mgf1, parameters: AsnConvert.serialize(h) }),
        saltLength: 32,
      });
      return {
        id: new AlgorithmIdentifier({ algorithm: id_RSASSA_PSS, parameters: AsnConvert.serialize(params) }),
        sign: (d) => sign('sha256', d, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
      };
    }
    return {
      id: new AlgorithmIdentifier({ algorithm: id_sha256WithRSAEncryption, parameters: null }),
      sign: (d) => sign('sha256', d, key),
    };
  }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const [hash, oid] =
      curve === 'secp384r1'
        ? ['sha384', '1.2.840.10045.4.3.3']
        : curve === 'secp521r1'
          ? ['sha512', '1.2.840.10045.4.3.4']
          : ['sha256', '1.2.840.10045.4.3.2'];
    return { id: new AlgorithmIdentifier({ algorithm: oid }), sign: (d) => sign(hash, d, key) };
  }
  if (type === 'ed25519' || type === 'ed448')
    return {
      id: new AlgorithmIdentifier({ algorithm: type === 'ed25519' ? '1.3.101.112' : '1.3.101.113' }),
      sign: (d) => sign(null, d, key),
    };
  throw new Error(`cannot sign with a ${type} key`);
}

function ext(id: string, value: object, critical = false): Extension {
  return new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

function keyId(spki: Buffer): Buffer {
  const info = AsnConvert.parse(spki, SubjectPublicKeyInfo);
  return createHash('sha1').update(Buffer.from(info.subjectPublicKey)).digest();
}

export function sanName(s: string): GeneralName {
  if (/^[0-9.]+$/.test(s) || s.includes(':')) return new GeneralName({ iPAddress: s });
  if (s.includes('@')) return new GeneralName({ rfc822Name: s });
  return new GeneralName({ dNSName: s });
}

function time(ms: number): Time {
  return new Time(new Date(ms));
}

/**
 * A serial number as the content of a positive DER INTEGER (X.690 8.3.2): redundant leading zero octets removed,
 * one zero octet put in front when the high bit is set. OpenSSL refuses a certificate whose serial keeps a
 * redundant zero ("illegal padding"), and a random serial starts with one about once in 256.
 */
export function derSerial(bytes: Uint8Array): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const body = Buffer.from(bytes.subarray(i));
  if (body.length === 0) return Buffer.from([0]);
  return (body[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), body]) : body;
}

/** Serial bytes from hex as users and OpenSSL write it: colons allowed, odd lengths padded. */
export function serialFromHex(hex: string): Buffer {
  const digits = hex.replace(/:/g, '');
  if (!/^[0-9a-fA-F]+$/.test(digits)) throw new RangeError(`serial '${hex}' is not hexadecimal`);
  return Buffer.from(digits.length % 2 === 1 ? `0${digits}` : digits, 'hex');
}

/** DER of a new certificate. */
export function issueCertificate(o: IssueOptions): Buffer {
  const spki = o.publicKey.export({ format: 'der', type: 'spki' });
  const issuerSpki = o.issuer?.spki ?? createPublicKey(o.signingKey).export({ format: 'der', type: 'spki' });
  const serial = derSerial(o.serial);
  const alg = signatureAlgorithm(o.signingKey, o.rsaPss === true);
  const exts: Extension[] = [];
  const ca = o.ca === true;
  exts.push(
    ext(
      id_ce_basicConstraints,
      new BasicConstraints(ca && o.pathLen !== undefined ? { cA: true, pathLenConstraint: o.pathLen } : { cA: ca }),
      true,
    ),
  );
  const usage = o.keyUsage ?? (ca ? KeyUsageBit.keyCertSign | KeyUsageBit.cRLSign : KeyUsageBit.digitalSignature);
  if (usage !== 0) exts.push(ext(id_ce_keyUsage, new KeyUsage(usage), true));
  exts.push(ext(id_ce_subjectKeyIdentifier, new SubjectKeyIdentifier(keyId(spki))));
  exts.push(
    ext(
      id_ce_authorityKeyIdentifier,
      new AuthorityKeyIdentifier({ keyIdentifier: new OctetString(keyId(issuerSpki)) }),
    ),
  );
  if (o.sans !== undefined && o.sans.length > 0)
    exts.push(ext(id_ce_subjectAltName, new SubjectAlternativeName(o.sans.map(sanName))));
  const ekus = (o.flags ?? []).map((f) => {
    switch (f) {
      case 'serverAuth':
        return id_kp_serverAuth;
      case 'clientAuth':
        return id_kp_clientAuth;
      case 'ikeIntermediate':
        return ID_KP_IKE_INTERMEDIATE;
      case 'ipsecIKE':
        return ID_KP_IPSEC_IKE;
      default:
        throw new Error(`unknown flag '${f}' (serverAuth, clientAuth, ikeIntermediate, ipsecIKE; ca is --ca)`);
    }
  });
  if (ekus.length > 0) exts.push(ext(id_ce_extKeyUsage, new ExtendedKeyUsage(ekus)));
  if (o.crlUris !== undefined && o.crlUris.length > 0)
    exts.push(
      ext(
        id_ce_cRLDistributionPoints,
        new CRLDistributionPoints(
          o.crlUris.map(
            (u) =>
              new DistributionPoint({
                distributionPoint: new DistributionPointName({
                  fullName: [new GeneralName({ uniformResourceIdentifier: u })],
                }),
              }),
          ),
        ),
      ),
    );
  if (o.ocspUris !== undefined && o.ocspUris.length > 0)
    exts.push(
      ext(
        id_pe_authorityInfoAccess,
        new AuthorityInfoAccessSyntax(
          o.ocspUris.map(
            (u) =>
              new AccessDescription({
                accessMethod: ID_AD_OCSP,
                accessLocation: new GeneralName({ uniformResourceIdentifier: u }),
              }),
          ),
        ),
      ),
    );
  const subject = AsnConvert.parse(encodeDn(o.subject), Name);
  const issuer = o.issuer !== undefined ? AsnConvert.parse(o.issuer.subjectDer, Name) : subject;
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(serial).buffer,
    signature: alg.id,
    issuer,
    validity: new Validity({ notBefore: new Date(o.notBeforeMs), notAfter: new Date(o.notAfterMs) }),
    subject,
    subjectPublicKeyInfo: AsnConvert.parse(spki, SubjectPublicKeyInfo),
    extensions: new Extensions(exts),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: alg.id,
    signatureValue: new Uint8Array(alg.sign(tbsDer)).buffer,
  });
  return Buffer.from(AsnConvert.serialize(cert));
}

/** DER of a CRL (RFC 5280 5) by `issuer`, listing `revoked` serial numbers (hex). */
export function signCrl(o: {
  issuer: X509Cert;
  signingKey: KeyObject;
  revoked: readonly { serial: string; dateMs: number }[];
  thisUpdateMs: number;
  nextUpdateMs: number;
}): Buffer {
  const alg = signatureAlgorithm(o.signingKey, false);
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: alg.id,
    issuer: AsnConvert.parse(o.issuer.subjectDer, Name),
    thisUpdate: time(o.thisUpdateMs),
    nextUpdate: time(o.nextUpdateMs),
    ...(o.revoked.length > 0
      ? {
          revokedCertificates: o.revoked.map(
            (r) =>
              new RevokedCertificate({
                userCertificate: new Uint8Array(derSerial(serialFromHex(r.serial))).buffer,
                revocationDate: time(r.dateMs),
              }),
          ),
        }
      : {}),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  return Buffer.from(
    AsnConvert.serialize(
      new CertificateList({
        tbsCertList: tbs,
        signatureAlgorithm: alg.id,
        signature: new Uint8Array(alg.sign(tbsDer)).buffer,
      }),
    ),
  );
}
