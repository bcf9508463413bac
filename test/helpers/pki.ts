/** Keys and certificates made in process for tests (src/pki/issue.ts), with a fixed clock. */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { X509Cert } from '../../src/pki/certificate.js';
import { parseDn } from '../../src/pki/dn.js';
import { issueCertificate } from '../../src/pki/issue.js';
import type { IssueOptions } from '../../src/pki/issue.js';

export type KeyKind = 'rsa' | 'rsa3072' | 'p256' | 'p384' | 'p521' | 'ed25519' | 'ed448';

/** Test time: 2026-01-01, certificates valid a year around it. */
export const T0_MS = Date.UTC(2026, 0, 1);
const DAY_MS = 86_400_000;

export function genKey(kind: KeyKind): KeyObject {
  switch (kind) {
    case 'rsa':
      return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    case 'rsa3072':
      return generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey;
    case 'p256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    case 'p384':
      return generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    case 'p521':
      return generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey;
    case 'ed25519':
      return generateKeyPairSync('ed25519').privateKey;
    case 'ed448':
      return generateKeyPairSync('ed448').privateKey;
  }
}

let serial = 1;

export interface TestCa {
  readonly cert: X509Cert;
  readonly key: KeyObject;
}

export function makeCa(dn: string, kind: KeyKind = 'p256', issuer?: TestCa, extra: Partial<IssueOptions> = {}): TestCa {
  const key = genKey(kind);
  const der = issueCertificate({
    subject: parseDn(dn),
    publicKey: createPublicKey(key),
    signingKey: issuer?.key ?? key,
    ...(issuer !== undefined ? { issuer: issuer.cert } : {}),
    serial: Buffer.from([serial++]),
    notBeforeMs: T0_MS - 365 * DAY_MS,
    notAfterMs: T0_MS + 365 * DAY_MS,
    ca: true,
    ...extra,
  });
  return { cert: X509Cert.fromDer(der), key };
}

export function makeCert(
  ca: TestCa,
  dn: string,
  kind: KeyKind,
  sans: string[] = [],
  extra: Partial<IssueOptions> = {},
): TestCa {
  const key = genKey(kind);
  const der = issueCertificate({
    subject: parseDn(dn),
    publicKey: createPublicKey(key),
    issuer: ca.cert,
    signingKey: ca.key,
    serial: Buffer.from([serial++, 1]),
    notBeforeMs: T0_MS - 30 * DAY_MS,
    notAfterMs: T0_MS + 30 * DAY_MS,
    sans,
    ...extra,
  });
  return { cert: X509Cert.fromDer(der), key };
}
