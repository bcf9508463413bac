/**
 * SK payload protection for every suite IKE uses, checked against node:crypto directly (RFC 7296 3.14 ICV
 * coverage, RFC 5282 AAD and nonce), plus padding acceptance, failure reasons, and hostile input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { EncrId, IntegId } from '../../../src/crypto/ids.js';
import { CryptoError } from '../../../src/crypto/types.js';
import { createTestRng } from '../../../src/crypto/index.js';
import {
  ExchangeType,
  NotifyType,
  PayloadType,
  encodePayloads,
  encodedLengthPayloads,
} from '../../../src/ike/codec/index.js';
import type { IkeHeader, Payload } from '../../../src/ike/codec/index.js';
import { createSkCrypter } from '../../../src/ike/protection/index.js';
import type { SkKeys } from '../../../src/ike/protection/index.js';
import { randomPayload } from '../codec/generate.js';
import { Prng } from '../codec/prng.js';

interface Suite {
  name: string;
  keys: SkKeys;
}

const key = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);
const SUITES: Suite[] = [
  {
    name: 'aes128-sha1',
    keys: { encrId: EncrId.ENCR_AES_CBC, integId: IntegId.AUTH_HMAC_SHA1_96, skE: key(16, 1), skA: key(20, 2) },
  },
  {
    name: 'aes128-sha256',
    keys: { encrId: EncrId.ENCR_AES_CBC, integId: IntegId.AUTH_HMAC_SHA2_256_128, skE: key(16, 3), skA: key(32, 4) },
  },
  {
    name: 'aes192-sha384',
    keys: { encrId: EncrId.ENCR_AES_CBC, integId: IntegId.AUTH_HMAC_SHA2_384_192, skE: key(24, 5), skA: key(48, 6) },
  },
  {
    name: 'aes256-sha512',
    keys: { encrId: EncrId.ENCR_AES_CBC, integId: IntegId.AUTH_HMAC_SHA2_512_256, skE: key(32, 7), skA: key(64, 8) },
  },
  { name: 'aes128gcm16', keys: { encrId: EncrId.ENCR_AES_GCM_16, skE: key(20, 9) } },
  { name: 'aes256gcm16', keys: { encrId: EncrId.ENCR_AES_GCM_16, skE: key(36, 10) } },
  { name: 'chacha20poly1305', keys: { encrId: EncrId.ENCR_CHACHA20_POLY1305, skE: key(36, 11) } },
  { name: 'aes128ccm16', keys: { encrId: EncrId.ENCR_AES_CCM_16, skE: key(19, 12) } },
  {
    name: '3des-sha1',
    keys: { encrId: EncrId.ENCR_3DES, integId: IntegId.AUTH_HMAC_SHA1_96, skE: key(24, 13), skA: key(20, 14) },
  },
];

const header: IkeHeader = {
  spiI: Buffer.from('0102030405060708', 'hex'),
  spiR: Buffer.from('1112131415161718', 'hex'),
  nextPayload: 0,
  majorVersion: 2,
  minorVersion: 0,
  exchangeType: ExchangeType.INFORMATIONAL,
  flags: { initiator: true, response: false, version: false },
  messageId: 7,
  length: 0,
};
const notify: Payload = {
  type: PayloadType.NOTIFY,
  protocolId: 0,
  spi: Buffer.alloc(0),
  notifyType: NotifyType.INITIAL_CONTACT,
  data: Buffer.alloc(0),
};
const HDR = 28;
const SK_HDR = 4;

function encodeInner(inner: readonly Payload[]): Buffer {
  const b = Buffer.alloc(encodedLengthPayloads(inner));
  encodePayloads(inner, b, 0);
  return b;
}

for (const s of SUITES) {
  test(`${s.name}: 300 random payload lists seal and open back`, () => {
    const r = new Prng(s.name.length * 977);
    const c = createSkCrypter(s.keys, createTestRng(s.name));
    for (let i = 0; i < 300; i++) {
      const inner: Payload[] = [];
      for (let n = r.int(0, 5); n > 0; n--) inner.push(randomPayload(r));
      const sealed = c.seal({ ...header, messageId: i }, inner);
      const plaintextLength = encodedLengthPayloads(inner);
      assert.equal(sealed.length, c.sealedLength(plaintextLength, false));
      assert.equal(sealed.readUInt32BE(24), sealed.length);
      assert.equal(sealed[16], PayloadType.SK);
      const ct = sealed.length - HDR - SK_HDR - c.ivLength - c.icvLength;
      assert.equal(ct % c.blockSize, 0);
      const opened = c.open(sealed);
      assert.ok(opened.ok, opened.ok ? '' : opened.detail);
      assert.deepStrictEqual(opened.payloads, inner);
      assert.equal(opened.header.messageId, i);
    }
  });
}

test('aes128-sha256: ICV is HMAC over header..ciphertext, CBC over inner || pad || pad length (node:crypto check)', () => {
  const s = SUITES[1];
  assert.ok(s !== undefined && s.keys.skA !== undefined);
  const c = createSkCrypter(s.keys, createTestRng('cbc'));
  const inner = [notify];
  const sealed = c.seal(header, inner);
  const ivOff = HDR + SK_HDR;
  const icvOff = sealed.length - 16;
  const mac = createHmac('sha256', s.keys.skA).update(sealed.subarray(0, icvOff)).digest().subarray(0, 16);
  assert.equal(sealed.subarray(icvOff).toString('hex'), mac.toString('hex'));
  const d = createDecipheriv('aes-128-cbc', s.keys.skE, sealed.subarray(ivOff, ivOff + 16)).setAutoPadding(false);
  const plain = Buffer.concat([d.update(sealed.subarray(ivOff + 16, icvOff)), d.final()]);
  // 8-byte Notify, then 7 pad bytes and the Pad Length 7: one 16-byte block.
  assert.equal(plain.toString('hex'), encodeInner(inner).toString('hex') + '00000000000000' + '07');
  assert.equal(sealed[HDR], PayloadType.NOTIFY);
  assert.equal(sealed.readUInt16BE(HDR + 2), sealed.length - HDR);
});

test('aes128gcm16: nonce = salt || IV, AAD = IKE header || SK header, 16-byte tag (RFC 5282, node:crypto check)', () => {
  const s = SUITES[4];
  assert.ok(s !== undefined);
  const c = createSkCrypter(s.keys, createTestRng('gcm'));
  const sealed = c.seal(header, [notify]);
  const ivOff = HDR + SK_HDR;
  assert.equal(c.ivLength, 8);
  assert.equal(c.icvLength, 16);
  const nonce = Buffer.concat([s.keys.skE.subarray(16), sealed.subarray(ivOff, ivOff + 8)]);
  const d = createDecipheriv('aes-128-gcm', s.keys.skE.subarray(0, 16), nonce);
  d.setAAD(sealed.subarray(0, ivOff));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  const plain = Buffer.concat([d.update(sealed.subarray(ivOff + 8, sealed.length - 16)), d.final()]);
  assert.equal(plain.toString('hex'), encodeInner([notify]).toString('hex') + '00');
});

/** Build an AES-128-CBC + HMAC-SHA1-96 SK message by hand (node:crypto) with arbitrary plaintext bytes. */
function handSealCbc(plaintext: Buffer, encKey: Uint8Array, authKey: Uint8Array, first: number): Buffer {
  const iv = Buffer.alloc(16, 0xa5);
  const e = createCipheriv('aes-128-cbc', encKey, iv).setAutoPadding(false);
  const ct = Buffer.concat([e.update(plaintext), e.final()]);
  const total = HDR + SK_HDR + 16 + ct.length + 12;
  const msg = Buffer.alloc(total);
  header.spiI.copy(msg, 0);
  header.spiR.copy(msg, 8);
  msg[16] = PayloadType.SK;
  msg[17] = 0x20;
  msg[18] = ExchangeType.INFORMATIONAL;
  msg[19] = 0x08;
  msg.writeUInt32BE(7, 20);
  msg.writeUInt32BE(total, 24);
  msg[HDR] = first;
  msg.writeUInt16BE(total - HDR, HDR + 2);
  iv.copy(msg, HDR + SK_HDR);
  ct.copy(msg, HDR + SK_HDR + 16);
  createHmac('sha1', authKey)
    .update(msg.subarray(0, total - 12))
    .digest()
    .copy(msg, total - 12, 0, 12);
  return msg;
}

