/**
 * AEAD known answers: RFC 7539 2.8.2 / A.5 ChaCha20-Poly1305, the McGrew-Viega GCM cases in IPsec form and the
 * draft-mcgrew-gcm-test-01 ESP cases (RFC 4106) at the AEAD level, and the strongSwan AES-CCM cases (RFC 4309 form).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EncrId, createAead, nodeBackend } from '../../src/crypto/index.js';
import type { CryptoBackend } from '../../src/crypto/index.js';
import { hex, loadVectors } from '../helpers/vectors.js';
import { allBackends, embed, flipByte } from './helpers.js';

interface AeadCase {
  readonly label: string;
  readonly encrId: number;
  readonly keymat: Buffer;
  readonly iv: Buffer;
  readonly aad: Buffer;
  readonly plaintext: Buffer;
  readonly ciphertext: Buffer;
  readonly icv: Buffer;
}

/** Seal at an offset and return ciphertext || icv. */
function seal(
  backend: CryptoBackend,
  c: AeadCase,
  keymat = c.keymat,
  iv = c.iv,
  aad = c.aad,
  plaintext = c.plaintext,
): Buffer {
  const aead = createAead(c.encrId, keymat, { backend });
  const { buf, off, len } = embed(plaintext);
  const icv = Buffer.alloc(aead.icvLength + 4, 0xcc);
  aead.seal(iv, aad, buf, off, len, icv, 2);
  return Buffer.concat([buf.subarray(off, off + len), icv.subarray(2, 2 + aead.icvLength)]);
}

/** Open at an offset; returns the plaintext, or undefined when the ICV did not verify. */
function open(
  backend: CryptoBackend,
  c: AeadCase,
  ciphertext = c.ciphertext,
  icv = c.icv,
  aad = c.aad,
): Buffer | undefined {
  const aead = createAead(c.encrId, c.keymat, { backend });
  const { buf, off, len } = embed(ciphertext);
  const icvBuf = embed(icv, 5, 1);
  const ok = aead.open(c.iv, aad, buf, off, len, icvBuf.buf, icvBuf.off);
  return ok ? Buffer.from(buf.subarray(off, off + len)) : undefined;
}

function checkCase(b: CryptoBackend, c: AeadCase): void {
  assert.equal(createAead(c.encrId, c.keymat, { backend: b }).icvLength, c.icv.length, `${c.label}: ICV length`);
  assert.deepEqual(seal(b, c), Buffer.concat([c.ciphertext, c.icv]), `${c.label}: seal (${b.name})`);
  assert.deepEqual(open(b, c), c.plaintext, `${c.label}: open (${b.name})`);
}

/** Changing one byte of any input changes the sealed output or makes open fail. */
function checkMutations(b: CryptoBackend, c: AeadCase): void {
  const expected = Buffer.concat([c.ciphertext, c.icv]);
  assert.notDeepEqual(seal(b, c, flipByte(c.keymat, 0)), expected, `${c.label}: key byte`);
  assert.notDeepEqual(seal(b, c, flipByte(c.keymat, c.keymat.length - 1)), expected, `${c.label}: salt byte`);
  assert.notDeepEqual(seal(b, c, c.keymat, flipByte(c.iv)), expected, `${c.label}: IV byte`);
  if (c.aad.length > 0) assert.notDeepEqual(seal(b, c, c.keymat, c.iv, flipByte(c.aad)), expected, `${c.label}: AAD`);
  if (c.plaintext.length > 0) {
    assert.notDeepEqual(seal(b, c, c.keymat, c.iv, c.aad, flipByte(c.plaintext)), expected, `${c.label}: plaintext`);
    assert.equal(open(b, c, flipByte(c.ciphertext)), undefined, `${c.label}: ciphertext byte must fail open`);
  }
  assert.equal(open(b, c, c.ciphertext, flipByte(c.icv)), undefined, `${c.label}: ICV byte must fail open`);
  if (c.aad.length > 0) assert.equal(open(b, c, c.ciphertext, c.icv, flipByte(c.aad)), undefined, `${c.label}: AAD`);
}

// RFC 7539 / RFC 8439 ------------------------------------------------------------------------------------------

interface ChaChaFile {
  cases: {
    name: string;
    key: string;
    nonce: string;
    aad: string;
    plaintext: string;
    ciphertext: string;
    tag: string;
  }[];
}
/** RFC 7634 2: the 12-byte nonce is salt(4) || IV(8), and keymat = key || salt. */
const chachaCases: AeadCase[] = loadVectors<ChaChaFile>('rfc7539-chacha20poly1305.json').cases.map((v) => ({
  label: v.name,
  encrId: EncrId.ENCR_CHACHA20_POLY1305,
  keymat: Buffer.concat([hex(v.key), hex(v.nonce).subarray(0, 4)]),
  iv: hex(v.nonce).subarray(4),
  aad: hex(v.aad),
  plaintext: hex(v.plaintext),
  ciphertext: hex(v.ciphertext),
  icv: hex(v.tag),
}));

