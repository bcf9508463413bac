/**
 * Key exchange with fresh keys and hostile peer values (RFC 7296 3.4, RFC 6989, RFC 5903, RFC 8031 2):
 * wrong lengths, out-of-range MODP values, points off the curve, low-order Curve25519/448 points -> CryptoError.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  KeGroup,
  createKeyExchange,
  createKeyExchangeFromPrivateKey,
  createTestRng,
  groupInfo,
} from '../../src/crypto/index.js';
import { assertCryptoError } from './helpers.js';

const rng = createTestRng('key exchange validation');
const DEFAULT_GROUPS = [14, 15, 19, 20, 21, 31, 32, 25, 26, 27, 28, 29, 30] as const;

describe('fresh key exchanges', () => {
  it('both sides agree, public values have the IKEv2 length', () => {
    for (const group of DEFAULT_GROUPS) {
      const i = createKeyExchange(group, rng);
      const r = createKeyExchange(group, rng);
      const info = groupInfo[group];
      assert.equal(i.publicKey.length, info?.publicLength, `group ${group}`);
      const s = i.computeSharedSecret(r.publicKey);
      assert.equal(s.length, info?.sharedLength);
      assert.deepEqual(s, r.computeSharedSecret(i.publicKey), `group ${group}`);
    }
  });
  it('the same Rng seed gives the same key pair', () => {
    for (const group of [14, 19, 31] as const) {
      const a = createKeyExchange(group, createTestRng('same'));
      const b = createKeyExchange(group, createTestRng('same'));
      assert.deepEqual(a.publicKey, b.publicKey);
    }
  });
  it('weak groups are off by default', () => {
    for (const group of [KeGroup.MODP_768, KeGroup.MODP_1024, KeGroup.MODP_1536, KeGroup.MODP_2048_256]) {
      assertCryptoError(() => createKeyExchange(group, rng), `group ${group}`);
    }
    const k = createKeyExchange(KeGroup.MODP_1536, rng, { allowWeak: true });
    assert.equal(k.publicKey.length, 192);
  });
  it('unsupported groups throw CryptoError', () => {
    assertCryptoError(() => createKeyExchange(0, rng));
    assertCryptoError(() => createKeyExchange(33, rng));
  });
});

describe('MODP encoding (RFC 7296 3.4)', () => {
  it('KE data and g^ir are left-padded with zeros to the prime length', () => {
    // x = 1 makes g^x = 2 and g^xy = y: both far shorter than the 2048-bit prime.
    const k = createKeyExchangeFromPrivateKey(KeGroup.MODP_2048, Buffer.from([1]));
    const two = Buffer.alloc(256);
    two[255] = 2;
    assert.deepEqual(k.publicKey, two);
    const y = Buffer.alloc(256);
    y[250] = 0x12;
    y[255] = 0x34;
    assert.deepEqual(k.computeSharedSecret(y), y);
  });
});

describe('hostile MODP values (RFC 6989 2.1)', () => {
  it('wrong length, 0, 1, p-1, p and above are rejected', () => {
    const k = createKeyExchange(KeGroup.MODP_2048, rng);
    // RFC 3526 primes start and end with 64 one bits.
    const pMinus1 = Buffer.alloc(256, 0xff);
    pMinus1[255] = 0xfe;
    const above = Buffer.alloc(256, 0xff);
    for (const bad of [Buffer.alloc(255, 7), Buffer.alloc(257, 7), Buffer.alloc(256), pMinus1, above]) {
      assertCryptoError(() => k.computeSharedSecret(bad));
    }
    const one = Buffer.alloc(256);
    one[255] = 1;
    assertCryptoError(() => k.computeSharedSecret(one));
    const two = Buffer.alloc(256);
    two[255] = 2;
    assert.equal(k.computeSharedSecret(two).length, 256, '2 is a valid element');
  });
  it('RFC 5114 groups reject values outside the prime-order subgroup (RFC 6989 2.2)', () => {
    const k = createKeyExchange(KeGroup.MODP_2048_256, rng, { allowWeak: true });
    const two = Buffer.alloc(256);
    two[255] = 2;
    assertCryptoError(() => k.computeSharedSecret(two));
    const peer = createKeyExchange(KeGroup.MODP_2048_256, rng, { allowWeak: true });
    assert.deepEqual(k.computeSharedSecret(peer.publicKey), peer.computeSharedSecret(k.publicKey));
  });
});

describe('hostile ECP values (RFC 5903 7)', () => {
  it('wrong length, all zero and a point off the curve are rejected', () => {
    for (const group of [19, 20, 21, 28] as const) {
      const k = createKeyExchange(group, rng);
      const peer = createKeyExchange(group, rng).publicKey;
      const len = groupInfo[group]?.publicLength ?? 0;
      assertCryptoError(() => k.computeSharedSecret(peer.subarray(1)));
      assertCryptoError(() => k.computeSharedSecret(Buffer.concat([Buffer.from([4]), peer])), 'SEC1 prefix');
      assertCryptoError(() => k.computeSharedSecret(Buffer.alloc(len)));
      const off = Buffer.from(peer);
      off[len - 1] = (off[len - 1] ?? 0) ^ 1;
      assertCryptoError(() => k.computeSharedSecret(off), `group ${group}: y changed`);
    }
  });
  it('invalid private scalars are rejected', () => {
    assertCryptoError(() => createKeyExchangeFromPrivateKey(19, Buffer.alloc(32)));
    assertCryptoError(() => createKeyExchangeFromPrivateKey(19, Buffer.alloc(32, 0xff)));
  });
});

describe('hostile Curve25519 / Curve448 values (RFC 8031 2, RFC 7748 6)', () => {
  it('wrong length and low-order points giving an all-zero secret are rejected', () => {
    const x25519 = createKeyExchange(KeGroup.CURVE25519, rng);
    assertCryptoError(() => x25519.computeSharedSecret(Buffer.alloc(31, 9)));
    assertCryptoError(() => x25519.computeSharedSecret(Buffer.alloc(33, 9)));
    assertCryptoError(() => x25519.computeSharedSecret(Buffer.alloc(32)), 'u = 0');
    const u1 = Buffer.alloc(32);
    u1[0] = 1;
    assertCryptoError(() => x25519.computeSharedSecret(u1), 'u = 1 has order 4');
    const x448 = createKeyExchange(KeGroup.CURVE448, rng);
    assertCryptoError(() => x448.computeSharedSecret(Buffer.alloc(56)), 'u = 0');
    assertCryptoError(() => x448.computeSharedSecret(Buffer.alloc(32)));
    assertCryptoError(() => createKeyExchangeFromPrivateKey(KeGroup.CURVE25519, Buffer.alloc(31)));
  });
});
