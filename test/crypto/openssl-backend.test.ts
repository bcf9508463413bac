/**
 * The OpenSSL EVP backend (per-SA contexts reused per packet, in place) against node:crypto, beyond the shared
 * vector tests in aead-vectors.test.ts: context reuse across packets and after a failed open, selection, dispose.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  EncrId,
  configureCryptoBackend,
  createAead,
  createOpenSslBackend,
  createTestRng,
  cryptoBackends,
  nodeBackend,
  setCryptoBackends,
} from '../../src/crypto/index.js';
import { assertCryptoError } from './helpers.js';

const openssl = createOpenSslBackend();
const skip = openssl === null ? 'OpenSSL backend unavailable here' : false;
const rng = createTestRng('openssl backend');

const REUSED = [
  [EncrId.ENCR_AES_GCM_16, 20],
  [EncrId.ENCR_AES_GCM_16, 36],
  [EncrId.ENCR_AES_GCM_8, 28],
  [EncrId.ENCR_AES_GCM_12, 20],
  [EncrId.ENCR_NULL_AUTH_AES_GMAC, 20],
  [EncrId.ENCR_CHACHA20_POLY1305, 36],
] as const;

describe('OpenSSL EVP backend', () => {
  it('one transform reused for many packets matches fresh node:crypto results', { skip }, () => {
    assert.ok(openssl !== null);
    for (const [id, keymatLength] of REUSED) {
      const keymat = rng.bytes(keymatLength);
      const evp = createAead(id, keymat, { backend: openssl });
      const node = createAead(id, keymat, { backend: nodeBackend });
      assert.equal(evp.icvLength, node.icvLength);
      for (const size of [0, 1, 15, 16, 17, 64, 255, 1400, 9000]) {
        const iv = rng.bytes(8);
        const aad = rng.bytes(size % 2 === 0 ? 8 : 12);
        const plain = rng.bytes(size);
        const a = Buffer.concat([rng.bytes(11), plain, Buffer.alloc(evp.icvLength)]);
        const b = Buffer.from(a);
        evp.seal(iv, aad, a, 11, size, a, 11 + size);
        node.seal(iv, aad, b, 11, size, b, 11 + size);
        assert.deepEqual(a, b, `${evp.name} ${size}: same packet`);
        // A failed open must not poison the context for the next packet.
        const bad = Buffer.from(a);
        bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0x80;
        assert.equal(evp.open(iv, aad, bad, 11, size, bad, 11 + size), false);
        assert.equal(evp.open(iv, aad, a, 11, size, a, 11 + size), true, `${evp.name} ${size}: open`);
        assert.deepEqual(a.subarray(11, 11 + size), plain);
      }
    }
  });

  it('open returns false (never throws) on bad arguments', { skip }, () => {
    assert.ok(openssl !== null);
    const aead = createAead(EncrId.ENCR_AES_GCM_16, rng.bytes(20), { backend: openssl });
    const buf = Buffer.alloc(64);
    assert.equal(aead.open(Buffer.alloc(7), Buffer.alloc(8), buf, 0, 32, buf, 40), false);
    assert.equal(aead.open(Buffer.alloc(8), Buffer.alloc(8), buf, 0, 32, buf, 60), false);
    assert.equal(aead.open(Buffer.alloc(8), Buffer.alloc(8), buf, 40, 32, buf, 0), false);
    assert.equal(aead.open(Buffer.alloc(8), Buffer.alloc(8), buf, 0, 32, buf, 40), false, 'zero ICV');
  });

  it('leaves CCM to node:crypto', { skip }, () => {
    assert.ok(openssl !== null);
    assert.equal(
      openssl.createAead?.({
        encrId: 16,
        mode: 'ccm',
        name: 'x',
        key: Buffer.alloc(16),
        salt: Buffer.alloc(3),
        icvLength: 16,
      }),
      undefined,
    );
  });

  it('dispose frees the contexts; later use is refused', { skip }, () => {
    assert.ok(openssl !== null);
    const aead = createAead(EncrId.ENCR_CHACHA20_POLY1305, rng.bytes(36), { backend: openssl });
    aead.dispose?.();
    aead.dispose?.();
    const buf = Buffer.alloc(48);
    assertCryptoError(() => aead.seal(Buffer.alloc(8), Buffer.alloc(8), buf, 0, 32, buf, 32));
    assert.equal(aead.open(Buffer.alloc(8), Buffer.alloc(8), buf, 0, 32, buf, 32), false);
  });

  it('selection: auto prefers OpenSSL, node forces node:crypto, unknown names are refused', { skip }, () => {
    const before = cryptoBackends().filter((b) => b !== nodeBackend);
    try {
      assert.deepEqual(configureCryptoBackend('auto'), ['openssl', 'node']);
      assert.deepEqual(configureCryptoBackend('openssl'), ['openssl', 'node']);
      assert.deepEqual(configureCryptoBackend('node'), ['node']);
      assertCryptoError(() => configureCryptoBackend('fast'));
      assertCryptoError(() => configureCryptoBackend('openssl', '/nonexistent/libcrypto.so'));
    } finally {
      setCryptoBackends(before);
    }
  });
});
