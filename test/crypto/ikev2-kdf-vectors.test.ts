/**
 * IKEv2 key derivation (RFC 7296 2.13, 2.14, 2.17, 2.18) against NIST CAVP SP 800-135 "IKE v2": the JSON sample,
 * the 13 strongSwan prf/prf+ vectors, and all 900 cases of the CAVS response file.
 *   SKEYSEED          = prf(Ni | Nr, g^ir)
 *   DKM               = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr), SK_d = its first prf-length bytes
 *   DKM(Child SA)     = prf+(SK_d, Ni | Nr)
 *   DKM(Child SA D-H) = prf+(SK_d, g^ir(new) | Ni | Nr)
 *   SKEYSEED(Rekey)   = prf(SK_d, g^ir(new) | Ni | Nr)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PrfId, createPrf, prfPlus } from '../../src/crypto/index.js';
import type { Prf } from '../../src/crypto/index.js';
import { hex, loadVectors, vectorPath } from '../helpers/vectors.js';
import { flipByte } from './helpers.js';

interface KdfCase {
  readonly label: string;
  readonly prfId: number;
  readonly ni: Buffer;
  readonly nr: Buffer;
  readonly gIr: Buffer;
  readonly gIrNew: Buffer;
  readonly spiI: Buffer;
  readonly spiR: Buffer;
  readonly skeyseed: Buffer;
  readonly dkm: Buffer;
  readonly dkmChildSa: Buffer;
  readonly dkmChildSaDh: Buffer;
  readonly skeyseedRekey: Buffer;
}

interface KdfResult {
  skeyseed: Buffer;
  dkm: Buffer;
  dkmChildSa: Buffer;
  dkmChildSaDh: Buffer;
  skeyseedRekey: Buffer;
}

function derive(prf: Prf, c: KdfCase): KdfResult {
  const nonces = Buffer.concat([c.ni, c.nr]);
  const skeyseed = prf.compute(nonces, c.gIr);
  const dkm = prfPlus(prf, skeyseed, Buffer.concat([nonces, c.spiI, c.spiR]), c.dkm.length);
  const skD = dkm.subarray(0, prf.outputLength);
  return {
    skeyseed,
    dkm,
    dkmChildSa: prfPlus(prf, skD, nonces, c.dkmChildSa.length),
    dkmChildSaDh: prfPlus(prf, skD, Buffer.concat([c.gIrNew, nonces]), c.dkmChildSaDh.length),
    skeyseedRekey: prf.compute(skD, Buffer.concat([c.gIrNew, nonces])),
  };
}

function checkCase(prf: Prf, c: KdfCase): void {
  const r = derive(prf, c);
  assert.deepEqual(r.skeyseed, c.skeyseed, `${c.label}: SKEYSEED`);
  assert.deepEqual(r.dkm, c.dkm, `${c.label}: DKM`);
  assert.deepEqual(r.dkmChildSa, c.dkmChildSa, `${c.label}: DKM(Child SA)`);
  assert.deepEqual(r.dkmChildSaDh, c.dkmChildSaDh, `${c.label}: DKM(Child SA D-H)`);
  assert.deepEqual(r.skeyseedRekey, c.skeyseedRekey, `${c.label}: SKEYSEED(Rekey)`);
}

/** Each input changes every output it feeds. */
function checkMutations(prf: Prf, c: KdfCase): void {
  const base = derive(prf, c);
  const differs = (m: Partial<KdfCase>, outputs: readonly (keyof KdfResult)[]): void => {
    const r = derive(prf, { ...c, ...m });
    for (const o of outputs) assert.notDeepEqual(r[o], base[o], `${c.label}: ${Object.keys(m).join()} -> ${o}`);
  };
  const all = ['skeyseed', 'dkm', 'dkmChildSa', 'dkmChildSaDh', 'skeyseedRekey'] as const;
  differs({ ni: flipByte(c.ni) }, all);
  differs({ nr: flipByte(c.nr) }, all);
  differs({ gIr: flipByte(c.gIr) }, all);
  differs({ spiI: flipByte(c.spiI) }, ['dkm', 'dkmChildSa', 'dkmChildSaDh', 'skeyseedRekey']);
  differs({ spiR: flipByte(c.spiR) }, ['dkm', 'dkmChildSa', 'dkmChildSaDh', 'skeyseedRekey']);
  differs({ gIrNew: flipByte(c.gIrNew) }, ['dkmChildSaDh', 'skeyseedRekey']);
}

