/**
 * Integrity and PRF known answers: RFC 2202 (HMAC-MD5/SHA-1 and -96), RFC 4231 (HMAC-SHA2 as PRFs),
 * RFC 4868 2.7.2 (HMAC-SHA2 ICVs), RFC 3566 / RFC 4434 (AES-XCBC), RFC 4493 / RFC 4494 / RFC 4615 (AES-CMAC).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IntegId, PrfId, createIntegrity, createPrf, nodeBackend } from '../../src/crypto/index.js';
import type { CryptoBackend } from '../../src/crypto/index.js';
import { hex, loadVectors } from '../helpers/vectors.js';
import { allBackends, backendNames, flipByte } from './helpers.js';

/** Backends that implement an integrity algorithm: HMAC everywhere, the AES MACs on node:crypto only. */
function backendsFor(integId: number): readonly CryptoBackend[] {
  return integId === IntegId.AUTH_AES_XCBC_96 || integId === IntegId.AUTH_AES_CMAC_96 ? [nodeBackend] : allBackends;
}

/** Compute the ICV with the message split in uneven chunks (exercises chunk handling) and verify it. */
function icvOf(integId: number, key: Uint8Array, message: Uint8Array, backend: CryptoBackend = nodeBackend): Buffer {
  const t = createIntegrity(integId, key, { backend });
  const cut1 = Math.min(message.length, 3);
  const cut2 = Math.min(message.length, 21);
  const chunks = [message.subarray(0, cut1), message.subarray(cut1, cut2), message.subarray(cut2)];
  const out = Buffer.alloc(t.icvLength + 6, 0xcc);
  t.compute(chunks, out, 3);
  assert.equal(out[2], 0xcc);
  assert.equal(out[3 + t.icvLength], 0xcc);
  const icv = Buffer.from(out.subarray(3, 3 + t.icvLength));
  assert.equal(t.verify([message], out, 3), true, 'verify accepts its own ICV');
  return icv;
}

/** The ICV check against the published value, including that verify() rejects a changed ICV. */
function checkIcv(label: string, integId: number, key: Buffer, message: Buffer, expected: Buffer): void {
  for (const backend of backendsFor(integId)) {
    const l = `${label} (${backend.name})`;
    assert.deepEqual(icvOf(integId, key, message, backend), expected, `${l}: ICV`);
    const t = createIntegrity(integId, key, { backend });
    assert.equal(t.verify([message], expected, 0), true, `${l}: verify published ICV`);
    assert.equal(t.verify([message], flipByte(expected), 0), false, `${l}: verify changed ICV`);
    assert.equal(t.verify([message], expected.subarray(1), 0), false, `${l}: verify short ICV buffer`);
  }
}

function checkIcvMutations(label: string, integId: number, key: Buffer, message: Buffer, expected: Buffer): void {
  for (const backend of backendsFor(integId)) {
    assert.notDeepEqual(icvOf(integId, flipByte(key), message, backend), expected, `${label}: key byte`);
    if (message.length > 0) {
      assert.notDeepEqual(icvOf(integId, key, flipByte(message), backend), expected, `${label}: message byte`);
      assert.equal(createIntegrity(integId, key, { backend }).verify([flipByte(message)], expected, 0), false, label);
    }
  }
}

// RFC 2202 --------------------------------------------------------------------------------------------------------

interface Rfc2202File {
  cases: { hash: 'md5' | 'sha1'; test_case: number; key: string; data: string; digest: string; digest_96: string }[];
}
const rfc2202 = loadVectors<Rfc2202File>('rfc2202-hmac-md5-sha1.json').cases;
const RFC2202_INTEG = { md5: IntegId.AUTH_HMAC_MD5_96, sha1: IntegId.AUTH_HMAC_SHA1_96 } as const;
const RFC2202_PRF = { md5: PrfId.PRF_HMAC_MD5, sha1: PrfId.PRF_HMAC_SHA1 } as const;
/** AUTH_HMAC_MD5_96 / SHA1_96 keys are exactly 16 / 20 bytes (RFC 2403 3, RFC 2404 3). */
const RFC2202_KEY_LENGTH = { md5: 16, sha1: 20 } as const;