describe('rfc7539-chacha20poly1305.json', () => {
  it(`every case seals and opens byte-exact (${allBackends.map((b) => b.name).join(', ')})`, () => {
    assert.equal(chachaCases.length, 2);
    for (const b of allBackends) for (const c of chachaCases) checkCase(b, c);
  });
  it('one changed input byte changes the result', () => {
    for (const b of allBackends) for (const c of chachaCases) checkMutations(b, c);
  });
});

// RFC 4106 --------------------------------------------------------------------------------------------------------

interface GcmFile {
  cases: {
    index: number;
    aes_key: string;
    salt: string;
    keymat: string;
    iv: string;
    aad: string;
    plaintext: string;
    ciphertext: string;
    icv16: string;
  }[];
  gcm_spec_vectors_ipsec_form: {
    cases: {
      name: string;
      transform: string;
      aes_key: string;
      salt: string;
      iv: string;
      aad: string;
      plaintext: string;
      ciphertext_and_icv: string;
      icv_length: number;
    }[];
  };
}
const gcmFile = loadVectors<GcmFile>('rfc4106-gcm-esp.json');
const GCM_BY_ICV: Readonly<Record<number, number>> = {
  8: EncrId.ENCR_AES_GCM_8,
  12: EncrId.ENCR_AES_GCM_12,
  16: EncrId.ENCR_AES_GCM_16,
};
const gcmSplitCases: AeadCase[] = gcmFile.gcm_spec_vectors_ipsec_form.cases.map((v) => {
  const all = hex(v.ciphertext_and_icv);
  assert.equal(v.transform, `ENCR_AES_GCM_ICV${v.icv_length}`);
  return {
    label: v.name,
    encrId: GCM_BY_ICV[v.icv_length] ?? -1,
    keymat: Buffer.concat([hex(v.aes_key), hex(v.salt)]),
    iv: hex(v.iv),
    aad: hex(v.aad),
    plaintext: hex(v.plaintext),
    ciphertext: all.subarray(0, all.length - v.icv_length),
    icv: all.subarray(all.length - v.icv_length),
  };
});
const gcmEspCases: AeadCase[] = gcmFile.cases.map((v) => {
  assert.deepEqual(hex(v.keymat), Buffer.concat([hex(v.aes_key), hex(v.salt)]));
  return {
    label: `ESP case ${v.index}`,
    encrId: EncrId.ENCR_AES_GCM_16,
    keymat: hex(v.keymat),
    iv: hex(v.iv),
    aad: hex(v.aad),
    plaintext: hex(v.plaintext),
    ciphertext: hex(v.ciphertext),
    icv: hex(v.icv16),
  };
});

describe('rfc4106-gcm-esp.json', () => {
  it(`all 21 GCM spec cases in salt/IV form (ICV 8, 12, 16; AES-128/192/256; ${allBackends.map((b) => b.name).join(', ')})`, () => {
    assert.equal(gcmSplitCases.length, 21);
    for (const b of allBackends) for (const c of gcmSplitCases) checkCase(b, c);
  });
  it(`all 16 ESP cases at the AEAD level (AAD = SPI || seq or SPI || ESN; ${allBackends.map((b) => b.name).join(', ')})`, () => {
    assert.equal(gcmEspCases.length, 16);
    for (const b of allBackends) for (const c of gcmEspCases) checkCase(b, c);
  });
  it('one changed input byte changes the result', () => {
    for (const b of allBackends) for (const c of [...gcmSplitCases, ...gcmEspCases]) checkMutations(b, c);
  });
});

// AES-CCM (RFC 4309 form) -------------------------------------------------------------------------------------------

interface CcmFile {
  cases: {
    name: string;
    transform: string;
    aes_key: string;
    salt: string;
    keymat: string;
    iv: string;
    aad: string;
    plaintext: string;
    ciphertext_and_icv: string;
    icv_length: number;
  }[];
}
const CCM_BY_ICV: Readonly<Record<number, number>> = {
  8: EncrId.ENCR_AES_CCM_8,
  12: EncrId.ENCR_AES_CCM_12,
  16: EncrId.ENCR_AES_CCM_16,
};
const ccmCases: AeadCase[] = loadVectors<CcmFile>('strongswan-aes-ccm.json').cases.map((v) => {
  const all = hex(v.ciphertext_and_icv);
  assert.equal(v.transform, `ENCR_AES_CCM_ICV${v.icv_length}`);
  return {
    label: v.name,
    encrId: CCM_BY_ICV[v.icv_length] ?? -1,
    keymat: Buffer.concat([hex(v.aes_key), hex(v.salt)]),
    iv: hex(v.iv),
    aad: hex(v.aad),
    plaintext: hex(v.plaintext),
    ciphertext: all.subarray(0, all.length - v.icv_length),
    icv: all.subarray(all.length - v.icv_length),
  };
});

describe('strongswan-aes-ccm.json', () => {
  it('all 16 CCM cases (ICV 8, 12, 16; AES-128/192/256; 3-byte salt; node; OpenSSL backend defers CCM to it)', () => {
    assert.equal(ccmCases.length, 16);
    for (const c of ccmCases) checkCase(nodeBackend, c);
  });
  it('one changed input byte changes the result', () => {
    for (const c of ccmCases) checkMutations(nodeBackend, c);
  });
});
