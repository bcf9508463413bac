/**
 * The OpenSSL EVP backend (per-SA contexts reused per packet, in place) against node:crypto, beyond the shared
 * vector tests in aead-vectors.test.ts: context reuse across packets and after a failed open, selection, dispose.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  EncrId,
  IntegId,
  configureCryptoBackend,
  createAead,
  createCipher,
  createOpenSslBackend,
  createIntegrity,
  createTestRng,
  cryptoBackends,
  nodeBackend,
  setCryptoBackends,
} from '../../src/crypto/index.js';
import { assertCryptoError, openssl } from './helpers.js';

const SYSTEM_LIBCRYPTO = '/usr/lib/x86_64-linux-gnu/libcrypto.so.3';
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

  it('ciphers: one transform reused for many packets matches fresh node:crypto results', { skip }, () => {
    assert.ok(openssl !== null);
    const ciphers = [
      [EncrId.ENCR_AES_CBC, 16],
      [EncrId.ENCR_AES_CBC, 32],
      [EncrId.ENCR_AES_CTR, 20],
      [EncrId.ENCR_AES_CTR, 36],
      [EncrId.ENCR_3DES, 24],
    ] as const;
    for (const [id, keyLength] of ciphers) {
      const key = rng.bytes(keyLength);
      const evp = createCipher(id, key, { backend: openssl });
      const node = createCipher(id, key, { backend: nodeBackend });
      for (const blocks of [0, 1, 2, 87]) {
        const len = blocks * evp.blockSize + (evp.blockSize === 1 ? 3 : 0);
        const iv = rng.bytes(evp.ivLength);
        const a = Buffer.concat([rng.bytes(5), rng.bytes(len), rng.bytes(5)]);
        const b = Buffer.from(a);
        evp.encrypt(iv, a, 5, len);
        node.encrypt(iv, b, 5, len);
        assert.deepEqual(a, b, `${evp.name} ${len}: encrypt`);
        evp.decrypt(iv, a, 5, len);
        node.decrypt(iv, b, 5, len);
        assert.deepEqual(a, b, `${evp.name} ${len}: decrypt`);
      }
      assertCryptoError(() => evp.encrypt(rng.bytes(evp.ivLength + 1), Buffer.alloc(32), 0, 16), 'wrong IV length');
      if (evp.blockSize > 1) assertCryptoError(() => evp.decrypt(rng.bytes(evp.ivLength), Buffer.alloc(32), 0, 7));
      evp.dispose?.();
      assertCryptoError(() => evp.encrypt(rng.bytes(evp.ivLength), Buffer.alloc(32), 0, 16), 'after dispose');
    }
  });

  it('HMAC: one transform reused for many packets matches node:crypto, verify rejects changes', { skip }, () => {
    assert.ok(openssl !== null);
    const integs = [
      [IntegId.AUTH_HMAC_MD5_96, 16],
      [IntegId.AUTH_HMAC_SHA1_96, 20],
      [IntegId.AUTH_HMAC_SHA2_256_128, 32],
      [IntegId.AUTH_HMAC_SHA2_384_192, 48],
      [IntegId.AUTH_HMAC_SHA2_512_256, 64],
    ] as const;
    for (const [id, keyLength] of integs) {
      const key = rng.bytes(keyLength);
      const evp = createIntegrity(id, key, { backend: openssl });
      const node = createIntegrity(id, key, { backend: nodeBackend });
      for (const size of [0, 1, 64, 1400]) {
        const msg = rng.bytes(size);
        const chunks = [msg.subarray(0, size >> 2), msg.subarray(size >> 2)];
        const a = Buffer.alloc(evp.icvLength);
        const b = Buffer.alloc(node.icvLength);
        evp.compute(chunks, a, 0);
        node.compute([msg], b, 0);
        assert.deepEqual(a, b, `${evp.name} ${size}`);
        assert.equal(evp.verify(chunks, b, 0), true);
        b[0] = (b[0] ?? 0) ^ 1;
        assert.equal(evp.verify(chunks, b, 0), false);
      }
      evp.dispose?.();
      assert.equal(evp.verify([], Buffer.alloc(evp.icvLength), 0), false, 'after dispose');
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

  it('leaves CCM, NULL and the AES MACs to node:crypto', { skip }, () => {
    assert.ok(openssl !== null);
    assert.equal(createCipher(EncrId.ENCR_NULL, Buffer.alloc(0)).name, 'null');
    assert.equal(
      openssl.createIntegrity?.({
        integId: 5,
        mode: 'aes-xcbc',
        name: 'x',
        hash: '',
        key: Buffer.alloc(16),
        salt: Buffer.alloc(0),
        icvLength: 12,
      }),
      undefined,
    );
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

  it('binds an explicitly named libcrypto too (Debian libssl3) and agrees with the process OpenSSL', { skip }, () => {
    const system = createOpenSslBackend(SYSTEM_LIBCRYPTO);
    if (system === null) return; // not installed here: nothing to compare
    assert.equal(system.name, 'openssl');
    const keymat = rng.bytes(36);
    const iv = rng.bytes(8);
    const aad = rng.bytes(8);
    const results = [system, openssl, nodeBackend].map((backend) => {
      assert.ok(backend !== null);
      const aead = createAead(EncrId.ENCR_CHACHA20_POLY1305, keymat, { backend });
      const buf = Buffer.alloc(116, 0x3c);
      aead.seal(iv, aad, buf, 0, 100, buf, 100);
      return buf;
    });
    assert.deepEqual(results[0], results[2]);
    assert.deepEqual(results[1], results[2]);
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
