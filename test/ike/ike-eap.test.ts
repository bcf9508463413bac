/**
 * IKE_AUTH with EAP (RFC 7296 2.16), engine to engine: the gateway authenticates with its PSK and runs
 * EAP-MSCHAPv2 (or EAP-MD5) with the client over further IKE_AUTH exchanges; both then send AUTH keyed with the MSK
 * (SK_p without one), and the CHILD_SA and configuration payloads of the first request are answered in the last.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestRng } from '../../src/crypto/index.js';
import { EncrId } from '../../src/crypto/ids.js';
import { EapCode, EapType } from '../../src/eap/constants.js';
import { decodeEapPacket } from '../../src/eap/eap-packet.js';
import { ExchangeType, NotifyType, PayloadType } from '../../src/ike/codec/constants.js';
import type { Payload } from '../../src/ike/codec/types.js';
import type { OutgoingDatagram } from '../../src/ike/events.js';
import { createSkCrypter } from '../../src/ike/protection/sk-crypter.js';
import { formatTs } from '../../src/ike/traffic-selectors.js';
import { VirtualIpPools } from '../../src/pools/virtual-ip-pools.js';
import type { PeerOptions } from './exchange-helper.js';
import { Pair, describe } from './exchange-helper.js';
import { T0_MS, makeCa, makeCert } from '../helpers/pki.js';

const MSCHAPV2 = EapType['EAP-MSCHAP-V2'];
const MD5 = EapType['MD5-Challenge'];
const USERS = new Map([
  ['carol', 'carol-eap-secret'],
  ['dave', 'dave-eap-secret'],
]);

function client(identity: string, password: string, methods?: number[]): PeerOptions {
  return {
    conn: { eapClient: methods === undefined ? { identity } : { identity, methods } },
    engine: { eapPassword: (id) => (id === identity ? password : undefined) },
  };
}

function gateway(methods: number[] = [MSCHAPV2], askIdentity = true, extra: PeerOptions = {}): PeerOptions {
  return {
    ...extra,
    conn: { eapServer: { methods, askIdentity }, remoteId: { type: 'any' }, ...extra.conn },
    engine: { eapPassword: (id) => USERS.get(id), ...extra.engine },
  };
}

/** Inner payloads of an IKE_AUTH message of pair `p` (AES-GCM, no integrity key). */
function inner(p: Pair, d: OutgoingDatagram, sender: 'i' | 'r'): Payload[] {
  const keys = p.i.ikeSas()[0]?.keys ?? p.r.ikeSas()[0]?.keys;
  assert.ok(keys);
  const c = createSkCrypter(
    { encrId: EncrId.ENCR_AES_GCM_16, skE: sender === 'i' ? keys.skEi : keys.skEr },
    createTestRng('open'),
  );
  const opened = c.open(d.bytes);
  assert.ok(opened.ok);
  return opened.payloads;
}

function summary(payloads: Payload[]): string[] {
  return payloads.map((x) => {
    if (x.type !== PayloadType.EAP) return String(x.type);
    const e = decodeEapPacket(x.data);
    return `EAP(${e.code === EapCode.Success ? 'S' : e.code === EapCode.Failure ? 'F' : `${e.code}/${'type' in e ? e.type : ''}`})`;
  });
}

test('EAP-MSCHAPv2: five IKE_AUTH rounds, AUTH with the MSK, CHILD_SA answered in the last', () => {
  const p = new Pair(client('carol', 'carol-eap-secret'), gateway());
  p.initiate();
  p.deliver('i');
  p.deliver('r');
  const P = PayloadType;
  const rounds: [string[], string[]][] = [];
  for (let n = 0; n < 8 && p.wire.length + p.i.datagramsToSend().length >= 0; n++) {
    p.pump();
    if (p.wire.length === 0) break;
    const req = p.take('i');
    assert.equal(describe(req).exchangeType, ExchangeType.IKE_AUTH);
    const reqPayloads = summary(inner(p, req, 'i'));
    p.deliverDatagram(req);
    const res = p.take('r');
    const resPayloads = summary(inner(p, res, 'r'));
    p.deliverDatagram(res);
    rounds.push([reqPayloads, resPayloads]);
  }
  const [IDi, IDr, AUTH, N, SA, TSi, TSr] = [P.IDi, P.IDr, P.AUTH, P.NOTIFY, P.SA, P.TSi, P.TSr].map(String);
  assert.deepEqual(rounds, [
    // HDR, SK { IDi, IDr, N(INITIAL_CONTACT), SAi2, TSi, TSr } -->  <-- HDR, SK { IDr, AUTH, EAP(Request/Identity) }
    [
      [IDi, IDr, N, SA, TSi, TSr],
      [IDr, AUTH, 'EAP(1/1)'],
    ],
    // EAP(Response/Identity) -->  <-- EAP(Request/MSCHAPv2 Challenge)
    [['EAP(2/1)'], ['EAP(1/26)']],
    // EAP(Response/MSCHAPv2 Response) -->  <-- EAP(Request/MSCHAPv2 Success)
    [['EAP(2/26)'], ['EAP(1/26)']],
    // EAP(Response/MSCHAPv2 Success) -->  <-- EAP(Success)
    [['EAP(2/26)'], ['EAP(S)']],
    // AUTH(MSK) -->  <-- AUTH(MSK), SAr2, TSi, TSr
    [[AUTH], [AUTH, SA, TSi, TSr]],
  ]);
  for (const side of ['i', 'r'] as const) {
    assert.deepEqual(
      (side === 'i' ? p.eventsI : p.eventsR).map((e) => e.type),
      ['ikeSaEstablished', 'childSaInstalled'],
      side,
    );
  }
  const [ci] = p.events('i', 'childSaInstalled');
  const [cr] = p.events('r', 'childSaInstalled');
  assert.equal(ci?.child.spiOut, cr?.child.spiIn);
  assert.deepEqual(ci?.child.keysOut, cr?.child.keysIn);
  assert.deepEqual(ci?.child.tsLocal.map(formatTs), ['198.51.100.0/24']);
});

