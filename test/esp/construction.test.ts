/**
 * Packet construction checked against node:crypto used directly (not the transforms under test), for the
 * transforms that have no published ESP packet vectors here: ENCR_NULL_AUTH_AES_GMAC (RFC 4543 3.3: the
 * tag covers SPI, sequence number, IV and the whole payload, nothing is encrypted), AES-CCM (RFC 4309: nonce
 * = 3-byte salt || IV, AAD = SPI || seq), AES-CTR (RFC 3686: counter block = nonce || IV || 1) with
 * HMAC-SHA2-256-128 over SPI .. trailer with the ESN high half appended (RFC 4303 2.2.1, 3.3.2), and AES-GCM
 * with ESN (RFC 4106 5: AAD = SPI || seq high || seq low).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHmac } from 'node:crypto';
import { EncrId, IntegId, createTestRng } from '../../src/crypto/index.js';
import { EspInboundSa, EspOutboundSa, createEspTransform } from '../../src/esp/index.js';
import { bytesOf, ipv4Udp, packetFrom } from './helpers.js';

const SPI = 0x0a0b0c0d;

/** SPI and the 32-bit sequence number as they start every ESP packet. */
function header(seqLow: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(SPI, 0);
  h.writeUInt32BE(seqLow, 4);
  return h;
}

/** RFC 4303 2.4 default padding to `align`, pad length and next header. */
function trailer(payloadLength: number, align: number, nextHeader: number): Buffer {
  const padLen = (align - ((payloadLength + 2) % align)) % align;
  const t = Buffer.alloc(padLen + 2);
  for (let i = 0; i < padLen; i++) t[i] = i + 1;
  t[padLen] = padLen;
  t[padLen + 1] = nextHeader;
  return t;
}

function seal(
  encrId: number,
  encKey: Buffer,
  integId: number,
  integKey: Buffer,
  esn: boolean,
  seq: bigint,
  inner: Buffer,
) {
  const out = new EspOutboundSa({
    spi: SPI,
    mode: 'tunnel',
    esn,
    transform: createEspTransform({ encrId, encKey, integId, integKey }),
    initialSeq: seq,
    rng: createTestRng('construction'),
  });
  const pkt = packetFrom(inner);
  assert.equal(out.seal(pkt), 'ok');
  return bytesOf(pkt);
}

test('ENCR_NULL_AUTH_AES_GMAC (RFC 4543): payload in the clear, GCM tag over SPI || seq || IV || payload', () => {
  for (const esn of [false, true]) {
    const keymat = Buffer.from('000102030405060708090a0b0c0d0e0f' + 'cafebabe', 'hex');
    const inner = ipv4Udp(33);
    const seq = esn ? (7n << 32n) | 9n : 9n;
    const wire = seal(EncrId.ENCR_NULL_AUTH_AES_GMAC, keymat, IntegId.NONE, Buffer.alloc(0), esn, seq, inner);
    const iv = wire.subarray(8, 16);
    const clear = Buffer.concat([inner, trailer(inner.length, 4, 4)]);
    assert.deepEqual(wire.subarray(16, 16 + clear.length), clear, 'nothing is encrypted');
    const aadSeq = esn ? Buffer.from([0, 0, 0, 7, 0, 0, 0, 9]) : Buffer.from([0, 0, 0, 9]);
    const g = createCipheriv('aes-128-gcm', keymat.subarray(0, 16), Buffer.concat([keymat.subarray(16), iv]));
    g.setAAD(Buffer.concat([header(9).subarray(0, 4), aadSeq, iv, clear]));
    g.final();
    assert.deepEqual(wire.subarray(16 + clear.length), g.getAuthTag());
  }
});

test('AES-CCM-16 (RFC 4309): nonce = salt(3) || IV, AAD = SPI || seq', () => {
  const keymat = Buffer.from('404142434445464748494a4b4c4d4e4f' + 'a0a1a2', 'hex');
  const inner = ipv4Udp(50);
  const wire = seal(EncrId.ENCR_AES_CCM_16, keymat, IntegId.NONE, Buffer.alloc(0), false, 3n, inner);
  const iv = wire.subarray(8, 16);
  const clear = Buffer.concat([inner, trailer(inner.length, 4, 4)]);
  const c = createCipheriv('aes-128-ccm', keymat.subarray(0, 16), Buffer.concat([keymat.subarray(16), iv]), {
    authTagLength: 16,
  });
  c.setAAD(header(3), { plaintextLength: clear.length });
  const ct = Buffer.concat([c.update(clear), c.final()]);
  assert.deepEqual(wire, Buffer.concat([header(3), iv, ct, c.getAuthTag()]));
});

