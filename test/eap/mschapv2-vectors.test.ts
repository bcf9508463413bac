/**
 * Published vectors, byte for byte: RFC 2759 section 9.2 (MS-CHAPv2), RFC 3079 section 3.5.3 (MPPE keys), and the
 * primitives underneath: MD4 (RFC 1320 A.5, from js-md4) and single DES (FIPS 81 B1, OpenSSL 3DES with equal keys).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desEncryptBlock, md4Digest } from '../../src/eap/legacy-crypto.js';
import {
  challengeHash,
  challengeResponse,
  generateAuthenticatorResponse,
  generateNtResponse,
  getAsymmetricStartKey,
  getMasterKey,
  getNewKeyFromSha,
  hashNtPasswordHash,
  mschapv2Msk,
  ntPasswordHash,
} from '../../src/eap/mschapv2-crypto.js';
import { hex, loadVectors } from '../helpers/vectors.js';

interface Vectors {
  mschapv2: Record<string, string>;
  mppe128: Record<string, string>;
  md4: { message: string; digest: string }[];
  desEcb: { key: string; plaintext: string; ciphertext: string };
}
const V = loadVectors<Vectors>('rfc2759-rfc3079-mschapv2.json');
const m = (k: string): Buffer => hex(V.mschapv2[k] ?? '');
const k = (name: string): Buffer => hex(V.mppe128[name] ?? '');
const user = Buffer.from(V.mschapv2['userName'] ?? '', 'ascii');
const password = V.mschapv2['password'] ?? '';

test('MD4: RFC 1320 A.5 test suite', () => {
  for (const v of V.md4) assert.equal(md4Digest(Buffer.from(v.message, 'ascii')).toString('hex'), v.digest, v.message);
});

test('single DES: FIPS 81 ECB example', () => {
  const { key, plaintext, ciphertext } = V.desEcb;
  const pt = hex(plaintext);
  const out = Buffer.concat([0, 8, 16].map((o) => desEncryptBlock(hex(key), pt.subarray(o, o + 8))));
  assert.equal(out.toString('hex'), ciphertext);
});

test('RFC 2759 9.2: password hash, challenge, NT-Response, authenticator response', () => {
  assert.deepEqual(Buffer.from(password, 'utf16le'), m('passwordUnicode'));
  const passwordHash = ntPasswordHash(password);
  assert.equal(passwordHash.toString('hex'), V.mschapv2['passwordHash']);
  assert.equal(hashNtPasswordHash(passwordHash).toString('hex'), V.mschapv2['passwordHashHash']);
  const challenge = challengeHash(m('peerChallenge'), m('authenticatorChallenge'), user);
  assert.equal(challenge.toString('hex'), V.mschapv2['challenge']);
  assert.equal(challengeResponse(challenge, passwordHash).toString('hex'), V.mschapv2['ntResponse']);
  const nt = generateNtResponse(m('authenticatorChallenge'), m('peerChallenge'), user, passwordHash);
  assert.equal(nt.toString('hex'), V.mschapv2['ntResponse']);
  assert.equal(
    generateAuthenticatorResponse(passwordHash, nt, m('peerChallenge'), m('authenticatorChallenge'), user),
    V.mschapv2['authenticatorResponse'],
  );
});

test('RFC 3079 3.5.3: master key, 128-bit send start and session keys; the EAP-MSCHAPv2 MSK', () => {
  const master = getMasterKey(m('passwordHashHash'), m('ntResponse'));
  assert.equal(master.toString('hex'), V.mppe128['masterKey']);
  const serverSend = getAsymmetricStartKey(master, 16, true, true);
  assert.equal(serverSend.toString('hex'), V.mppe128['sendStartKey128']);
  assert.deepEqual(getAsymmetricStartKey(master, 16, false, false), serverSend, "the client's receive key");
  assert.equal(getNewKeyFromSha(serverSend, serverSend, 16).toString('hex'), V.mppe128['sendSessionKey128']);
  const serverReceive = getAsymmetricStartKey(master, 16, false, true);
  assert.equal(serverReceive.toString('hex'), V.mppe128['computed_receiveStartKey128']);
  assert.deepEqual(getAsymmetricStartKey(master, 16, true, false), serverReceive, "the client's send key");
  const msk = mschapv2Msk(m('passwordHashHash'), m('ntResponse'));
  assert.deepEqual(msk, Buffer.concat([serverReceive, k('sendStartKey128'), Buffer.alloc(32)]));
});
