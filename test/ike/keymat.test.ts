/**
 * Key material wiring (RFC 7296 2.13-2.18) against the NIST CAVP SP 800-135 IKEv2 KDF sample cases
 * (test/vectors/cavp-ikev2-kdf.json), and one IKE_SA whose AUTH and CHILD_SA keys are recomputed by hand
 * with node:crypto HMAC.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createPrf } from '../../src/crypto/index.js';
import { EncrId, IntegId, PrfId } from '../../src/crypto/ids.js';
import { PayloadType } from '../../src/ike/codec/constants.js';
import {
  computeRekeySkeyseed,
  computeSkeyseed,
  deriveChildKeys,
  deriveIkeKeys,
  encrLength,
  integLength,
  pskAuth,
} from '../../src/ike/keymat.js';
import type { SelectedProposal } from '../../src/ike/proposals.js';
import { createSkCrypter } from '../../src/ike/protection/sk-crypter.js';
import { hex, loadVectors } from '../helpers/vectors.js';
import { PSK, Pair } from './exchange-helper.js';

interface CavpCase {
  group: number;
  prf: keyof typeof PrfId;
  count: number;
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
}

const INTEG_OF: Record<string, number> = {
  PRF_HMAC_SHA1: IntegId.AUTH_HMAC_SHA1_96,
  PRF_HMAC_SHA2_256: IntegId.AUTH_HMAC_SHA2_256_128,
  PRF_HMAC_SHA2_384: IntegId.AUTH_HMAC_SHA2_384_192,
  PRF_HMAC_SHA2_512: IntegId.AUTH_HMAC_SHA2_512_256,
};

/** The richest proposal whose keys fit into `bytes` of DKM (so every key is checked against the vector). */
function fitting(prfId: number, prfName: string, bytes: number, child: boolean): SelectedProposal {
  const candidates: SelectedProposal[] = [
    {
      protocol: 'esp',
      number: 1,
      spi: Buffer.alloc(4),
      encr: { id: EncrId.ENCR_AES_CBC, keyLengthBits: 256 },
      integ: INTEG_OF[prfName] ?? 0,
      ke: 0,
    },
    {
      protocol: 'esp',
      number: 1,
      spi: Buffer.alloc(4),
      encr: { id: EncrId.ENCR_AES_GCM_16, keyLengthBits: 128 },
      ke: 0,
    },
    { protocol: 'esp', number: 1, spi: Buffer.alloc(4), encr: { id: EncrId.ENCR_AES_CBC, keyLengthBits: 128 }, ke: 0 },
  ];
  const prfLen = createPrf(prfId).keyLength;
  for (const c of candidates) {
    const s: SelectedProposal = child ? c : { ...c, protocol: 'ike', prf: prfId };
    const need = child
      ? 2 * (encrLength(s.encr) + integLength(s.integ))
      : 3 * prfLen + 2 * integLength(s.integ) + 2 * encrLength(s.encr);
    if (need <= bytes) return s;
  }
  // SHA-384/512 with a 1056-bit DKM: no key set fits; compare the prefix the vector has.
  const last = candidates[0] as SelectedProposal;
  return child ? last : { ...last, protocol: 'ike', prf: prfId };
}

const vectors = loadVectors<{ sample_cases: CavpCase[] }>('cavp-ikev2-kdf.json');