test('padding: any pad bytes and any aligned pad length are accepted (RFC 7296 3.14)', () => {
  const s = SUITES[0];
  assert.ok(s !== undefined && s.keys.skA !== undefined);
  const c = createSkCrypter(s.keys, createTestRng('pad'));
  const inner = encodeInner([notify]); // 8 bytes
  const pad = Buffer.from(Array.from({ length: 23 }, (_, i) => (i * 37 + 5) & 0xff)); // 8 + 23 + 1 = 32
  const plaintext = Buffer.concat([inner, pad, Buffer.from([pad.length])]);
  const r = c.open(handSealCbc(plaintext, s.keys.skE, s.keys.skA, PayloadType.NOTIFY));
  assert.ok(r.ok, r.ok ? '' : r.detail);
  assert.deepStrictEqual(r.payloads, [notify]);
});

test('failures: Pad Length beyond the plaintext and undecodable inner payloads are syntax errors', () => {
  const s = SUITES[0];
  assert.ok(s !== undefined && s.keys.skA !== undefined);
  const c = createSkCrypter(s.keys, createTestRng('syntax'));
  const tooLong = Buffer.concat([Buffer.alloc(15), Buffer.from([16])]);
  const r1 = c.open(handSealCbc(tooLong, s.keys.skE, s.keys.skA, PayloadType.NOTIFY));
  assert.ok(!r1.ok && r1.reason === 'syntax', JSON.stringify(r1));
  const garbage = Buffer.concat([Buffer.from('00000003', 'hex'), Buffer.alloc(11), Buffer.from([0])]);
  const r2 = c.open(handSealCbc(garbage, s.keys.skE, s.keys.skA, PayloadType.NOTIFY));
  assert.ok(!r2.ok && r2.reason === 'syntax', JSON.stringify(r2));
});