describe('rfc2202-hmac-md5-sha1.json', () => {
  it(`all 14 cases: full HMAC through the PRF, and the -96 ICV where the key has the ICV key length (${backendNames})`, () => {
    assert.equal(rfc2202.length, 14);
    let icvCases = 0;
    for (const v of rfc2202) {
      const label = `${v.hash} case ${v.test_case}`;
      assert.deepEqual(createPrf(RFC2202_PRF[v.hash]).compute(hex(v.key), hex(v.data)), hex(v.digest), label);
      assert.deepEqual(hex(v.digest_96), hex(v.digest).subarray(0, 12), `${label}: -96 is the leftmost 12 bytes`);
      if (hex(v.key).length === RFC2202_KEY_LENGTH[v.hash]) {
        checkIcv(label, RFC2202_INTEG[v.hash], hex(v.key), hex(v.data), hex(v.digest_96));
        icvCases++;
      }
    }
    assert.ok(icvCases >= 4, `ICV checked in ${icvCases} cases`);
  });
  it('one changed input byte changes the result', () => {
    for (const v of rfc2202) {
      const prf = createPrf(RFC2202_PRF[v.hash]);
      assert.notDeepEqual(prf.compute(flipByte(hex(v.key)), hex(v.data)), hex(v.digest));
      assert.notDeepEqual(prf.compute(hex(v.key), flipByte(hex(v.data))), hex(v.digest));
      if (hex(v.key).length === RFC2202_KEY_LENGTH[v.hash]) {
        checkIcvMutations(`${v.hash} ${v.test_case}`, RFC2202_INTEG[v.hash], hex(v.key), hex(v.data), hex(v.digest_96));
      }
    }
  });
});

// RFC 4231 --------------------------------------------------------------------------------------------------------

interface Rfc4231File {
  cases: {
    test_case: number;
    key: string;
    data: string;
    truncate_to_bytes: number | null;
    hmac_sha256: string;
    hmac_sha384: string;
    hmac_sha512: string;
  }[];
}
const rfc4231 = loadVectors<Rfc4231File>('rfc4231-hmac-sha2.json').cases;
const RFC4231_PRFS = [
  ['hmac_sha256', PrfId.PRF_HMAC_SHA2_256],
  ['hmac_sha384', PrfId.PRF_HMAC_SHA2_384],
  ['hmac_sha512', PrfId.PRF_HMAC_SHA2_512],
] as const;

function prfMatches(prfId: number, key: Buffer, data: Buffer, expected: Buffer): boolean {
  const out = createPrf(prfId).compute(key, data);
  return out.subarray(0, expected.length).equals(expected);
}

describe('rfc4231-hmac-sha2.json', () => {
  it('all 7 cases x 3 hashes through PRF_HMAC_SHA2_256/384/512 (case 5 compared truncated)', () => {
    assert.equal(rfc4231.length, 7);
    for (const v of rfc4231) {
      for (const [field, prfId] of RFC4231_PRFS) {
        const expected = hex(v[field]);
        const out = createPrf(prfId).compute(hex(v.key), hex(v.data));
        assert.equal(out.length, createPrf(prfId).outputLength);
        if (v.truncate_to_bytes === null) assert.deepEqual(out, expected, `case ${v.test_case} ${field}`);
        else assert.deepEqual(out.subarray(0, v.truncate_to_bytes), expected.subarray(0, v.truncate_to_bytes));
      }
    }
  });
  it('one changed input byte changes the result', () => {
    for (const v of rfc4231) {
      for (const [field, prfId] of RFC4231_PRFS) {
        const expected = hex(v[field]).subarray(0, v.truncate_to_bytes ?? undefined);
        assert.equal(prfMatches(prfId, flipByte(hex(v.key)), hex(v.data), expected), false);
        assert.equal(prfMatches(prfId, hex(v.key), flipByte(hex(v.data)), expected), false);
      }
    }
  });
});

// RFC 4868 --------------------------------------------------------------------------------------------------------

interface Rfc4868File {
  cases: {
    test_case: string;
    transform: string;
    key: string;
    data: string;
    prf_full_output: string;
    icv: string;
    icv_length: number;
  }[];
}
const rfc4868 = loadVectors<Rfc4868File>('rfc4868-hmac-sha2-auth.json').cases;
const RFC4868_INTEG: Readonly<Record<string, number>> = {
  AUTH_HMAC_SHA2_256_128: IntegId.AUTH_HMAC_SHA2_256_128,
  AUTH_HMAC_SHA2_384_192: IntegId.AUTH_HMAC_SHA2_384_192,
  AUTH_HMAC_SHA2_512_256: IntegId.AUTH_HMAC_SHA2_512_256,
};

describe('rfc4868-hmac-sha2-auth.json', () => {
  it(`all 12 AUTH cases: truncated ICV (and its length) from the full HMAC (${backendNames})`, () => {
    assert.equal(rfc4868.length, 12);
    for (const v of rfc4868) {
      const integId = RFC4868_INTEG[v.transform] ?? -1;
      assert.equal(createIntegrity(integId, hex(v.key)).icvLength, v.icv_length, v.test_case);
      assert.deepEqual(hex(v.icv), hex(v.prf_full_output).subarray(0, v.icv_length), v.test_case);
      checkIcv(v.test_case, integId, hex(v.key), hex(v.data), hex(v.icv));
    }
  });
  it('one changed input byte changes the result', () => {
    for (const v of rfc4868) {
      checkIcvMutations(v.test_case, RFC4868_INTEG[v.transform] ?? -1, hex(v.key), hex(v.data), hex(v.icv));
    }
  });
});

