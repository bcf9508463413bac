/**
 * PKCS#10 certificate requests (RFC 2986) for `tsipsec pki --req` and `--issue --in REQUEST`: the subject, its
 * public key and subjectAltNames in an extensionRequest attribute (RFC 2985 5.4.2), signed with the subject's key.
 */
import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Attributes, CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import {
  Attribute,
  Extension,
  Extensions,
  id_ce_subjectAltName,
  Name,
  SubjectAlternativeName,
  SubjectPublicKeyInfo,
} from '@peculiar/asn1-x509';
import { OctetString } from '@peculiar/asn1-schema';
import type { DnAttribute } from './dn.js';
import { encodeDn, nameAttributes } from './dn.js';
import { sanName, signatureAlgorithm } from './issue.js';
import { verifySigned } from './signed-data.js';

/** pkcs-9-at-extensionRequest. */
const ID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

export interface RequestContents {
  readonly subject: readonly DnAttribute[];
  readonly publicKey: KeyObject;
  /** DNS names, e-mail addresses and IP addresses of the requested subjectAltName. */
  readonly sans: readonly string[];
}

/** DER of a signed request. */
export function makeRequest(o: {
  subject: readonly DnAttribute[];
  key: KeyObject;
  sans: readonly string[];
  rsaPss?: boolean;
}): Buffer {
  const spki = createPublicKey(o.key).export({ format: 'der', type: 'spki' });
  const attributes: Attribute[] = [];
  if (o.sans.length > 0) {
    const san = new Extension({
      extnID: id_ce_subjectAltName,
      critical: false,
      extnValue: new OctetString(AsnConvert.serialize(new SubjectAlternativeName(o.sans.map(sanName)))),
    });
    attributes.push(
      new Attribute({ type: ID_EXTENSION_REQUEST, values: [AsnConvert.serialize(new Extensions([san]))] }),
    );
  }
  const info = new CertificationRequestInfo({
    version: 0,
    subject: AsnConvert.parse(encodeDn(o.subject), Name),
    subjectPKInfo: AsnConvert.parse(spki, SubjectPublicKeyInfo),
    attributes: new Attributes(attributes),
  });
  const alg = signatureAlgorithm(o.key, o.rsaPss === true);
  const tbs = Buffer.from(AsnConvert.serialize(info));
  const req = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: alg.id,
    signature: new Uint8Array(alg.sign(tbs)).buffer,
  });
  return Buffer.from(AsnConvert.serialize(req));
}

/** What a request asks for, after its signature was checked with the key it carries. Throws Error. */
export function readRequest(der: Uint8Array): RequestContents {
  const req = AsnConvert.parse(der, CertificationRequest);
  const info = req.certificationRequestInfo;
  const spki = Buffer.from(AsnConvert.serialize(info.subjectPKInfo));
  const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const tbs = new Uint8Array(req.certificationRequestInfoRaw ?? AsnConvert.serialize(info));
  if (!verifySigned(tbs, req.signatureAlgorithm, new Uint8Array(req.signature), publicKey))
    throw new Error('the request is not signed by the key it carries');
  const sans: string[] = [];
  for (const a of info.attributes) {
    if (a.type !== ID_EXTENSION_REQUEST) continue;
    for (const v of a.values)
      for (const e of AsnConvert.parse(v, Extensions))
        if (e.extnID === id_ce_subjectAltName)
          for (const g of AsnConvert.parse(e.extnValue, SubjectAlternativeName)) {
            const s = g.dNSName ?? g.rfc822Name ?? g.iPAddress;
            if (s !== undefined) sans.push(s);
          }
  }
  return { subject: nameAttributes(info.subject), publicKey, sans };
}