test('EAP-MSCHAPv2 wrong password: AUTHENTICATION_FAILED, nothing established on either side', () => {
  const p = new Pair(client('carol', 'not-her-password'), gateway());
  p.initiate();
  p.run();
  assert.equal(p.events('r', 'authFailed')[0]?.byUs, true);
  assert.match(
    p.events('r', 'authFailed')[0]?.reason ?? '',
    /EAP authentication of .* failed: EAP-MSCHAPv2 verification of 'carol' failed \(wrong password\)/,
  );
  const [refused] = p.events('i', 'authFailed');
  assert.equal(refused?.byUs, false);
  assert.match(refused?.reason ?? '', /AUTHENTICATION_FAILED.*EAP-MSCHAPv2 failed with error 691/);
  for (const side of ['i', 'r'] as const) {
    assert.equal(p.events(side, 'ikeSaEstablished').length, 0);
    assert.equal(p.events(side, 'childSaInstalled').length, 0);
  }
  assert.equal(p.i.ikeSas().length, 0);
  assert.equal(p.r.ikeSas().length, 0);
});

test('EAP with a virtual IP: the lease is taken for the EAP identity, the CP reply comes with the last round', () => {
  const pools = new VirtualIpPools([{ name: 'rw', addrs: '198.51.100.128/25', dns: ['198.51.100.53'] }]);
  const c = client('dave', 'dave-eap-secret');
  const p = new Pair(
    { ...c, conn: { ...c.conn, vips: ['0.0.0.0'] }, child: { localTs: ['dynamic'], remoteTs: ['203.0.113.0/24'] } },
    gateway([MSCHAPV2], true, {
      conn: { pools: ['rw'] },
      child: { localTs: ['203.0.113.0/24'], remoteTs: ['dynamic'] },
      engine: { pools },
    }),
  );
  p.initiate();
  p.run();
  const [assigned] = p.events('i', 'virtualIpsAssigned');
  assert.deepEqual(assigned?.local, ['198.51.100.129']);
  assert.deepEqual(assigned?.dns, ['198.51.100.53']);
  assert.deepEqual(p.events('i', 'childSaInstalled')[0]?.child.tsLocal.map(formatTs), ['198.51.100.129/32']);
  assert.deepEqual(pools.list()[0]?.leases, [{ address: '198.51.100.129', identity: 'dave', status: 'online' }]);
});

test('EAP-MD5 with the IKE identity as EAP identity: no MSK, AUTH keyed with SK_pi and SK_pr', () => {
  const users = new Map([['moon.example.org', 'moon-md5']]);
  const p = new Pair(client('moon.example.org', 'moon-md5', [MD5]), {
    ...gateway([MD5], false),
    engine: { eapPassword: (id) => users.get(id) },
  });
  p.initiate();
  p.run();
  assert.equal(p.events('i', 'childSaInstalled').length, 1);
  assert.equal(p.events('r', 'childSaInstalled').length, 1);
});

test('a client whose EAP methods the gateway does not offer fails; a PSK-only client of an EAP connection too', () => {
  const p = new Pair(client('carol', 'carol-eap-secret', [MD5]), gateway([MSCHAPV2]));
  p.initiate();
  p.run();
  assert.equal(p.events('i', 'ikeSaEstablished').length, 0);
  assert.equal(p.events('r', 'authFailed').length + p.events('i', 'authFailed').length >= 1, true);
  // Knowing the gateway's PSK is not enough: the connection wants EAP.
  const psk = new Pair({}, gateway());
  psk.initiate();
  psk.run();
  assert.equal(psk.events('r', 'authFailed')[0]?.byUs, true);
  assert.match(psk.events('r', 'authFailed')[0]?.reason ?? '', /no connection matches/);
  assert.equal(psk.events('i', 'childSaInstalled').length, 0);
});