// RFC 3566 / RFC 4434 --------------------------------------------------------------------------------------------

interface XcbcFile {
  mac_cases: { description: string; key: string; message: string; aes_xcbc_mac_128: string; aes_xcbc_mac_96: string }[];
  prf_cases: { description: string; key: string; key_length: number; message: string; aes_xcbc_prf_128: string }[];
}
const xcbc = loadVectors<XcbcFile>('rfc3566-rfc4434-aes-xcbc.json');

describe('rfc3566-rfc4434-aes-xcbc.json', () => {
  it('RFC 3566 cases 1-7: AUTH_AES_XCBC_96, and the full 128-bit MAC through PRF_AES128_XCBC', () => {
    assert.equal(xcbc.mac_cases.length, 7);
    for (const v of xcbc.mac_cases) {
      checkIcv(v.description, IntegId.AUTH_AES_XCBC_96, hex(v.key), hex(v.message), hex(v.aes_xcbc_mac_96));
      assert.deepEqual(createPrf(PrfId.PRF_AES128_XCBC).compute(hex(v.key), hex(v.message)), hex(v.aes_xcbc_mac_128));
    }
  });
  it('RFC 4434 cases: 16, 10 (zero-padded) and 18-byte (XCBC-reduced) PRF keys', () => {
    assert.deepEqual(
      xcbc.prf_cases.map((v) => v.key_length),
      [16, 10, 18],
    );
    for (const v of xcbc.prf_cases) {
      assert.equal(hex(v.key).length, v.key_length);
      const out = createPrf(PrfId.PRF_AES128_XCBC).compute(hex(v.key), hex(v.message));
      assert.deepEqual(out, hex(v.aes_xcbc_prf_128), v.description);
    }
  });
  it('one changed input byte changes the result', () => {
    for (const v of xcbc.mac_cases) {
      checkIcvMutations(v.description, IntegId.AUTH_AES_XCBC_96, hex(v.key), hex(v.message), hex(v.aes_xcbc_mac_96));
    }
    for (const v of xcbc.prf_cases) {
      const prf = createPrf(PrfId.PRF_AES128_XCBC);
      assert.notDeepEqual(prf.compute(flipByte(hex(v.key)), hex(v.message)), hex(v.aes_xcbc_prf_128));
      assert.notDeepEqual(
        prf.compute(flipByte(hex(v.key), hex(v.key).length - 1), hex(v.message)),
        hex(v.aes_xcbc_prf_128),
      );
      assert.notDeepEqual(prf.compute(hex(v.key), flipByte(hex(v.message))), hex(v.aes_xcbc_prf_128));
    }
  });
});

// RFC 4493 / RFC 4494 / RFC 4615 -----------------------------------------------------------------------------------

interface CmacFile {
  cases: { name: string; transform: string; key: string; key_length: number; message: string; output: string }[];
}
const cmac = loadVectors<CmacFile>('rfc4493-rfc4615-aes-cmac.json').cases;

function cmacResult(transform: string, key: Buffer, message: Buffer): Buffer {
  return transform === 'AUTH_AES_CMAC_96'
    ? icvOf(IntegId.AUTH_AES_CMAC_96, key, message)
    : createPrf(PrfId.PRF_AES128_CMAC).compute(key, message);
}

describe('rfc4493-rfc4615-aes-cmac.json', () => {
  it('all 11 cases: RFC 4493 examples and RFC 4615 keys through PRF_AES128_CMAC, RFC 4494 through AUTH_AES_CMAC_96', () => {
    assert.equal(cmac.length, 11);
    assert.equal(cmac.filter((v) => v.transform === 'AUTH_AES_CMAC_96').length, 4);
    for (const v of cmac) {
      assert.equal(hex(v.key).length, v.key_length);
      assert.deepEqual(cmacResult(v.transform, hex(v.key), hex(v.message)), hex(v.output), v.name);
      if (v.transform === 'AUTH_AES_CMAC_96') {
        checkIcv(v.name, IntegId.AUTH_AES_CMAC_96, hex(v.key), hex(v.message), hex(v.output));
      }
    }
  });
  it('one changed input byte changes the result', () => {
    for (const v of cmac) {
      assert.notDeepEqual(cmacResult(v.transform, flipByte(hex(v.key)), hex(v.message)), hex(v.output), v.name);
      if (v.message.length > 0) {
        assert.notDeepEqual(cmacResult(v.transform, hex(v.key), flipByte(hex(v.message))), hex(v.output), v.name);
      }
    }
  });
});