const PRF_BY_HASH: Readonly<Record<string, number>> = {
  'SHA-1': PrfId.PRF_HMAC_SHA1,
  'SHA-256': PrfId.PRF_HMAC_SHA2_256,
  'SHA-384': PrfId.PRF_HMAC_SHA2_384,
  'SHA-512': PrfId.PRF_HMAC_SHA2_512,
};

// The CAVS response file ---------------------------------------------------------------------------------------------

/** Parses the CAVS .fax layout: [bracketed] parameter lines, then `COUNT = n` blocks of `name = hex` lines. */
function parseFax(text: string): { hash: string; params: Record<string, string>; cases: KdfCase[] }[] {
  const groups: { hash: string; params: Record<string, string>; cases: KdfCase[] }[] = [];
  let params: Record<string, string> = {};
  let hash = '';
  let inHeader = false;
  let current: Record<string, string> | undefined;
  const flush = (): void => {
    const group = groups[groups.length - 1];
    if (current === undefined || group === undefined) return;
    const f = (k: string): Buffer => {
      const v = current?.[k];
      assert.ok(v !== undefined, `missing ${k} in COUNT ${current?.['COUNT']}`);
      return hex(v);
    };
    group.cases.push({
      label: `${hash} [g^ir ${params['g^ir length']}, Ni ${params['Ni length']}] COUNT ${current['COUNT']}`,
      prfId: PRF_BY_HASH[hash] ?? -1,
      ni: f('Ni'),
      nr: f('Nr'),
      gIr: f('g^ir'),
      gIrNew: f('g^ir (new)'),
      spiI: f('SPIi'),
      spiR: f('SPIr'),
      skeyseed: f('SKEYSEED'),
      dkm: f('DKM'),
      dkmChildSa: f('DKM(Child SA)'),
      dkmChildSaDh: f('DKM(Child SA D-H)'),
      skeyseedRekey: f('SKEYSEED(Rekey)'),
    });
    current = undefined;
  };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const bracket = /^\[(.*)\]$/.exec(line);
    if (bracket !== null) {
      flush();
      if (!inHeader) {
        params = {};
        groups.push({ hash: '', params, cases: [] });
        inHeader = true;
      }
      const inner = bracket[1] ?? '';
      const eq = inner.indexOf('=');
      if (eq < 0) {
        hash = inner.trim();
        const group = groups[groups.length - 1];
        if (group !== undefined) group.hash = hash;
      } else {
        params[inner.slice(0, eq).trim()] = inner.slice(eq + 1).trim();
      }
      continue;
    }
    inHeader = false;
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `unexpected line: ${line.slice(0, 40)}`);
    const name = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (name === 'COUNT') {
      flush();
      current = { COUNT: value };
    } else if (current !== undefined) {
      current[name] = value;
    }
  }
  flush();
  return groups;
}

const faxGroups = parseFax(readFileSync(vectorPath('files/cavp-kdf135-ikev2.fax'), 'latin1'));

describe('files/cavp-kdf135-ikev2.fax (NIST CAVS 17.3 IKEv2 KDF, 900 cases)', () => {
  it('parses into 9 parameter groups of 100 cases with the declared lengths', () => {
    assert.equal(faxGroups.length, 9);
    let total = 0;
    for (const g of faxGroups) {
      assert.equal(g.cases.length, 100, `${g.hash} ${JSON.stringify(g.params)}`);
      for (const c of g.cases) {
        assert.equal(c.gIr.length * 8, Number(g.params['g^ir length']));
        assert.equal(c.ni.length * 8, Number(g.params['Ni length']));
        assert.equal(c.nr.length * 8, Number(g.params['Nr length']));
        assert.equal(c.dkm.length * 8, Number(g.params['DKM length']));
        assert.equal(c.dkmChildSa.length * 8, Number(g.params['Child SA DKM length']));
        assert.equal(c.dkmChildSaDh.length, c.dkmChildSa.length);
      }
      total += g.cases.length;
    }
    assert.equal(total, 900);
  });

  for (const [hash, expectedCount] of [
    ['SHA-1', 300],
    ['SHA-256', 200],
    ['SHA-384', 200],
    ['SHA-512', 200],
  ] as const) {
    it(`${hash}: all ${expectedCount} cases (SKEYSEED, DKM, Child SA DKM, Child SA D-H DKM, rekey SKEYSEED)`, () => {
      const prf = createPrf(PRF_BY_HASH[hash] ?? -1);
      let n = 0;
      for (const g of faxGroups) {
        if (g.hash !== hash) continue;
        for (const c of g.cases) {
          checkCase(prf, c);
          n++;
        }
      }
      assert.equal(n, expectedCount);
    });
  }

  it('one changed input byte changes the results (first case of each group)', () => {
    for (const g of faxGroups) {
      const c = g.cases[0];
      assert.ok(c !== undefined);
      checkMutations(createPrf(c.prfId), c);
    }
  });
});