test('failures: every tampered byte is an integrity failure or malformed; wrong key is integrity', () => {
  for (const s of SUITES) {
    const c = createSkCrypter(s.keys, createTestRng(`tamper ${s.name}`));
    const sealed = c.seal(header, [notify, notify]);
    for (let i = 0; i < sealed.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i] = (bad[i] ?? 0) ^ 0x40;
      const r = c.open(bad);
      assert.ok(!r.ok, `${s.name} byte ${i}`);
      // Only the header fields the decoder checks (version, Length, Next Payload) make it malformed.
      if (i >= HDR + SK_HDR) assert.equal(r.reason, 'integrity', `${s.name} byte ${i}`);
    }
    const otherKeys: SkKeys = { ...s.keys, skE: Buffer.from(s.keys.skE).fill(0x77) };
    if (s.keys.skA !== undefined) otherKeys.skA = Buffer.from(s.keys.skA).fill(0x77);
    const r = createSkCrypter(otherKeys, createTestRng('other')).open(sealed);
    assert.ok(!r.ok && r.reason === 'integrity', s.name);
  }
});

test('failures: short SK, misaligned CBC ciphertext, no SK, not a message are malformed', () => {
  const s = SUITES[0];
  assert.ok(s !== undefined);
  const c = createSkCrypter(s.keys, createTestRng('malformed'));
  const sealed = c.seal(header, [notify]);
  const fix = (b: Buffer): Buffer => {
    b.writeUInt32BE(b.length, 24);
    b.writeUInt16BE(b.length - HDR, HDR + 2);
    return b;
  };
  const short = fix(Buffer.from(sealed.subarray(0, HDR + SK_HDR + 16 + 12)));
  const misaligned = fix(Buffer.concat([sealed, Buffer.alloc(3)]));
  const plain = Buffer.from(sealed.subarray(0, HDR));
  plain[16] = 0;
  plain.writeUInt32BE(HDR, 24);
  for (const [name, b] of [
    ['short', short],
    ['misaligned', misaligned],
    ['no SK', plain],
    ['garbage', Buffer.from('hello')],
  ] as const) {
    const r = c.open(b);
    assert.ok(!r.ok && r.reason === 'malformed', `${name}: ${JSON.stringify(r)}`);
  }
  const fr = c.openFragment(sealed);
  assert.ok(!fr.ok && fr.reason === 'malformed');
});

test('configuration: GMAC is refused for IKE; CBC needs SK_a; bad key sizes are CryptoError', () => {
  const rng = createTestRng('cfg');
  assert.throws(() => createSkCrypter({ encrId: EncrId.ENCR_NULL_AUTH_AES_GMAC, skE: key(20, 1) }, rng), CryptoError);
  assert.throws(
    () => createSkCrypter({ encrId: EncrId.ENCR_AES_CBC, integId: IntegId.AUTH_HMAC_SHA1_96, skE: key(16, 1) }, rng),
    CryptoError,
  );
  assert.throws(() => createSkCrypter({ encrId: EncrId.ENCR_AES_GCM_16, skE: key(16, 1) }, rng), CryptoError);
});

test('capacity: plaintextCapacity is the largest plaintext whose sealed message fits', () => {
  for (const s of SUITES) {
    const c = createSkCrypter(s.keys, createTestRng('cap'));
    for (const limit of [100, 576, 1280, 1500]) {
      for (const fragment of [false, true]) {
        const n = c.plaintextCapacity(limit, fragment);
        assert.ok(c.sealedLength(n, fragment) <= limit, `${s.name} ${limit}`);
        assert.ok(c.sealedLength(n + 1, fragment) > limit, `${s.name} ${limit} +1`);
      }
    }
  }
});

test('fuzz: 8,000 mutated sealed messages never throw out of open or openFragment', () => {
  const r = new Prng(0x5eed);
  let integrity = 0;
  for (const s of SUITES) {
    const c = createSkCrypter(s.keys, createTestRng(`fuzz ${s.name}`));
    const sealed = [c.seal(header, [notify]), c.seal(header, [notify, randomPayload(r), randomPayload(r)])];
    for (let i = 0; i < 1150; i++) {
      const b = Buffer.from(r.pick(sealed));
      for (let n = r.int(1, 3); n > 0; n--) b[r.int(0, b.length - 1)] = r.int(0, 255);
      const cut = r.int(0, 5) === 0 ? b.subarray(0, r.int(0, b.length)) : b;
      if (cut.length >= HDR && r.bool()) cut.writeUInt32BE(cut.length, 24);
      const res = c.open(cut);
      const res2 = c.openFragment(cut);
      assert.equal(res2.ok, false);
      if (!res.ok && res.reason === 'integrity') integrity++;
    }
  }
  assert.ok(integrity > 1000, `integrity failures ${integrity}`);
});
