/**
 * Provider behaviour beyond known answers: key-length and algorithm checks, round trips for every transform and
 * key size, the algorithm table against the factories, prf+ limits, the Rngs and the backend chain.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  EncrId,
  IntegId,
  PrfId,
  algorithmKeywords,
  createAead,
  createCipher,
  createIntegrity,
  createPrf,
  createTestRng,
  cryptoBackends,
  encrInfo,
  encrKeymatLength,
  integInfo,
  nodeBackend,
  nodeRng,
  prfInfo,
  prfPlus,
  setCryptoBackends,
} from '../../src/crypto/index.js';
import type { AeadParams, CryptoBackend } from '../../src/crypto/index.js';
import { assertCryptoError } from './helpers.js';

const rng = createTestRng('provider tests');

const AEADS = [
  EncrId.ENCR_AES_GCM_8,
  EncrId.ENCR_AES_GCM_12,
  EncrId.ENCR_AES_GCM_16,
  EncrId.ENCR_AES_CCM_8,
  EncrId.ENCR_AES_CCM_12,
  EncrId.ENCR_AES_CCM_16,
  EncrId.ENCR_NULL_AUTH_AES_GMAC,
  EncrId.ENCR_CHACHA20_POLY1305,
] as const;
const CIPHERS = [EncrId.ENCR_AES_CBC, EncrId.ENCR_AES_CTR, EncrId.ENCR_3DES, EncrId.ENCR_NULL] as const;
const INTEGS = Object.values(IntegId).filter((id) => id !== IntegId.NONE);

describe('AEAD round trips', () => {
  it('every AEAD and key size seals and opens at offsets, rejects a changed ICV', () => {
    for (const id of AEADS) {
      const info = encrInfo[id];
      assert.ok(info !== undefined);
      for (const bits of info.keySizes) {
        const keymat = rng.bytes(encrKeymatLength(id, bits) ?? 0);
        const aead = createAead(id, keymat);
        assert.equal(aead.icvLength, info.icvLength);
        assert.equal(aead.ivLength, info.ivLength);
        for (const size of [1, 2, 16, 33, 1400]) {
          const plain = rng.bytes(size);
          const buf = Buffer.concat([rng.bytes(20), plain, Buffer.alloc(aead.icvLength)]);
          const iv = rng.bytes(8);
          const aad = rng.bytes(8);
          aead.seal(iv, aad, buf, 20, size, buf, 20 + size);
          if (!aead.authOnly) assert.notDeepEqual(buf.subarray(20, 20 + size), plain, `${aead.name} encrypts`);
          const copy = Buffer.from(buf);
          assert.equal(aead.open(iv, aad, buf, 20, size, buf, 20 + size), true, `${aead.name} ${size}`);
          assert.deepEqual(buf.subarray(20, 20 + size), plain);
          copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 1;
          assert.equal(aead.open(iv, aad, copy, 20, size, copy, 20 + size), false);
        }
      }
    }
  });
  it('open never throws on bad arguments', () => {
    const aead = createAead(EncrId.ENCR_AES_GCM_16, rng.bytes(20));
    const buf = Buffer.alloc(64);
    assert.equal(aead.open(Buffer.alloc(7), Buffer.alloc(8), buf, 0, 32, buf, 40), false, 'short IV');
    assert.equal(aead.open(Buffer.alloc(8), Buffer.alloc(8), buf, 0, 32, buf, 60), false, 'ICV past the end');
    assert.equal(aead.open(Buffer.alloc(8), Buffer.alloc(8), buf, 50, 32, buf, 0), false, 'data past the end');
    const ccm = createAead(EncrId.ENCR_AES_CCM_16, rng.bytes(19));
    assert.equal(ccm.open(Buffer.alloc(8), Buffer.alloc(8), buf, 0, 32, buf, 40), false);
  });
});

describe('cipher round trips', () => {
  it('every cipher and key size encrypts and decrypts in place', () => {
    for (const id of CIPHERS) {
      const info = encrInfo[id];
      assert.ok(info !== undefined);
      for (const bits of info.keySizes) {
        const cipher = createCipher(id, rng.bytes(encrKeymatLength(id, bits) ?? 0));
        assert.equal(cipher.ivLength, info.ivLength);
        assert.equal(cipher.blockSize, info.blockSize);
        const iv = rng.bytes(cipher.ivLength);
        const plain = rng.bytes(cipher.blockSize * 12);
        const buf = Buffer.concat([Buffer.alloc(5), plain, Buffer.alloc(3)]);
        cipher.encrypt(iv, buf, 5, plain.length);
        if (id !== EncrId.ENCR_NULL) assert.notDeepEqual(buf.subarray(5, 5 + plain.length), plain);
        cipher.decrypt(iv, buf, 5, plain.length);
        assert.deepEqual(buf.subarray(5, 5 + plain.length), plain);
      }
    }
  });
  it('CBC refuses a length that is not a whole number of blocks', () => {
    const cbc = createCipher(EncrId.ENCR_AES_CBC, rng.bytes(16));
    assertCryptoError(() => cbc.encrypt(rng.bytes(16), Buffer.alloc(40), 0, 17));
    assertCryptoError(() => cbc.decrypt(rng.bytes(16), Buffer.alloc(40), 0, 17));
    assertCryptoError(() => cbc.decrypt(rng.bytes(8), Buffer.alloc(40), 0, 16), 'short IV');
  });
});

describe('integrity round trips', () => {
  it('every integrity algorithm: ICV length from the table, verify accepts and rejects', () => {
    for (const id of INTEGS) {
      const info = integInfo[id];
      assert.ok(info !== undefined, `info for ${id}`);
      const t = createIntegrity(id, rng.bytes(info.keyLength));
      assert.equal(t.icvLength, info.icvLength);
      assert.equal(t.ivLength, info.ivLength);
      const iv = info.ivLength > 0 ? rng.bytes(info.ivLength) : undefined;
      const msg = rng.bytes(77);
      const icv = Buffer.alloc(t.icvLength);
      t.compute([msg], icv, 0, iv);
      assert.equal(t.verify([msg.subarray(0, 10), msg.subarray(10)], icv, 0, iv), true, t.name);
      msg[5] = (msg[5] ?? 0) ^ 1;
      assert.equal(t.verify([msg], icv, 0, iv), false, t.name);
    }
  });
});

describe('invalid keys and algorithms', () => {
  it('wrong keymat lengths throw CryptoError', () => {
    assertCryptoError(() => createAead(EncrId.ENCR_AES_GCM_16, Buffer.alloc(16)), 'GCM without salt');
    assertCryptoError(() => createAead(EncrId.ENCR_AES_GCM_16, Buffer.alloc(19)));
    assertCryptoError(() => createAead(EncrId.ENCR_AES_CCM_16, Buffer.alloc(20)), 'CCM with a 4-byte salt');
    assertCryptoError(
      () => createAead(EncrId.ENCR_CHACHA20_POLY1305, Buffer.alloc(20)),
      'ChaCha20 with AES-128 keymat',
    );
    assertCryptoError(() => createAead(EncrId.ENCR_AES_GCM_16, Buffer.alloc(0)));
    assertCryptoError(() => createCipher(EncrId.ENCR_AES_CBC, Buffer.alloc(20)));
    assertCryptoError(() => createCipher(EncrId.ENCR_AES_CTR, Buffer.alloc(16)), 'CTR without nonce');
    assertCryptoError(() => createCipher(EncrId.ENCR_3DES, Buffer.alloc(16)));
    assertCryptoError(() => createCipher(EncrId.ENCR_NULL, Buffer.alloc(1)));
    assertCryptoError(() => createIntegrity(IntegId.AUTH_HMAC_SHA2_256_128, Buffer.alloc(20)));
    assertCryptoError(() => createIntegrity(IntegId.AUTH_AES_XCBC_96, Buffer.alloc(32)));
    assertCryptoError(() => createIntegrity(IntegId.AUTH_AES_128_GMAC, Buffer.alloc(16)), 'GMAC without salt');
  });
  it('unknown or mismatched ids throw CryptoError', () => {
    assertCryptoError(() => createAead(EncrId.ENCR_AES_CBC, Buffer.alloc(16)), 'CBC is not an AEAD');
    assertCryptoError(() => createCipher(EncrId.ENCR_AES_GCM_16, Buffer.alloc(20)), 'GCM is not a plain cipher');
    assertCryptoError(() => createAead(99, Buffer.alloc(20)));
    assertCryptoError(() => createIntegrity(IntegId.NONE, Buffer.alloc(0)));
    assertCryptoError(() => createPrf(99));
  });
});

describe('algorithm table', () => {
  it('PRF facts match the PRFs', () => {
    for (const id of Object.values(PrfId)) {
      const prf = createPrf(id);
      assert.equal(prf.outputLength, prfInfo[id]?.outputLength);
      assert.equal(prf.keyLength, prfInfo[id]?.keyLength);
      assert.equal(prf.compute(rng.bytes(prf.keyLength), rng.bytes(9)).length, prf.outputLength);
    }
  });
  it('keymat lengths (RFC 4106 8.1, RFC 4309 7.1, RFC 3686 5.1, RFC 7634 2)', () => {
    assert.equal(encrKeymatLength(EncrId.ENCR_AES_GCM_16, 128), 20);
    assert.equal(encrKeymatLength(EncrId.ENCR_AES_GCM_16, 256), 36);
    assert.equal(encrKeymatLength(EncrId.ENCR_AES_CCM_8, 192), 27);
    assert.equal(encrKeymatLength(EncrId.ENCR_AES_CTR, 128), 20);
    assert.equal(encrKeymatLength(EncrId.ENCR_AES_CBC, 256), 32);
    assert.equal(encrKeymatLength(EncrId.ENCR_CHACHA20_POLY1305, 256), 36);
    assert.equal(encrKeymatLength(EncrId.ENCR_3DES, 192), 24);
    assert.equal(encrKeymatLength(EncrId.ENCR_AES_CBC, 64), undefined);
  });
  it('strongSwan keywords', () => {
    const kw = (name: string): unknown => algorithmKeywords.get(name);
    assert.deepEqual(kw('aes128gcm16'), { type: 'encr', id: EncrId.ENCR_AES_GCM_16, keyBits: 128 });
    assert.deepEqual(kw('aes256'), { type: 'encr', id: EncrId.ENCR_AES_CBC, keyBits: 256 });
    assert.deepEqual(kw('aes'), { type: 'encr', id: EncrId.ENCR_AES_CBC, keyBits: 128 });
    assert.equal(createCipher(EncrId.ENCR_AES_CBC, Buffer.alloc(16)).name, 'aes128');
    assert.deepEqual(kw('chacha20poly1305'), { type: 'encr', id: EncrId.ENCR_CHACHA20_POLY1305, keyBits: 256 });
    assert.deepEqual(kw('aes128gmac'), {
      type: 'encr',
      id: EncrId.ENCR_NULL_AUTH_AES_GMAC,
      keyBits: 128,
      ahIntegId: IntegId.AUTH_AES_128_GMAC,
    });
    assert.deepEqual(kw('sha256'), { type: 'integ', id: IntegId.AUTH_HMAC_SHA2_256_128 });
    assert.deepEqual(kw('sha1'), { type: 'integ', id: IntegId.AUTH_HMAC_SHA1_96 });
    assert.deepEqual(kw('aesxcbc'), { type: 'integ', id: IntegId.AUTH_AES_XCBC_96 });
    assert.deepEqual(kw('aescmac'), { type: 'integ', id: IntegId.AUTH_AES_CMAC_96 });
    assert.deepEqual(kw('prfsha256'), { type: 'prf', id: PrfId.PRF_HMAC_SHA2_256 });
    assert.deepEqual(kw('x25519'), { type: 'ke', id: 31 });
    assert.deepEqual(kw('ecp256'), { type: 'ke', id: 19 });
    assert.deepEqual(kw('modp3072'), { type: 'ke', id: 15 });
    assert.equal(createAead(EncrId.ENCR_AES_GCM_16, Buffer.alloc(36)).name, 'aes256gcm16');
    assert.equal(createIntegrity(IntegId.AUTH_HMAC_SHA2_256_128, Buffer.alloc(32)).name, 'sha256');
  });
});

describe('prf+ (RFC 7296 2.13)', () => {
  it('T1 = prf(K, S | 0x01), T2 = prf(K, T1 | S | 0x02), truncated', () => {
    const prf = createPrf(PrfId.PRF_HMAC_SHA2_256);
    const key = rng.bytes(32);
    const seed = rng.bytes(40);
    const t1 = prf.compute(key, Buffer.concat([seed, Buffer.from([1])]));
    const t2 = prf.compute(key, Buffer.concat([t1, seed, Buffer.from([2])]));
    assert.deepEqual(prfPlus(prf, key, seed, 50), Buffer.concat([t1, t2]).subarray(0, 50));
    assert.equal(prfPlus(prf, key, seed, 0).length, 0);
  });
  it('refuses more than 255 blocks', () => {
    const prf = createPrf(PrfId.PRF_HMAC_SHA1);
    assert.equal(prfPlus(prf, Buffer.alloc(20), Buffer.alloc(8), 255 * 20).length, 255 * 20);
    assertCryptoError(() => prfPlus(prf, Buffer.alloc(20), Buffer.alloc(8), 255 * 20 + 1));
    assertCryptoError(() => prfPlus(prf, Buffer.alloc(20), Buffer.alloc(8), -1));
  });
});

describe('Rngs', () => {
  it('the test Rng is deterministic per seed and differs across seeds', () => {
    const a = createTestRng('seed');
    const b = createTestRng('seed');
    const first = a.bytes(45);
    const out = Buffer.alloc(45);
    b.fill(out.subarray(0, 7));
    b.fill(out.subarray(7));
    assert.deepEqual(out, first, 'same stream whatever the read sizes');
    assert.notDeepEqual(createTestRng('seed2').bytes(45), first);
    assert.notDeepEqual(a.bytes(45), first, 'stream advances');
  });
  it('nodeRng fills', () => {
    const out = Buffer.alloc(32);
    nodeRng.fill(out);
    assert.notDeepEqual(out, Buffer.alloc(32));
    assert.equal(nodeRng.bytes(17).length, 17);
  });
});

describe('backend chain', () => {
  it('a registered backend is asked first and may decline; node:crypto is last', () => {
    const seen: AeadParams[] = [];
    const spy: CryptoBackend = {
      name: 'spy',
      createAead(params) {
        seen.push(params);
        return undefined;
      },
    };
    const before = cryptoBackends().filter((b) => b !== nodeBackend);
    setCryptoBackends([spy]);
    try {
      assert.deepEqual(
        cryptoBackends().map((b) => b.name),
        ['spy', 'node'],
      );
      const keymat = Buffer.from('000102030405060708090a0b0c0d0e0fa0a1a2a3', 'hex');
      const aead = createAead(EncrId.ENCR_AES_GCM_16, keymat);
      assert.equal(aead.name, 'aes128gcm16');
      assert.equal(seen.length, 1);
      assert.deepEqual(Buffer.from(seen[0]?.key ?? []), keymat.subarray(0, 16));
      assert.deepEqual(Buffer.from(seen[0]?.salt ?? []), keymat.subarray(16));
      assert.equal(seen[0]?.mode, 'gcm');
      createAead(EncrId.ENCR_AES_GCM_16, keymat, { backend: nodeBackend });
      assert.equal(seen.length, 1, 'an explicit backend bypasses the chain');
    } finally {
      setCryptoBackends(before);
    }
    assert.equal(cryptoBackends().at(-1), nodeBackend);
  });
});