// The JSON sample and strongSwan's prf / prf+ vectors ------------------------------------------------------------

interface CavpJson {
  sample_cases: {
    group: number;
    count: number;
    hash: string;
    prf: string;
    ni: string;
    nr: string;
    g_ir: string;
    g_ir_new: string;
    spi_i: string;
    spi_r: string;
    skeyseed: string;
    dkm: string;
    dkm_child_sa: string;
    dkm_child_sa_dh: string;
    skeyseed_rekey: string;
  }[];
  strongswan_kdf_vectors: { name: string; kind: 'prf' | 'prf+'; prf: string; key: string; salt: string; out: string }[];
}
const cavpJson = loadVectors<CavpJson>('cavp-ikev2-kdf.json');
const PRF_BY_NAME: Readonly<Record<string, number>> = {
  PRF_HMAC_SHA1: PrfId.PRF_HMAC_SHA1,
  PRF_HMAC_SHA2_256: PrfId.PRF_HMAC_SHA2_256,
  PRF_HMAC_SHA2_384: PrfId.PRF_HMAC_SHA2_384,
  PRF_HMAC_SHA2_512: PrfId.PRF_HMAC_SHA2_512,
};
const sampleCases: KdfCase[] = cavpJson.sample_cases.map((v) => {
  assert.equal(PRF_BY_NAME[v.prf], PRF_BY_HASH[v.hash]);
  return {
    label: `sample group ${v.group} COUNT ${v.count}`,
    prfId: PRF_BY_NAME[v.prf] ?? -1,
    ni: hex(v.ni),
    nr: hex(v.nr),
    gIr: hex(v.g_ir),
    gIrNew: hex(v.g_ir_new),
    spiI: hex(v.spi_i),
    spiR: hex(v.spi_r),
    skeyseed: hex(v.skeyseed),
    dkm: hex(v.dkm),
    dkmChildSa: hex(v.dkm_child_sa),
    dkmChildSaDh: hex(v.dkm_child_sa_dh),
    skeyseedRekey: hex(v.skeyseed_rekey),
  };
});

/** strongSwan's form: prf(key = salt, data = key) for SKEYSEED-style vectors; prf+(key, salt) for the others. */
function strongswanResult(v: CavpJson['strongswan_kdf_vectors'][number], key: Buffer, salt: Buffer): Buffer {
  const prf = createPrf(PRF_BY_NAME[v.prf] ?? -1);
  return v.kind === 'prf' ? prf.compute(salt, key) : prfPlus(prf, key, salt, hex(v.out).length);
}

describe('cavp-ikev2-kdf.json', () => {
  it('all 45 sample cases', () => {
    assert.equal(sampleCases.length, 45);
    for (const c of sampleCases) checkCase(createPrf(c.prfId), c);
  });
  it('all 13 strongSwan prf / prf+ vectors', () => {
    assert.equal(cavpJson.strongswan_kdf_vectors.length, 13);
    for (const v of cavpJson.strongswan_kdf_vectors) {
      assert.deepEqual(strongswanResult(v, hex(v.key), hex(v.salt)), hex(v.out), v.name);
    }
  });
  it('one changed input byte changes the result', () => {
    for (const c of sampleCases) checkMutations(createPrf(c.prfId), c);
    for (const v of cavpJson.strongswan_kdf_vectors) {
      assert.notDeepEqual(strongswanResult(v, flipByte(hex(v.key)), hex(v.salt)), hex(v.out), v.name);
      assert.notDeepEqual(strongswanResult(v, hex(v.key), flipByte(hex(v.salt))), hex(v.out), v.name);
    }
  });
});