test('an initiator sending AUTH instead of its EAP response is refused', () => {
  const p = new Pair(client('carol', 'carol-eap-secret'), gateway());
  p.initiate();
  p.deliver('i');
  p.deliver('r');
  p.deliver('i'); // IDi ... -->
  p.deliver('r'); // <-- IDr, AUTH, EAP(Identity request)
  const req = p.take('i');
  const keys = p.i.ikeSas()[0]?.keys;
  assert.ok(keys);
  const c = createSkCrypter({ encrId: EncrId.ENCR_AES_GCM_16, skE: keys.skEi }, createTestRng('forge'));
  const opened = c.open(req.bytes);
  assert.ok(opened.ok);
  // HDR, SK { AUTH } --> (skipping EAP)
  const forged = c.seal(opened.header, [{ type: PayloadType.AUTH, method: 2, data: Buffer.alloc(32, 1) }]);
  p.r.receiveDatagram(forged, req.from, req.to, p.nowMs);
  p.pump();
  const answer = inner(p, p.take('r'), 'r');
  assert.deepEqual(
    answer.flatMap((x) => (x.type === PayloadType.NOTIFY ? [x.notifyType] : [])),
    [NotifyType.AUTHENTICATION_FAILED],
  );
  assert.equal(p.events('r', 'ikeSaEstablished').length, 0);
  assert.equal(p.r.ikeSas().length, 0);
});

test('gateway with a certificate: CERTREQ from the client, CERT and signature AUTH with the EAP request', () => {
  const ca = makeCa('C=CH, O=ts-ipsec test, CN=EAP CA', 'p256');
  const gw = makeCert(ca, 'C=CH, O=ts-ipsec test, CN=gw.example.org', 'p256', ['gw.example.org']);
  const gwId = { type: 'fqdn', value: 'gw.example.org' } as const;
  const trust = { cacerts: [ca.cert], intermediates: [], certs: [], pubkeys: [], revocation: 'relaxed' } as const;
  const c = client('carol', 'carol-eap-secret');
  const p = new Pair(
    { ...c, conn: { ...c.conn, remoteId: gwId, remoteAuth: trust } },
    gateway([MSCHAPV2], true, {
      conn: { localId: gwId, localAuth: { privateKey: gw.key, certs: [gw.cert], rsaPss: false } },
    }),
  );
  p.nowMs = T0_MS;
  p.initiate();
  p.deliver('i');
  p.deliver('r');
  p.pump();
  const req = p.take('i');
  const P = PayloadType;
  assert.deepEqual(summary(inner(p, req, 'i')).slice(0, 3), [P.IDi, P.CERTREQ, P.IDr].map(String));
  p.deliverDatagram(req);
  const res = p.take('r');
  assert.deepEqual(summary(inner(p, res, 'r')), [String(P.IDr), String(P.CERT), String(P.AUTH), 'EAP(1/1)']);
  p.deliverDatagram(res);
  p.run();
  assert.equal(p.events('i', 'childSaInstalled').length, 1);
  assert.equal(p.events('r', 'childSaInstalled').length, 1);
  const [si] = p.i.ikeSas();
  const [sr] = p.r.ikeSas();
  assert.equal(si?.localEapId, 'carol');
  assert.equal(si?.remoteEapId, undefined);
  assert.equal(sr?.remoteEapId, 'carol');
  assert.equal(si?.peerCert?.subjectText, 'C=CH, O=ts-ipsec test, CN=gw.example.org');

  // A client trusting another CA refuses the gateway before running EAP.
  const other = makeCa('C=CH, O=ts-ipsec test, CN=Other CA', 'p256');
  const q = new Pair(
    { ...c, conn: { ...c.conn, remoteId: gwId, remoteAuth: { ...trust, cacerts: [other.cert] } } },
    gateway([MSCHAPV2], true, {
      conn: { localId: gwId, localAuth: { privateKey: gw.key, certs: [gw.cert], rsaPss: false } },
    }),
  );
  q.nowMs = T0_MS;
  q.initiate();
  q.run();
  assert.match(q.events('i', 'authFailed')[0]?.reason ?? '', /certificate of 'gw.example.org' is not trusted/);
  assert.equal(q.events('r', 'ikeSaEstablished').length, 0);
  assert.equal(q.i.ikeSas().length + q.r.ikeSas().length, 0);
});

test('gateway eap_id naming one user: another EAP identity is refused even with its right password', () => {
  const p = new Pair(client('dave', 'dave-eap-secret'), {
    ...gateway(),
    conn: { eapServer: { methods: [MSCHAPV2], askIdentity: true, identity: 'carol' }, remoteId: { type: 'any' } },
  });
  p.initiate();
  p.run();
  assert.match(
    p.events('r', 'authFailed')[0]?.reason ?? '',
    /EAP identity 'dave' .* is not the configured eap_id 'carol'/,
  );
  assert.equal(p.events('i', 'childSaInstalled').length + p.events('r', 'childSaInstalled').length, 0);
});
