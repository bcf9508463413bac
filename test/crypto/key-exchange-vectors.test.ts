/**
 * Key exchange known answers: RFC 5903 8 (groups 19-21), RFC 7748 6 / RFC 8031 (31, 32), RFC 5114 ECP data
 * (25, 26, 19-21), brainpool (27-30) and the MODP groups 1, 2, 5, 14-18 and RFC 5114 22-24.
 * Both sides are rebuilt from their private values; public values and g^ir must match byte for byte.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createKeyExchangeFromPrivateKey, groupInfo } from '../../src/crypto/index.js';
import { hex, loadVectors } from '../helpers/vectors.js';
import { assertDiffersOrRejected, flipByte } from './helpers.js';

interface DhCase {
  readonly label: string;
  readonly group: number;
  readonly privI: Buffer;
  readonly privR: Buffer;
  readonly pubI: Buffer;
  readonly pubR: Buffer;
  readonly shared: Buffer;
}

const WEAK_OK = { allowWeak: true } as const;

function checkCase(c: DhCase): void {
  const i = createKeyExchangeFromPrivateKey(c.group, c.privI, WEAK_OK);
  const r = createKeyExchangeFromPrivateKey(c.group, c.privR, WEAK_OK);
  assert.equal(i.group, c.group);
  assert.equal(i.publicKey.length, groupInfo[c.group]?.publicLength, `${c.label}: KE data length`);
  assert.deepEqual(i.publicKey, c.pubI, `${c.label}: initiator public value`);
  assert.deepEqual(r.publicKey, c.pubR, `${c.label}: responder public value`);
  assert.deepEqual(i.computeSharedSecret(c.pubR), c.shared, `${c.label}: g^ir at the initiator`);
  assert.deepEqual(r.computeSharedSecret(c.pubI), c.shared, `${c.label}: g^ir at the responder`);
  assert.equal(c.shared.length, groupInfo[c.group]?.sharedLength, `${c.label}: g^ir length`);
}

function checkMutations(c: DhCase): void {
  const i2 = createKeyExchangeFromPrivateKey(c.group, flipByte(c.privI), WEAK_OK);
  assert.notDeepEqual(i2.publicKey, c.pubI, `${c.label}: private byte changes the public value`);
  const i = createKeyExchangeFromPrivateKey(c.group, c.privI, WEAK_OK);
  assertDiffersOrRejected(() => i.computeSharedSecret(flipByte(c.pubR)), c.shared, `${c.label}: peer value byte`);
  assertDiffersOrRejected(() => i2.computeSharedSecret(c.pubR), c.shared, `${c.label}: private byte`);
}

function suite(file: string, cases: readonly DhCase[], count: number): void {
  describe(file, () => {
    it(`all ${count} cases: public values and g^ir from both sides`, () => {
      assert.equal(cases.length, count);
      for (const c of cases) checkCase(c);
    });
    it('one changed input byte changes the result', () => {
      for (const c of cases) checkMutations(c);
    });
  });
}

interface GenericFile {
  cases: {
    name: string;
    ikev2_group: number;
    priv_i: string;
    priv_r: string;
    pub_i: string;
    pub_r: string;
    shared: string;
  }[];
}
function generic(file: string): DhCase[] {
  return loadVectors<GenericFile>(file).cases.map((v) => ({
    label: `${v.name} (group ${v.ikev2_group})`,
    group: v.ikev2_group,
    privI: hex(v.priv_i),
    privR: hex(v.priv_r),
    pubI: hex(v.pub_i),
    pubR: hex(v.pub_r),
    shared: hex(v.shared),
  }));
}

interface Rfc5903File {
  cases: {
    curve: string;
    ikev2_group: number;
    i: string;
    r: string;
    gix: string;
    giy: string;
    grx: string;
    gry: string;
    girx: string;
    ke_payload_data_initiator: string;
    ke_payload_data_responder: string;
    shared_secret_g_ir: string;
  }[];
}
const rfc5903: DhCase[] = loadVectors<Rfc5903File>('rfc5903-ecp.json').cases.map((v) => {
  // RFC 5903 7: the KE payload is x || y; 9: g^ir is the x coordinate.
  assert.deepEqual(hex(v.ke_payload_data_initiator), Buffer.concat([hex(v.gix), hex(v.giy)]));
  assert.deepEqual(hex(v.ke_payload_data_responder), Buffer.concat([hex(v.grx), hex(v.gry)]));
  assert.deepEqual(hex(v.shared_secret_g_ir), hex(v.girx));
  return {
    label: `RFC 5903 ${v.curve}`,
    group: v.ikev2_group,
    privI: hex(v.i),
    privR: hex(v.r),
    pubI: hex(v.ke_payload_data_initiator),
    pubR: hex(v.ke_payload_data_responder),
    shared: hex(v.shared_secret_g_ir),
  };
});

interface ModpFile {
  cases: {
    name: string;
    ikev2_group: number;
    x_i: string;
    x_r: string;
    pub_i: string;
    pub_r: string;
    shared: string;
  }[];
}
const modp: DhCase[] = loadVectors<ModpFile>('modp-dh.json').cases.map((v) => ({
  label: `${v.name} (group ${v.ikev2_group})`,
  group: v.ikev2_group,
  privI: hex(v.x_i),
  privR: hex(v.x_r),
  pubI: hex(v.pub_i),
  pubR: hex(v.pub_r),
  shared: hex(v.shared),
}));

suite('rfc5903-ecp.json', rfc5903, 3);
suite('rfc7748-rfc8031-curve25519-448.json', generic('rfc7748-rfc8031-curve25519-448.json'), 3);
suite('rfc5114-ecp.json', generic('rfc5114-ecp.json'), 5);
suite('brainpool-ecp.json', generic('brainpool-ecp.json'), 4);
suite('modp-dh.json', modp, 11);
