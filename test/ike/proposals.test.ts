/** strongSwan proposal strings -> proposals, and selection (RFC 7296 2.7, 3.3.6). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncrId, EsnId, IntegId, KeGroup, PrfId } from '../../src/crypto/ids.js';
import {
  decodeSa,
  encodeSa,
  parseProposal,
  parseProposals,
  ProposalError,
  selectProposal,
} from '../../src/ike/proposals.js';

test('IKE proposal strings', () => {
  const [a] = parseProposal('aes128gcm16-prfsha256-x25519', 'ike');
  assert.deepEqual(a?.encr, [{ id: EncrId.ENCR_AES_GCM_16, keyLengthBits: 128 }]);
  assert.deepEqual(a?.prf, [PrfId.PRF_HMAC_SHA2_256]);
  assert.deepEqual(a?.integ, []);
  assert.deepEqual(a?.ke, [KeGroup.CURVE25519]);
  const [b] = parseProposal('aes256-sha384-ecp384', 'ike');
  assert.deepEqual(b?.encr, [{ id: EncrId.ENCR_AES_CBC, keyLengthBits: 256 }]);
  assert.deepEqual(b?.integ, [IntegId.AUTH_HMAC_SHA2_384_192]);
  assert.deepEqual(b?.prf, [PrfId.PRF_HMAC_SHA2_384], 'PRF derived from the integrity algorithm like strongSwan');
  assert.deepEqual(b?.ke, [KeGroup.ECP_384]);
  const [c] = parseProposal('chacha20poly1305-prfsha256-x25519', 'ike');
  assert.deepEqual(c?.encr, [{ id: EncrId.ENCR_CHACHA20_POLY1305 }]);
  const [d] = parseProposal('aes128-sha256-modp3072', 'ike');
  assert.deepEqual(d?.ke, [KeGroup.MODP_3072]);
  assert.ok(parseProposal('default', 'ike').length >= 2);
});

test('ESP and AH proposal strings: ESN, PFS group, defaults', () => {
  const [a] = parseProposal('aes128gcm16', 'esp');
  assert.deepEqual(a?.esn, [EsnId.NO_ESN]);
  assert.deepEqual(a?.ke, []);
  const [b] = parseProposal('aes256-sha512', 'esp');
  assert.deepEqual(b?.integ, [IntegId.AUTH_HMAC_SHA2_512_256]);
  const [c] = parseProposal('aes128-sha256-esn', 'esp');
  assert.deepEqual(c?.esn, [EsnId.ESN]);
  const [d] = parseProposal('aes128-sha256-noesn-modp3072', 'esp');
  assert.deepEqual(d?.esn, [EsnId.NO_ESN]);
  assert.deepEqual(d?.ke, [KeGroup.MODP_3072]);
  const [e] = parseProposal('sha256', 'ah');
  assert.deepEqual(e?.integ, [IntegId.AUTH_HMAC_SHA2_256_128]);
  assert.deepEqual(e?.encr, []);
  const nums = parseProposals(['aes128gcm16', 'aes128-sha256'], 'esp').map((p) => p.number);
  assert.deepEqual(nums, [1, 2]);
});

test('errors name the keyword', () => {
  assert.throws(
    () => parseProposal('aes128-sha256-modp9999', 'ike'),
    (e: unknown) => e instanceof ProposalError && /'modp9999'/.test(e.message),
  );
  assert.throws(() => parseProposal('aes128gcm16-x25519', 'ike'), /needs a prf/);
  assert.throws(() => parseProposal('aes128gcm16-sha256', 'esp'), /AEAD/);
  assert.throws(() => parseProposal('aes128-prfsha256', 'esp'), /'prfsha256' is not allowed/);
  assert.throws(() => parseProposal('aes128-sha256', 'ah'), /'aes128' is not allowed/);
  assert.throws(() => parseProposal('esn-aes128-sha256-x25519', 'ike'), /'esn'/);
  assert.throws(() => parseProposal('aes128--sha256', 'esp'), /empty keyword/);
});

test('selection: our order wins by default (prefer_configured_proposals), the peer order on request', () => {
  const ours = parseProposals(['aes256gcm16-prfsha384-ecp384', 'aes128gcm16-prfsha256-x25519'], 'ike');
  const theirs = parseProposals(['aes128gcm16-prfsha256-x25519', 'aes256gcm16-prfsha384-ecp384'], 'ike');
  const s = selectProposal(ours, theirs);
  assert.equal(s?.encr?.keyLengthBits, 256);
  assert.equal(s?.number, 2, "the peer's proposal number is echoed");
  const t = selectProposal(ours, theirs, true);
  assert.equal(t?.encr?.keyLengthBits, 128);
  assert.equal(t?.number, 1);
  // Within one proposal: first algorithm of ours that the peer also lists.
  const u = selectProposal(
    parseProposals(['aes128-aes256-sha256-sha512-ecp256-x25519'], 'ike'),
    parseProposals(['aes256-aes128-sha512-sha256-x25519-ecp256'], 'ike'),
  );
  assert.deepEqual([u?.encr?.keyLengthBits, u?.integ, u?.ke], [128, IntegId.AUTH_HMAC_SHA2_256_128, KeGroup.ECP_256]);
  // No match.
  assert.equal(
    selectProposal(parseProposals(['aes128-sha256-x25519'], 'ike'), parseProposals(['aes128-sha256-ecp256'], 'ike')),
    undefined,
  );
  // Key length must match too.
  assert.equal(
    selectProposal(parseProposals(['aes128gcm16'], 'esp'), parseProposals(['aes256gcm16'], 'esp')),
    undefined,
  );
});

test('SA payload round trip and unknown attributes are never selected', () => {
  const props = parseProposals(['aes128gcm16-aes256gcm16-prfsha256-x25519'], 'ike');
  const back = decodeSa(encodeSa(props));
  assert.deepEqual(back, props);
  const sa = encodeSa(props);
  const first = sa.proposals[0]?.transforms[0];
  assert.ok(first);
  first.unknownAttributes = [{ type: 99, tv: true, value: Buffer.from([0, 1]) }];
  const filtered = decodeSa(sa);
  assert.deepEqual(filtered[0]?.encr, [{ id: EncrId.ENCR_AES_GCM_16, keyLengthBits: 256 }]);
});
