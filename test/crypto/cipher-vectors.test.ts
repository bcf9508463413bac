/** Cipher known answers: RFC 3686 6 AES-CTR test vectors #1-#9 and RFC 3602 4 AES-CBC cases 1-4. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EncrId, createCipher } from '../../src/crypto/index.js';
import type { CryptoBackend } from '../../src/crypto/index.js';
import { hex, loadVectors } from '../helpers/vectors.js';
import { allBackends, backendNames, embed, flipByte } from './helpers.js';

interface CipherCase {
  readonly label: string;
  readonly encrId: number;
  readonly keymat: Buffer;
  readonly iv: Buffer;
  readonly plaintext: Buffer;
  readonly ciphertext: Buffer;
}

function encrypt(b: CryptoBackend, c: CipherCase, keymat = c.keymat, iv = c.iv, plaintext = c.plaintext): Buffer {
  const cipher = createCipher(c.encrId, keymat, { backend: b });
  const { buf, off, len } = embed(plaintext);
  cipher.encrypt(iv, buf, off, len);
  assert.equal(buf[off - 1], 0xee, 'byte before the range untouched');
  assert.equal(buf[off + len], 0xee, 'byte after the range untouched');
  return Buffer.from(buf.subarray(off, off + len));
}

function decrypt(b: CryptoBackend, c: CipherCase, ciphertext = c.ciphertext): Buffer {
  const cipher = createCipher(c.encrId, c.keymat, { backend: b });
  const { buf, off, len } = embed(ciphertext);
  cipher.decrypt(c.iv, buf, off, len);
  return Buffer.from(buf.subarray(off, off + len));
}

function checkCase(c: CipherCase): void {
  for (const b of allBackends) {
    assert.deepEqual(encrypt(b, c), c.ciphertext, `${c.label}: encrypt (${b.name})`);
    assert.deepEqual(decrypt(b, c), c.plaintext, `${c.label}: decrypt (${b.name})`);
  }
}

function checkMutations(c: CipherCase): void {
  for (const b of allBackends) checkMutationsWith(b, c);
}

function checkMutationsWith(b: CryptoBackend, c: CipherCase): void {
  assert.notDeepEqual(encrypt(b, c, flipByte(c.keymat, 0)), c.ciphertext, `${c.label}: key byte`);
  assert.notDeepEqual(encrypt(b, c, c.keymat, flipByte(c.iv)), c.ciphertext, `${c.label}: IV byte`);
  assert.notDeepEqual(encrypt(b, c, c.keymat, c.iv, flipByte(c.plaintext)), c.ciphertext, `${c.label}: plaintext byte`);
  assert.notDeepEqual(decrypt(b, c, flipByte(c.ciphertext)), c.plaintext, `${c.label}: ciphertext byte`);
}

interface CtrFile {
  cases: {
    test_vector: number;
    aes_key: string;
    nonce: string;
    iv: string;
    plaintext: string;
    ciphertext: string;
    esp_keymat: string;
  }[];
}
const ctrCases: CipherCase[] = loadVectors<CtrFile>('rfc3686.json').cases.map((v) => {
  assert.deepEqual(hex(v.esp_keymat), Buffer.concat([hex(v.aes_key), hex(v.nonce)]));
  return {
    label: `RFC 3686 #${v.test_vector}`,
    encrId: EncrId.ENCR_AES_CTR,
    keymat: hex(v.esp_keymat),
    iv: hex(v.iv),
    plaintext: hex(v.plaintext),
    ciphertext: hex(v.ciphertext),
  };
});

describe('rfc3686.json', () => {
  it(`all 9 AES-CTR vectors (128/192/256-bit keys, partial last block), keymat = key || nonce (${backendNames})`, () => {
    assert.equal(ctrCases.length, 9);
    for (const c of ctrCases) checkCase(c);
  });
  it('the nonce (last 4 keymat bytes) is part of the counter block', () => {
    for (const b of allBackends) {
      for (const c of ctrCases) {
        assert.notDeepEqual(encrypt(b, c, flipByte(c.keymat, c.keymat.length - 1)), c.ciphertext, c.label);
      }
    }
  });
  it('one changed input byte changes the result', () => {
    for (const c of ctrCases) checkMutations(c);
  });
});

interface CbcFile {
  cases: { case: number; key: string; iv: string; plaintext: string; ciphertext: string }[];
}
const cbcCases: CipherCase[] = loadVectors<CbcFile>('rfc3602.json').cases.map((v) => ({
  label: `RFC 3602 case ${v.case}`,
  encrId: EncrId.ENCR_AES_CBC,
  keymat: hex(v.key),
  iv: hex(v.iv),
  plaintext: hex(v.plaintext),
  ciphertext: hex(v.ciphertext),
}));

describe('rfc3602.json', () => {
  it(`cases 1-4: AES-128-CBC, 1 to 4 blocks (${backendNames})`, () => {
    assert.deepEqual(
      cbcCases.map((c) => c.label),
      [1, 2, 3, 4].map((n) => `RFC 3602 case ${n}`),
    );
    for (const c of cbcCases) checkCase(c);
  });
  it('one changed input byte changes the result', () => {
    for (const c of cbcCases) checkMutations(c);
  });
});
