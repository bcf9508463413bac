/**
 * Signature AUTH encodings: legacy methods when the peer sent no SIGNATURE_HASH_ALGORITHMS (RFC 7296 method 1,
 * RFC 4754 methods 9-11 with P1363 signatures of the curve's size), RFC 7427 method 14 with the peer's hash,
 * and refusals of a mismatched key or hash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { AuthMethod, HashAlgorithm } from '../../src/ike/codec/constants.js';
import { signAuth, verifyAuth } from '../../src/ike/auth-signature.js';
import { genKey } from '../helpers/pki.js';

const octets = Buffer.from('the octets an IKE peer signs (RFC 7296 2.15)');

test('no SIGNATURE_HASH_ALGORITHMS: RSA uses method 1, ECDSA methods 9, 10, 11 with r||s of the curve size', () => {
  const cases: [Parameters<typeof genKey>[0], number, number | undefined][] = [
    ['rsa', AuthMethod.RSA_DIGITAL_SIGNATURE, 256],
    ['p256', AuthMethod.ECDSA_SHA256_P256, 64],
    ['p384', AuthMethod.ECDSA_SHA384_P384, 96],
    ['p521', AuthMethod.ECDSA_SHA512_P521, 132],
  ];
  for (const [kind, method, len] of cases) {
    const key = genKey(kind);
    const s = signAuth(key, octets, undefined, false);
    assert.equal(s.method, method, kind);
    assert.equal(s.data.length, len, kind);
    assert.doesNotThrow(() => verifyAuth(createPublicKey(key), s.method, s.data, octets));
    assert.throws(() => verifyAuth(createPublicKey(key), s.method, s.data, Buffer.from('other')), /does not verify/);
  }
});

test('method 14 uses the peer hash: ECDSA P-384 with only SHA2-512 offered signs with SHA-512', () => {
  const key = genKey('p384');
  const s = signAuth(key, octets, [HashAlgorithm.SHA2_512], false);
  assert.equal(s.method, AuthMethod.DIGITAL_SIGNATURE);
  assert.equal(s.scheme, 'ECDSA_WITH_SHA512_DER');
  assert.equal(verifyAuth(createPublicKey(key), s.method, s.data, octets), 'ECDSA_WITH_SHA512_DER');
});

test('method 14 AlgorithmIdentifiers: RSA PKCS#1 SHA-256 and Ed25519 are the RFC 7427 Appendix A bytes', () => {
  const rsa = signAuth(genKey('rsa'), octets, [HashAlgorithm.SHA2_256], false);
  // sha256WithRSAEncryption with NULL parameters (RFC 7427 A.1.2)
  assert.equal(rsa.data.subarray(0, 16).toString('hex'), '0f300d06092a864886f70d01010b0500');
  const ed = signAuth(genKey('ed25519'), octets, [HashAlgorithm.IDENTITY], false);
  assert.equal(ed.data.subarray(0, 8).toString('hex'), '07300506032b6570');
  assert.equal(ed.data.length, 8 + 64);
});

test('RSASSA-PSS: signed and verified; refused without RFC 7427 support', () => {
  const key = genKey('rsa');
  const s = signAuth(key, octets, [HashAlgorithm.SHA2_384], true);
  assert.equal(s.scheme, 'RSA_EMSA_PSS_SHA384');
  assert.equal(verifyAuth(createPublicKey(key), s.method, s.data, octets), 'RSA_EMSA_PSS_SHA384');
  assert.throws(() => signAuth(key, octets, undefined, true), /RSASSA-PSS needs RFC 7427/);
});

test('refusals: key type mismatch, garbled AlgorithmIdentifier, truncated data', () => {
  const ec = genKey('p256');
  const s = signAuth(ec, octets, [HashAlgorithm.SHA2_256], false);
  assert.throws(() => verifyAuth(createPublicKey(genKey('rsa')), s.method, s.data, octets), /peer's key is rsa/);
  assert.throws(
    () => verifyAuth(createPublicKey(genKey('p384')), AuthMethod.ECDSA_SHA256_P256, s.data, octets),
    /ECDSA on prime256v1/,
  );
  const garbled = Buffer.from(s.data);
  garbled[2] = 0xff;
  assert.throws(
    () => verifyAuth(createPublicKey(ec), s.method, garbled, octets),
    /malformed AlgorithmIdentifier|not supported/,
  );
  assert.throws(() => verifyAuth(createPublicKey(ec), s.method, Buffer.from([40, 1, 2]), octets), /truncated/);
});
