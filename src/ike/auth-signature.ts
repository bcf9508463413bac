/**
 * Signature AUTH payloads (RFC 7296 2.15 with 3.8): RSA PKCS#1 v1.5 with SHA-1 (method 1), ECDSA with the
 * curve's hash in IEEE P1363 form (methods 9, 10, 11, RFC 4754), and Digital Signature (method 14, RFC 7427):
 * a length-prefixed AlgorithmIdentifier then the signature, for RSA PKCS#1 v1.5, RSASSA-PSS, ECDSA (DER form)
 * and EdDSA (RFC 8420). The hash comes from the peer's SIGNATURE_HASH_ALGORITHMS (RFC 7427 4).
 */
import { constants, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import {
  id_mgf1,
  id_RSASSA_PSS,
  id_sha256,
  id_sha256WithRSAEncryption,
  id_sha384,
  id_sha384WithRSAEncryption,
  id_sha512,
  id_sha512WithRSAEncryption,
  RsaSaPssParams,
} from '@peculiar/asn1-rsa';
import { AuthMethod, HashAlgorithm } from './codec/constants.js';

/** The hashes we announce in SIGNATURE_HASH_ALGORITHMS and accept in method 14 (RFC 7427 4, RFC 8420 2). */
export const OUR_SIGNATURE_HASHES: readonly number[] = [
  HashAlgorithm.SHA2_256,
  HashAlgorithm.SHA2_384,
  HashAlgorithm.SHA2_512,
  HashAlgorithm.IDENTITY,
];

type Hash = 'sha256' | 'sha384' | 'sha512';
const HASH_ID: Readonly<Record<Hash, number>> = {
  sha256: HashAlgorithm.SHA2_256,
  sha384: HashAlgorithm.SHA2_384,
  sha512: HashAlgorithm.SHA2_512,
};
const HASH_LENGTH: Readonly<Record<Hash, number>> = { sha256: 32, sha384: 48, sha512: 64 };
const HASH_OID: Readonly<Record<Hash, string>> = { sha256: id_sha256, sha384: id_sha384, sha512: id_sha512 };
const RSA_OID: Readonly<Record<Hash, string>> = {
  sha256: id_sha256WithRSAEncryption,
  sha384: id_sha384WithRSAEncryption,
  sha512: id_sha512WithRSAEncryption,
};
/** ecdsa-with-SHA256/384/512 (RFC 5758 3.2). */
const ECDSA_OID: Readonly<Record<Hash, string>> = {
  sha256: '1.2.840.10045.4.3.2',
  sha384: '1.2.840.10045.4.3.3',
  sha512: '1.2.840.10045.4.3.4',
};
const ID_ED25519 = '1.3.101.112';
const ID_ED448 = '1.3.101.113';
/** The ECDSA methods of RFC 4754 by curve (OpenSSL names). */
const ECDSA_METHOD: Readonly<Record<string, { method: number; hash: Hash }>> = {
  prime256v1: { method: AuthMethod.ECDSA_SHA256_P256, hash: 'sha256' },
  secp384r1: { method: AuthMethod.ECDSA_SHA384_P384, hash: 'sha384' },
  secp521r1: { method: AuthMethod.ECDSA_SHA512_P521, hash: 'sha512' },
};

/** A signature scheme as strongSwan names them in logs. */
export interface SignatureScheme {
  readonly method: number;
  readonly name: string;
}

function keyType(key: KeyObject): string {
  return key.asymmetricKeyType ?? 'unknown';
}

function curveOf(key: KeyObject): string {
  return key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
}

function algId(oid: string, params?: ArrayBuffer | null): Buffer {
  const id = params === undefined ? { algorithm: oid } : { algorithm: oid, parameters: params };
  return Buffer.from(AsnConvert.serialize(new AlgorithmIdentifier(id)));
}

function pssAlgId(hash: Hash): Buffer {
  const h = new AlgorithmIdentifier({ algorithm: HASH_OID[hash], parameters: null });
  const params = new RsaSaPssParams({
    hashAlgorithm: h,
    maskGenAlgorithm: new AlgorithmIdentifier({ algorithm: id_mgf1, parameters: AsnConvert.serialize(h) }),
    saltLength: HASH_LENGTH[hash],
  });
  return algId(id_RSASSA_PSS, AsnConvert.serialize(params));
}

function method14(id: Buffer, signature: Buffer): Buffer {
  return Buffer.concat([Buffer.from([id.length]), id, signature]);
}

/** The first of `preferred` the peer announced. */
function pickHash(peer: readonly number[], preferred: readonly Hash[]): Hash | undefined {
  return preferred.find((h) => peer.includes(HASH_ID[h]));
}

/**
 * Sign the AUTH octets with our private key. `peerHashes` is the peer's SIGNATURE_HASH_ALGORITHMS (undefined
 * when it sent none: then RSA uses method 1 and ECDSA methods 9-11). `rsaPss` asks for RSASSA-PSS.
 * Throws Error with a reason when the key cannot sign anything the peer accepts.
 */
export function signAuth(
  key: KeyObject,
  octets: Uint8Array,
  peerHashes: readonly number[] | undefined,
  rsaPss: boolean,
): { method: number; data: Buffer; scheme: string } {
  const type = keyType(key);
  if (type === 'ed25519' || type === 'ed448') {
    const sig = sign(null, octets, key);
    return {
      method: AuthMethod.DIGITAL_SIGNATURE,
      data: method14(algId(type === 'ed25519' ? ID_ED25519 : ID_ED448), sig),
      scheme: type.toUpperCase(),
    };
  }
  if (type === 'ec') {
    const legacy = ECDSA_METHOD[curveOf(key)];
    const order: Hash[] = legacy ? [legacy.hash, 'sha256', 'sha384', 'sha512'] : ['sha256', 'sha384', 'sha512'];
    const hash = peerHashes === undefined ? undefined : pickHash(peerHashes, order);
    if (hash !== undefined) {
      const sig = sign(hash, octets, { key, dsaEncoding: 'der' });
      return {
        method: AuthMethod.DIGITAL_SIGNATURE,
        data: method14(algId(ECDSA_OID[hash]), sig),
        scheme: `ECDSA_WITH_${hash.toUpperCase()}_DER`,
      };
    }
    if (legacy === undefined) throw new Error(`ECDSA curve ${curveOf(key)} has no AUTH method without RFC 7427`);
    return {
      method: legacy.method,
      data: sign(legacy.hash, octets, { key, dsaEncoding: 'ieee-p1363' }),
      scheme: `ECDSA-${legacy.hash.slice(3)}`,
    };
  }
  if (type === 'rsa' || type === 'rsa-pss') {
    const pss = rsaPss || type === 'rsa-pss';
    const hash = peerHashes === undefined ? undefined : pickHash(peerHashes, ['sha256', 'sha384', 'sha512']);
    if (hash === undefined) {
      if (pss) throw new Error('RSASSA-PSS needs RFC 7427 signature authentication, which the peer did not announce');
      return {
        method: AuthMethod.RSA_DIGITAL_SIGNATURE,
        data: sign('sha1', octets, key),
        scheme: 'RSA_EMSA_PKCS1_SHA1',
      };
    }
    if (pss) {
      const sig = sign(hash, octets, {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: HASH_LENGTH[hash],
      });
      return {
        method: AuthMethod.DIGITAL_SIGNATURE,
        data: method14(pssAlgId(hash), sig),
        scheme: `RSA_EMSA_PSS_${hash.toUpperCase()}`,
      };
    }
    return {
      method: AuthMethod.DIGITAL_SIGNATURE,
      data: method14(algId(RSA_OID[hash], null), sign(hash, octets, key)),
      scheme: `RSA_EMSA_PKCS1_${hash.toUpperCase()}`,
    };
  }
  throw new Error(`a ${type} key cannot sign IKE AUTH payloads`);
}

function hashOfOid(oid: string): Hash | undefined {
  for (const h of ['sha256', 'sha384', 'sha512'] as const) if (HASH_OID[h] === oid) return h;
  return undefined;
}

/** Verify a signature AUTH payload; returns the scheme's name, or throws Error with the reason. */
export function verifyAuth(pub: KeyObject, method: number, data: Buffer, octets: Uint8Array): string {
  const type = keyType(pub);
  const ok = (good: boolean, scheme: string): string => {
    if (!good) throw new Error(`${scheme} signature does not verify with the peer's public key`);
    return scheme;
  };
  if (method === AuthMethod.RSA_DIGITAL_SIGNATURE) {
    if (type !== 'rsa') throw new Error(`AUTH method RSA signature, but the peer's key is ${type}`);
    return ok(verify('sha1', octets, pub, data), 'RSA_EMSA_PKCS1_SHA1');
  }
  const legacy = Object.entries(ECDSA_METHOD).find(([, m]) => m.method === method);
  if (legacy !== undefined) {
    const [curve, m] = legacy;
    if (type !== 'ec' || curveOf(pub) !== curve)
      throw new Error(`AUTH method ${method} (ECDSA on ${curve}), but the peer's key is ${type} ${curveOf(pub)}`);
    return ok(verify(m.hash, octets, { key: pub, dsaEncoding: 'ieee-p1363' }, data), `ECDSA-${m.hash.slice(3)}`);
  }
  if (method !== AuthMethod.DIGITAL_SIGNATURE) throw new Error(`AUTH method ${method} is not a signature method`);
  const len = data[0];
  if (len === undefined || data.length < 1 + len) throw new Error('Digital Signature AUTH data is truncated');
  let id: AlgorithmIdentifier;
  try {
    id = AsnConvert.parse(data.subarray(1, 1 + len), AlgorithmIdentifier);
  } catch {
    throw new Error('Digital Signature AUTH carries a malformed AlgorithmIdentifier');
  }
  const sig = data.subarray(1 + len);
  const oid = id.algorithm;
  if (oid === ID_ED25519 || oid === ID_ED448) {
    const want = oid === ID_ED25519 ? 'ed25519' : 'ed448';
    if (type !== want) throw new Error(`signature scheme ${want.toUpperCase()}, but the peer's key is ${type}`);
    return ok(verify(null, octets, pub, sig), want.toUpperCase());
  }
  for (const h of ['sha256', 'sha384', 'sha512'] as const) {
    if (oid === RSA_OID[h]) {
      if (type !== 'rsa') throw new Error(`signature scheme RSA PKCS#1, but the peer's key is ${type}`);
      return ok(verify(h, octets, pub, sig), `RSA_EMSA_PKCS1_${h.toUpperCase()}`);
    }
    if (oid === ECDSA_OID[h]) {
      if (type !== 'ec') throw new Error(`signature scheme ECDSA, but the peer's key is ${type}`);
      return ok(verify(h, octets, { key: pub, dsaEncoding: 'der' }, sig), `ECDSA_WITH_${h.toUpperCase()}_DER`);
    }
  }
  if (oid === id_RSASSA_PSS) {
    if (type !== 'rsa' && type !== 'rsa-pss')
      throw new Error(`signature scheme RSASSA-PSS, but the peer's key is ${type}`);
    if (id.parameters === null || id.parameters === undefined) throw new Error('RSASSA-PSS without parameters');
    let params: RsaSaPssParams;
    try {
      params = AsnConvert.parse(id.parameters, RsaSaPssParams);
    } catch {
      throw new Error('RSASSA-PSS parameters are malformed');
    }
    const h = hashOfOid(params.hashAlgorithm.algorithm);
    if (h === undefined)
      throw new Error(`RSASSA-PSS with hash ${params.hashAlgorithm.algorithm}, which we did not announce`);
    const mgf = params.maskGenAlgorithm.parameters
      ? AsnConvert.parse(params.maskGenAlgorithm.parameters, AlgorithmIdentifier).algorithm
      : undefined;
    if (params.maskGenAlgorithm.algorithm !== id_mgf1 || mgf !== HASH_OID[h])
      throw new Error('RSASSA-PSS with a mask generation function other than MGF1 with the same hash');
    const good = verify(
      h,
      octets,
      { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: params.saltLength },
      sig,
    );
    return ok(good, `RSA_EMSA_PSS_${h.toUpperCase()}`);
  }
  throw new Error(`signature algorithm ${oid} is not supported (or uses a hash we did not announce)`);
}
