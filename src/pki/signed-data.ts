/** Verify a signature over DER data (CRLs, OCSP responses) given its AlgorithmIdentifier, with node:crypto. */
import { constants, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import type { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { id_RSASSA_PSS, RsaSaPssParams } from '@peculiar/asn1-rsa';

/** Signature algorithm OIDs (RFC 8017 A.2.4, RFC 5758 3.2, RFC 8410 3) and their hash. */
const HASH_OF_OID: Readonly<Record<string, string | null>> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null,
  '1.3.101.113': null,
};
const HASH_NAMES: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export function verifySigned(
  tbs: Uint8Array,
  alg: AlgorithmIdentifier,
  signature: Uint8Array,
  key: KeyObject,
): boolean {
  try {
    if (alg.algorithm === id_RSASSA_PSS) {
      if (!alg.parameters) return false;
      const p = AsnConvert.parse(alg.parameters, RsaSaPssParams);
      const hash = HASH_NAMES[p.hashAlgorithm.algorithm];
      if (hash === undefined) return false;
      return verify(hash, tbs, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: p.saltLength }, signature);
    }
    const hash = HASH_OF_OID[alg.algorithm];
    if (hash === undefined) return false;
    return verify(hash, tbs, key, signature);
  } catch {
    return false;
  }
}