test(`CAVP IKEv2 KDF: SKEYSEED, SK_* split, CHILD_SA KEYMAT (with and without PFS), rekey SKEYSEED (${vectors.sample_cases.length} cases)`, () => {
  assert.equal(vectors.sample_cases.length, 45);
  for (const v of vectors.sample_cases) {
    const prfId = PrfId[v.prf];
    const prf = createPrf(prfId);
    const label = `group ${v.group} count ${v.count}`;
    const ni = hex(v.ni);
    const nr = hex(v.nr);
    const skeyseed = computeSkeyseed(prf, prfId, ni, nr, hex(v.g_ir));
    assert.equal(skeyseed.toString('hex'), v.skeyseed, label);

    const dkm = hex(v.dkm);
    const ike = fitting(prfId, v.prf, dkm.length, false);
    const k = deriveIkeKeys(prf, ike, skeyseed, ni, nr, hex(v.spi_i), hex(v.spi_r));
    const all = Buffer.concat([k.skD, k.skAi, k.skAr, k.skEi, k.skEr, k.skPi, k.skPr]);
    const n = Math.min(all.length, dkm.length);
    assert.ok(n >= 96, label);
    assert.equal(all.subarray(0, n).toString('hex'), dkm.subarray(0, n).toString('hex'), label);
    assert.equal(k.skD.length, prf.keyLength);

    const childDkm = hex(v.dkm_child_sa);
    const esp = fitting(prfId, v.prf, childDkm.length, true);
    const c = deriveChildKeys(prf, k.skD, esp, ni, nr);
    const cAll = Buffer.concat([c.i.encr, c.i.integ, c.r.encr, c.r.integ]);
    assert.equal(cAll.toString('hex'), childDkm.subarray(0, cAll.length).toString('hex'), label);

    const cDh = deriveChildKeys(prf, k.skD, esp, ni, nr, hex(v.g_ir_new));
    const dAll = Buffer.concat([cDh.i.encr, cDh.i.integ, cDh.r.encr, cDh.r.integ]);
    assert.equal(dAll.toString('hex'), hex(v.dkm_child_sa_dh).subarray(0, dAll.length).toString('hex'), label);

    const rekey = computeRekeySkeyseed(prf, k.skD, hex(v.g_ir_new), ni, nr);
    assert.equal(rekey.toString('hex'), v.skeyseed_rekey, label);
  }
});

function hmac(key: Uint8Array, ...data: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
}

/** prf+ by hand (RFC 7296 2.13). */
function prfPlusByHand(key: Uint8Array, seed: Uint8Array, len: number): Buffer {
  const out: Buffer[] = [];
  let t: Buffer = Buffer.alloc(0);
  for (let n = 1; Buffer.concat(out).length < len; n++) {
    t = hmac(key, t, seed, Buffer.from([n]));
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, len);
}

test('by hand: the initiator AUTH (RFC 7296 2.15) and the first CHILD_SA keys (2.17) recomputed with HMAC-SHA-256', () => {
  const p = new Pair();
  p.initiate();
  p.deliver('i');
  p.deliver('r');
  const authMsg = p.take('i');
  const sa = p.i.ikeSas()[0];
  assert.ok(sa?.keys && sa.idI);
  // Open the IKE_AUTH request with SK_ei (AES-GCM-16-128: key || salt) and read AUTH.
  const opened = createSkCrypter(
    { encrId: EncrId.ENCR_AES_GCM_16, skE: sa.keys.skEi },
    { fill: () => {}, bytes: (n) => Buffer.alloc(n) },
  ).open(authMsg.bytes);
  assert.ok(opened.ok);
  const auth = opened.payloads.find((x) => x.type === PayloadType.AUTH);
  assert.ok(auth && auth.type === PayloadType.AUTH);
  // InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, IDType | RESERVED | IDi data)
  const restOfId = Buffer.concat([Buffer.from([sa.idI.type, 0, 0, 0]), sa.idI.data]);
  const octets = Buffer.concat([sa.initRequest, sa.nonceR, hmac(sa.keys.skPi, restOfId)]);
  const expected = hmac(hmac(PSK, Buffer.from('Key Pad for IKEv2')), octets);
  assert.equal(auth.data.toString('hex'), expected.toString('hex'));
  assert.deepEqual(pskAuth(createPrf(PrfId.PRF_HMAC_SHA2_256), PSK, octets), expected);

  p.deliverDatagram(authMsg);
  p.run();
  const [ci] = p.events('i', 'childSaInstalled');
  assert.ok(ci);
  // KEYMAT = prf+(SK_d, Ni | Nr): initiator->responder encr (20), then responder->initiator encr (20).
  const km = prfPlusByHand(sa.keys.skD, Buffer.concat([sa.nonceI, sa.nonceR]), 40);
  assert.equal(ci.child.keysOut.encr.toString('hex'), km.subarray(0, 20).toString('hex'));
  assert.equal(ci.child.keysIn.encr.toString('hex'), km.subarray(20, 40).toString('hex'));
});
