import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProposal } from '../../src/ike/proposals.js';
import { EncrId, IntegId } from '../../src/crypto/ids.js';

test("'aesNNNgmac' is AUTH_AES_NNN_GMAC in AH proposals and ENCR_NULL_AUTH_AES_GMAC in ESP ones", () => {
  assert.deepEqual(parseProposal('aes128gmac', 'ah')[0]?.integ, [IntegId.AUTH_AES_128_GMAC]);
  assert.deepEqual(parseProposal('aes256gmac-esn', 'ah')[0]?.integ, [IntegId.AUTH_AES_256_GMAC]);
  assert.deepEqual(parseProposal('aes192gmac', 'esp')[0]?.encr, [
    { id: EncrId.ENCR_NULL_AUTH_AES_GMAC, keyLengthBits: 192 },
  ]);
  assert.throws(() => parseProposal('aes128gcm16', 'ah'), /not allowed in an ah proposal/);
});
