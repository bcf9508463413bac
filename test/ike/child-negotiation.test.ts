/** CHILD_SA negotiation: TS narrowing (RFC 7296 2.9), TS_UNACCEPTABLE, modes, ESP/AH, ESN, childless (RFC 6023). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncrId, IntegId } from '../../src/crypto/ids.js';
import { NotifyType } from '../../src/ike/codec/constants.js';
import { formatTs } from '../../src/ike/traffic-selectors.js';
import { Pair } from './exchange-helper.js';

test('narrowing: the responder narrows TSi/TSr to its policy, the initiator accepts the subset', () => {
  const p = new Pair(
    { child: { localTs: ['198.51.100.0/24'], remoteTs: ['203.0.113.0/24'] } },
    { child: { localTs: ['203.0.113.64/26[tcp/443]'], remoteTs: ['198.51.100.0/26', '198.51.100.128/26'] } },
  );
  p.initiate();
  // HDR, SK { IDi, AUTH, SAi2, TSi(198.51.100.0/24), TSr(203.0.113.0/24) } -->
  // <-- HDR, SK { IDr, AUTH, SAr2, TSi(198.51.100.0/26, 198.51.100.128/26), TSr(203.0.113.64/26[6/443]) }
  p.run();
  const [ci] = p.events('i', 'childSaInstalled');
  const [cr] = p.events('r', 'childSaInstalled');
  assert.ok(ci && cr);
  assert.deepEqual(ci.child.tsLocal.map(formatTs), ['198.51.100.0/26', '198.51.100.128/26']);
  assert.deepEqual(ci.child.tsRemote.map(formatTs), ['203.0.113.64/26[6/443]']);
  assert.deepEqual(cr.child.tsRemote.map(formatTs), ['198.51.100.0/26', '198.51.100.128/26']);
  assert.deepEqual(cr.child.tsLocal.map(formatTs), ['203.0.113.64/26[6/443]']);
});

test('TS_UNACCEPTABLE: no overlap; the IKE_SA stands without a CHILD_SA', () => {
  const p = new Pair({}, { child: { remoteTs: ['192.0.2.0/24'] } });
  p.initiate();
  // <-- HDR, SK { IDr, AUTH, N(TS_UNACCEPTABLE) }
  p.run();
  assert.equal(p.events('i', 'ikeSaEstablished').length, 1);
  assert.equal(p.events('r', 'ikeSaEstablished').length, 1);
  const [f] = p.events('i', 'childSaFailed');
  assert.equal(f?.notifyType, NotifyType.TS_UNACCEPTABLE);
  assert.equal(p.events('i', 'childSaInstalled').length, 0);
  assert.equal(p.events('r', 'childSaInstalled').length, 0);
});

test('NO_PROPOSAL_CHOSEN for the CHILD_SA only', () => {
  const p = new Pair({ child: { proposals: ['aes256gcm16'] } }, { child: { proposals: ['aes128-sha256'] } });
  p.initiate();
  p.run();
  assert.equal(p.events('i', 'ikeSaEstablished').length, 1);
  assert.equal(p.events('i', 'childSaFailed')[0]?.notifyType, NotifyType.NO_PROPOSAL_CHOSEN);
});

test('transport mode (USE_TRANSPORT_MODE), ESN and AES-CBC/HMAC-SHA256 ESP', () => {
  const child = {
    mode: 'transport' as const,
    proposals: ['aes256-sha256-esn'],
    localTs: ['dynamic'],
    remoteTs: ['dynamic'],
  };
  const p = new Pair({ child }, { child });
  p.initiate();
  p.run();
  const [ci] = p.events('i', 'childSaInstalled');
  assert.ok(ci);
  assert.equal(ci.child.mode, 'transport');
  assert.equal(ci.child.esn, true);
  assert.equal(ci.child.encrId, EncrId.ENCR_AES_CBC);
  assert.equal(ci.child.encrKeyBits, 256);
  assert.equal(ci.child.integId, IntegId.AUTH_HMAC_SHA2_256_128);
  assert.equal(ci.child.keysOut.encr.length, 32);
  assert.equal(ci.child.keysOut.integ.length, 32);
  assert.deepEqual(ci.child.tsLocal.map(formatTs), ['192.0.2.1/32']);
  assert.deepEqual(ci.child.tsRemote.map(formatTs), ['198.51.100.1/32']);
});

test('tunnel mode when the responder is configured for tunnel; ESN refused falls back to no ESN', () => {
  const p = new Pair(
    { child: { mode: 'transport', proposals: ['aes128gcm16-esn-noesn'] } },
    { child: { proposals: ['aes128gcm16-noesn'] } },
  );
  p.initiate();
  p.run();
  const [ci] = p.events('i', 'childSaInstalled');
  assert.equal(ci?.child.mode, 'tunnel');
  assert.equal(ci?.child.esn, false);
});

test('AH CHILD_SA with HMAC-SHA-256', () => {
  const child = { protocol: 'ah' as const, proposals: ['sha256'] };
  const p = new Pair({ child }, { child });
  p.initiate();
  p.run();
  const [ci] = p.events('i', 'childSaInstalled');
  const [cr] = p.events('r', 'childSaInstalled');
  assert.ok(ci && cr);
  assert.equal(ci.child.protocol, 'ah');
  assert.equal(ci.child.encrId, 0);
  assert.equal(ci.child.integId, IntegId.AUTH_HMAC_SHA2_256_128);
  assert.equal(ci.child.keysOut.integ.length, 32);
  assert.equal(ci.child.keysOut.encr.length, 0);
  assert.deepEqual(ci.child.keysOut, cr.child.keysIn);
});

test('childless IKE_SA (RFC 6023), then a CHILD_SA with CREATE_CHILD_SA and PFS', () => {
  const child = { proposals: ['aes128gcm16-x25519'] };
  const p = new Pair({ conn: { childless: 'force' }, child }, { child });
  p.initiate();
  // HDR, SK { IDi, IDr, AUTH, N(INITIAL_CONTACT) } -->   (no SA, TSi, TSr)
  p.run();
  assert.equal(p.events('i', 'ikeSaEstablished').length, 1);
  assert.equal(p.events('i', 'childSaInstalled').length, 0);
  assert.equal(p.events('r', 'childSaInstalled').length, 0);
  const [e] = p.events('i', 'ikeSaEstablished');
  assert.ok(e);
  p.i.createChild(e.ikeSaId, 'net', p.nowMs);
  // HDR, SK { SA, Ni, KEi, TSi, TSr } -->
  // <-- HDR, SK { SA, Nr, KEr, TSi, TSr }
  p.run();
  const [ci] = p.events('i', 'childSaInstalled');
  const [cr] = p.events('r', 'childSaInstalled');
  assert.ok(ci && cr);
  assert.deepEqual(ci.child.keysOut, cr.child.keysIn);
});

test('PFS on one side only: CREATE_CHILD_SA gets NO_PROPOSAL_CHOSEN, the IKE_SA stays', () => {
  const p = new Pair({ child: { proposals: ['aes128gcm16'] } }, { child: { proposals: ['aes128gcm16-x25519'] } });
  p.initiate();
  p.run();
  // The first CHILD_SA in IKE_AUTH never does a key exchange: it comes up.
  const [c] = p.events('i', 'childSaInstalled');
  assert.ok(c);
  p.i.rekeyChild(c.child.id, p.nowMs);
  // HDR, SK { N(REKEY_SA), SA, Ni, TSi, TSr } -->   <-- HDR, SK { N(NO_PROPOSAL_CHOSEN) }
  p.run();
  assert.equal(p.events('i', 'childSaFailed')[0]?.notifyType, NotifyType.NO_PROPOSAL_CHOSEN);
  assert.equal(p.i.ikeSas()[0]?.children.length, 1, 'the old CHILD_SA stays');
  assert.equal(p.i.ikeSas()[0]?.children[0]?.state, 'INSTALLED');
});
