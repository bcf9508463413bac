/** IKE_AUTH: wrong PSK (RFC 7296 2.15, 2.21.2), identities of every supported type, INITIAL_CONTACT (2.4). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExchangeType, NotifyType } from '../../src/ike/codec/constants.js';
import type { IkeIdentity } from '../../src/ike/config.js';
import { createLineLogger } from '../../src/common/log.js';
import { PSK, Pair, describe } from './exchange-helper.js';

test('wrong PSK: AUTHENTICATION_FAILED, no CHILD_SA on either side', () => {
  const p = new Pair({ psk: Buffer.from('not the right secret') });
  p.initiate();
  p.deliver('i');
  p.deliver('r');
  // HDR, SK { IDi, IDr, AUTH(wrong), SAi2, TSi, TSr } -->
  p.deliver('i');
  const [rej] = p.events('r', 'authFailed');
  assert.equal(rej?.byUs, true);
  // <-- HDR, SK { N(AUTHENTICATION_FAILED) }
  p.deliver('r');
  const [f] = p.events('i', 'authFailed');
  assert.equal(f?.byUs, false);
  assert.match(f?.reason ?? '', /AUTHENTICATION_FAILED/);
  for (const side of ['i', 'r'] as const) {
    assert.equal(p.events(side, 'childSaInstalled').length, 0);
    assert.equal(p.events(side, 'ikeSaEstablished').length, 0);
  }
  assert.equal(p.i.ikeSas().length, 0);
  assert.equal(p.r.ikeSas().length, 0);
  assert.equal(p.wire.length, 0);
});

test('IDr names an identity the responder does not have: the responder answers AUTHENTICATION_FAILED', () => {
  const p = new Pair({}, { conn: { localId: { type: 'fqdn', value: 'mallory.example.org' } } });
  p.initiate();
  p.run();
  // The responder cannot match IDr = sun.example.org against its own id: AUTHENTICATION_FAILED.
  assert.equal(p.events('r', 'authFailed').length, 1);
  assert.equal(p.events('i', 'authFailed').length, 1);
  assert.equal(p.events('i', 'childSaInstalled').length, 0);
});

test('responder AUTH computed with another PSK is refused by the initiator, which sends N(AUTHENTICATION_FAILED)', () => {
  // Both PSK lookups succeed, but the responder signs with a different secret than the initiator expects.
  let calls = 0;
  const p = new Pair({ engine: { psk: () => (calls++ === 0 ? PSK : Buffer.from('other')) } });
  p.initiate();
  p.deliver('i');
  p.deliver('r');
  // HDR, SK { IDi, IDr, AUTH, SAi2, TSi, TSr } -->
  p.deliver('i');
  assert.equal(p.events('r', 'ikeSaEstablished').length, 1);
  // <-- HDR, SK { IDr, AUTH(not verifiable by us), SAr2, TSi, TSr }
  p.deliver('r');
  assert.equal(p.events('i', 'authFailed')[0]?.byUs, true);
  assert.equal(p.events('i', 'childSaInstalled').length, 0);
  // HDR, SK { N(AUTHENTICATION_FAILED) } -->
  const info = p.take('i');
  assert.equal(describe(info).exchangeType, ExchangeType.INFORMATIONAL);
  p.deliverDatagram(info);
  assert.equal(p.i.ikeSas().length, 0);
  assert.equal(p.r.ikeSas().length, 0);
  assert.equal(p.events('r', 'authFailed')[0]?.byUs, false);
  assert.equal(p.events('r', 'childSaDeleted').length, 1);
});

const ids: [string, IkeIdentity, IkeIdentity][] = [
  ['IPv4', { type: 'ipv4', value: '192.0.2.1' }, { type: 'ipv4', value: '198.51.100.1' }],
  ['IPv6', { type: 'ipv6', value: '2001:db8::1' }, { type: 'ipv6', value: '2001:db8::2' }],
  ['FQDN', { type: 'fqdn', value: 'moon.example.org' }, { type: 'fqdn', value: 'sun.example.org' }],
  ['RFC822', { type: 'rfc822', value: 'carol@example.org' }, { type: 'rfc822', value: 'gw@example.org' }],
  [
    'KEY_ID',
    { type: 'keyId', value: Buffer.from('0102030405', 'hex') },
    { type: 'keyId', value: Buffer.from('aabbcc', 'hex') },
  ],
];
for (const [name, a, b] of ids) {
  test(`identities: ${name} on both sides`, () => {
    const p = new Pair({ conn: { localId: a, remoteId: b } }, { conn: { localId: b, remoteId: { type: 'any' } } });
    p.initiate();
    p.run();
    const [ei] = p.events('i', 'ikeSaEstablished');
    const [er] = p.events('r', 'ikeSaEstablished');
    assert.ok(ei && er, name);
    assert.equal(ei.remoteId, er.localId);
    assert.equal(er.remoteId, ei.localId);
    assert.equal(p.events('i', 'childSaInstalled').length, 1);
  });
}

test('INITIAL_CONTACT: a new IKE_SA from the same peer replaces the old one on the responder', () => {
  const p = new Pair();
  p.initiate();
  p.run();
  assert.equal(p.r.ikeSas().length, 1);
  // The initiator "reboots": a fresh engine with the same identity connects again.
  p.restart('i');
  p.initiate();
  p.run();
  assert.equal(p.r.ikeSas().length, 1, 'old IKE_SA gone on the responder');
  const gone = p.events('r', 'ikeSaDeleted');
  assert.equal(gone.length, 1);
  assert.match(gone[0]?.reason ?? '', /INITIAL_CONTACT/);
  void NotifyType;
});

test('a peer identity with control characters is logged and reported escaped, and capped in length', () => {
  const lines: string[] = [];
  const log = createLineLogger({ level: 1, write: (l) => lines.push(l) });
  const evil = `moon\x1b[2J\n01[IKE] fake line.${'a'.repeat(300)}.example.org`;
  const p = new Pair(
    { conn: { localId: { type: 'fqdn', value: evil } } },
    { engine: { log }, conn: { remoteId: { type: 'any' } } },
  );
  p.initiate();
  p.run();
  const [e] = p.events('r', 'ikeSaEstablished');
  assert.ok(e);
  assert.ok(e.remoteId.startsWith('moon\\x1b[2J\\x0a01[IKE] fake line.'), e.remoteId);
  assert.ok(e.remoteId.length < 200, `${e.remoteId.length}`);
  for (const l of lines) assert.ok(![...l].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), l);
  assert.ok(lines.some((l) => l.includes('moon\\x1b[2J')));
});