test('AES-GCM-16 with ESN (RFC 4106 5): AAD = SPI || seq high || seq low, IV unique per packet', () => {
  const keymat = Buffer.from('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308cafebabe', 'hex');
  const inner = ipv4Udp(100);
  const seq = (0x01020304n << 32n) | 0xfffffff0n;
  const wire = seal(EncrId.ENCR_AES_GCM_16, keymat, IntegId.NONE, Buffer.alloc(0), true, seq, inner);
  const iv = wire.subarray(8, 16);
  const clear = Buffer.concat([inner, trailer(inner.length, 4, 4)]);
  const c = createCipheriv('aes-256-gcm', keymat.subarray(0, 32), Buffer.concat([keymat.subarray(32), iv]));
  c.setAAD(Buffer.from('0a0b0c0d01020304fffffff0', 'hex'));
  const ct = Buffer.concat([c.update(clear), c.final()]);
  assert.deepEqual(wire, Buffer.concat([header(0xfffffff0), iv, ct, c.getAuthTag()]));
});

test('AES-CTR + HMAC-SHA2-256-128 with ESN: counter block nonce || IV || 1, ICV over SPI..trailer || seq high', () => {
  const keymat = Buffer.from('7691be035e5020a8ac6e618529f9a0dc' + '00e0017b', 'hex');
  const integKey = Buffer.alloc(32, 0x0b);
  const inner = ipv4Udp(70);
  const seq = (5n << 32n) | 1n;
  const wire = seal(EncrId.ENCR_AES_CTR, keymat, IntegId.AUTH_HMAC_SHA2_256_128, integKey, true, seq, inner);
  const iv = wire.subarray(8, 16);
  const clear = Buffer.concat([inner, trailer(inner.length, 4, 4)]);
  const counter = Buffer.concat([keymat.subarray(16), iv, Buffer.from([0, 0, 0, 1])]);
  const c = createCipheriv('aes-128-ctr', keymat.subarray(0, 16), counter);
  const ct = Buffer.concat([c.update(clear), c.final()]);
  const body = Buffer.concat([header(1), iv, ct]);
  const icv = createHmac('sha256', integKey)
    .update(Buffer.concat([body, Buffer.from([0, 0, 0, 5])]))
    .digest()
    .subarray(0, 16);
  assert.deepEqual(wire, Buffer.concat([body, icv]));
});

test('AES-CBC + HMAC-SHA1-96 without ESN: 16-byte alignment, ICV over SPI .. trailer only', () => {
  const key = Buffer.alloc(16, 0x42);
  const integKey = Buffer.alloc(20, 0x17);
  const inner = ipv4Udp(5);
  const wire = seal(EncrId.ENCR_AES_CBC, key, IntegId.AUTH_HMAC_SHA1_96, integKey, false, 77n, inner);
  const iv = wire.subarray(8, 24);
  const clear = Buffer.concat([inner, trailer(inner.length, 16, 4)]);
  assert.equal(clear.length % 16, 0);
  const c = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
  const body = Buffer.concat([header(77), iv, c.update(clear), c.final()]);
  const icv = createHmac('sha1', integKey).update(body).digest().subarray(0, 12);
  assert.deepEqual(wire, Buffer.concat([body, icv]));
});

test('3DES-CBC + HMAC-SHA1-96 built with node:crypto opens (3DES is kept for decryption only)', () => {
  const key = Buffer.from('4043434545464649494a4a4c4c4f4f515152525454575758', 'hex');
  const integKey = Buffer.alloc(20, 0x5a);
  const inner = ipv4Udp(40);
  const iv = Buffer.from('0102030405060708', 'hex');
  const clear = Buffer.concat([inner, trailer(inner.length, 8, 4)]);
  const c = createCipheriv('des-ede3-cbc', key, iv).setAutoPadding(false);
  const body = Buffer.concat([header(1), iv, c.update(clear), c.final()]);
  const wire = Buffer.concat([body, createHmac('sha1', integKey).update(body).digest().subarray(0, 12)]);
  const inb = new EspInboundSa({
    spi: SPI,
    mode: 'tunnel',
    esn: false,
    transform: createEspTransform({
      encrId: EncrId.ENCR_3DES,
      encKey: key,
      integId: IntegId.AUTH_HMAC_SHA1_96,
      integKey,
    }),
  });
  const pkt = packetFrom(wire);
  assert.equal(inb.open(pkt), 'ok');
  assert.deepEqual(bytesOf(pkt), inner);
  const forged = Buffer.from(wire);
  forged.writeUInt32BE(2, 4); // a fresh sequence number, but the ICV no longer fits
  assert.equal(inb.open(packetFrom(forged)), 'icv');
});
