import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExchangeType } from '../../src/ike/codec/constants.js';
import { EncrId } from '../../src/crypto/ids.js';
import { Pair, describe } from './exchange-helper.js';

test('establish: IKE_SA_INIT + IKE_AUTH with PSK and the first CHILD_SA', () => {
  const p = new Pair();
  p.initiate();
  // HDR, SAi1, KEi, Ni, N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP) -->
  const m1 = p.deliver('i');
  assert.equal(describe(m1).exchangeType, ExchangeType.IKE_SA_INIT);
  // <-- HDR, SAr1, KEr, Nr, N(NAT_DETECTION_*)
  const m2 = p.deliver('r');
  assert.deepEqual(describe(m2), { exchangeType: ExchangeType.IKE_SA_INIT, messageId: 0, response: true });
  // HDR, SK { IDi, IDr, AUTH, N(INITIAL_CONTACT), SAi2, TSi, TSr } -->
  const m3 = p.deliver('i');
  assert.deepEqual(describe(m3), { exchangeType: ExchangeType.IKE_AUTH, messageId: 1, response: false });
  assert.equal(p.events('r', 'ikeSaEstablished').length, 1);
  // <-- HDR, SK { IDr, AUTH, SAr2, TSi, TSr }
  p.deliver('r');
  assert.equal(p.wire.length, 0);

  const [ei] = p.events('i', 'ikeSaEstablished');
  const [er] = p.events('r', 'ikeSaEstablished');
  assert.ok(ei && er);
  assert.equal(ei.localId, 'moon.example.org');
  assert.equal(ei.remoteId, 'sun.example.org');
  assert.equal(er.remoteId, 'moon.example.org');
  assert.deepEqual(ei.spiI, er.spiI);
  assert.deepEqual(ei.spiR, er.spiR);
  assert.equal(ei.natLocal || ei.natRemote, false);

  const [ci] = p.events('i', 'childSaInstalled');
  const [cr] = p.events('r', 'childSaInstalled');
  assert.ok(ci && cr);
  assert.equal(ci.child.spiIn, cr.child.spiOut);
  assert.equal(ci.child.spiOut, cr.child.spiIn);
  assert.equal(ci.child.encrId, EncrId.ENCR_AES_GCM_16);
  assert.equal(ci.child.encrKeyBits, 128);
  assert.equal(ci.child.keysOut.encr.length, 20); // 16-byte key + 4-byte salt (RFC 4106 8.1)
  assert.deepEqual(ci.child.keysOut, cr.child.keysIn);
  assert.deepEqual(ci.child.keysIn, cr.child.keysOut);
  assert.notDeepEqual(ci.child.keysIn.encr, ci.child.keysOut.encr);
  assert.equal(ci.child.mode, 'tunnel');
  assert.equal(ci.child.esn, false);
});
