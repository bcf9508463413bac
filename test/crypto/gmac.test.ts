/**
 * AES-GMAC (RFC 4543). No published IPsec GMAC vectors were found (test/vectors/README.md), so: the AH integrity
 * form is checked against the published GCM tags of the McGrew-Viega cases with empty AAD and plaintext
 * (rfc4106-gcm-esp.json aes_gcm1/7/13), and both forms against the GCM definition they reduce to.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EncrId, IntegId, createAead, createIntegrity, createTestRng } from '../../src/crypto/index.js';
import { hex, loadVectors } from '../helpers/vectors.js';
import { flipByte } from './helpers.js';

interface GcmFile {
  gcm_spec_vectors_ipsec_form: {
    cases: {
      name: string;
      aes_key: string;
      salt: string;
      iv: string;
      aad: string;
      plaintext: string;
      ciphertext_and_icv: string;
    }[];
  };
}
const GMAC_BY_KEY: Readonly<Record<number, number>> = {
  16: IntegId.AUTH_AES_128_GMAC,
  24: IntegId.AUTH_AES_192_GMAC,
  32: IntegId.AUTH_AES_256_GMAC,
};
const emptyCases = loadVectors<GcmFile>('rfc4106-gcm-esp.json').gcm_spec_vectors_ipsec_form.cases.filter(
  (v) => v.aad === '' && v.plaintext === '',
);

describe('AUTH_AES_*_GMAC (RFC 4543, AH)', () => {
  it('empty message: tag equals the published GCM tag for AES-128/192/256 (aes_gcm1/7/13)', () => {
    assert.deepEqual(
      emptyCases.map((v) => v.name),
      ['aes_gcm1', 'aes_gcm7', 'aes_gcm13'],
    );
    for (const v of emptyCases) {
      const key = hex(v.aes_key);
      const t = createIntegrity(GMAC_BY_KEY[key.length] ?? -1, Buffer.concat([key, hex(v.salt)]));
      assert.equal(t.ivLength, 8);
      assert.equal(t.icvLength, 16);
      const out = Buffer.alloc(16);
      t.compute([], out, 0, hex(v.iv));
      assert.deepEqual(out, hex(v.ciphertext_and_icv), v.name);
      assert.equal(t.verify([], out, 0, hex(v.iv)), true);
      assert.equal(t.verify([], out, 0, flipByte(hex(v.iv))), false, `${v.name}: IV is part of the nonce`);
      assert.equal(t.verify([], flipByte(out), 0, hex(v.iv)), false);
      assert.equal(t.verify([], out, 0), false, 'missing IV is a failed check, not a throw');
    }
  });

  it('equals AES-GCM with the message as AAD and no plaintext (RFC 4543 3.2)', () => {
    const rng = createTestRng('gmac-ah');
    for (const keyLength of [16, 24, 32]) {
      const keymat = rng.bytes(keyLength + 4);
      const gmac = createIntegrity(GMAC_BY_KEY[keyLength] ?? -1, keymat);
      const gcm = createAead(EncrId.ENCR_AES_GCM_16, keymat);
      for (const size of [0, 1, 15, 16, 17, 100]) {
        const msg = rng.bytes(size);
        const iv = rng.bytes(8);
        const a = Buffer.alloc(16);
        const b = Buffer.alloc(16);
        gmac.compute([msg.subarray(0, size >> 1), msg.subarray(size >> 1)], a, 0, iv);
        gcm.seal(iv, msg, Buffer.alloc(0), 0, 0, b, 0);
        assert.deepEqual(a, b);
      }
    }
  });
});

describe('ENCR_NULL_AUTH_AES_GMAC (RFC 4543, ESP)', () => {
  it('leaves data unencrypted and authenticates aad || iv || data (RFC 4543 3.3)', () => {
    const rng = createTestRng('gmac-esp');
    for (const keyLength of [16, 24, 32]) {
      const keymat = rng.bytes(keyLength + 4);
      const aead = createAead(EncrId.ENCR_NULL_AUTH_AES_GMAC, keymat);
      assert.equal(aead.authOnly, true);
      assert.equal(aead.icvLength, 16);
      const gcm = createAead(EncrId.ENCR_AES_GCM_16, keymat);
      const aad = rng.bytes(8);
      const iv = rng.bytes(8);
      const data = rng.bytes(61);
      const sealed = Buffer.from(data);
      const icv = Buffer.alloc(16);
      aead.seal(iv, aad, sealed, 0, sealed.length, icv, 0);
      assert.deepEqual(sealed, data, 'payload stays in clear');
      const expected = Buffer.alloc(16);
      gcm.seal(iv, Buffer.concat([aad, iv, data]), Buffer.alloc(0), 0, 0, expected, 0);
      assert.deepEqual(icv, expected);
      assert.equal(aead.open(iv, aad, sealed, 0, sealed.length, icv, 0), true);
      assert.equal(aead.open(iv, aad, flipByte(sealed), 0, sealed.length, icv, 0), false);
      assert.equal(aead.open(flipByte(iv), aad, sealed, 0, sealed.length, icv, 0), false);
      assert.equal(aead.open(iv, flipByte(aad), sealed, 0, sealed.length, icv, 0), false);
    }
  });
});
