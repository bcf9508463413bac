/**
 * EAP-TLS (RFC 5216), our server against our peer: the handshake fragmented into EAP messages with L/M flags and
 * acknowledged by empty ones, the same MSK on both sides, and certificates refused with their reason (a CA we do not
 * trust, a certificate without the identity expected, no client certificate), on both sides.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestRng } from '../../src/crypto/index.js';
import { EapCode, EapType } from '../../src/eap/constants.js';
import { decodeEapPacket, encodeEapPacket } from '../../src/eap/eap-packet.js';
import type { EapPacket } from '../../src/eap/eap-packet.js';
import { EapPeer } from '../../src/eap/eap-peer.js';
import type { EapPeerStep } from '../../src/eap/eap-peer.js';
import { EapServer } from '../../src/eap/eap-server.js';
import type { EapServerStep } from '../../src/eap/eap-server.js';
import { EapTlsFlag, decodeEapTls, encodeEapTls, identityFromEapText } from '../../src/eap/eap-tls.js';
import type { EapTlsConfig } from '../../src/eap/eap-tls.js';
import type { IkeIdentity } from '../../src/ike/config.js';
import { nodeTlsChannel } from '../../src/io/tls-session.js';
import { T0_MS, makeCa, makeCert } from '../helpers/pki.js';
import type { TestCa } from '../helpers/pki.js';

const TLS = EapType['EAP-TLS'];
const ca = makeCa('C=CH, O=ts-ipsec test, CN=EAP Root CA');
const otherCa = makeCa('C=CH, O=elsewhere, CN=Other Root CA');
const gateway = makeCert(ca, 'C=CH, O=ts-ipsec test, CN=gw.example.org', 'p256', ['gw.example.org']);
const carol = makeCert(ca, 'C=CH, O=ts-ipsec test, CN=carol@example.org', 'p256', ['carol@example.org']);
const mallory = makeCert(otherCa, 'C=CH, O=elsewhere, CN=carol@example.org', 'p256', ['carol@example.org']);
const rsaCarol = makeCert(ca, 'C=CH, O=ts-ipsec test, CN=rsa carol', 'rsa', ['carol@example.org']);

function tls(me: TestCa, cas: TestCa[], extra: Partial<EapTlsConfig> = {}): EapTlsConfig {
  return {
    credentials: { certs: [me.cert], key: me.key, cas: cas.map((c) => c.cert) },
    channel: nodeTlsChannel,
    nowMs: () => T0_MS,
    ...extra,
  };
}

function server(config: EapTlsConfig, identity?: string): EapServer {
  return new EapServer({
    rng: createTestRng('eap-tls-server'),
    methods: [TLS],
    password: () => undefined,
    tls: config,
    ...(identity === undefined ? {} : { identity }),
  });
}

function peer(identity: string, config: EapTlsConfig): EapPeer {
  return new EapPeer({ rng: createTestRng('eap-tls-peer'), identity, password: '', methods: [TLS], tls: config });
}

interface Run {
  wire: EapPacket[];
  server: EapServerStep;
  peer: EapPeerStep;
}

async function settledServer(s: EapServer, step: EapServerStep): Promise<EapServerStep> {
  for (let n = 0; step.kind === 'pending' && n < 10; n++) {
    await step.ready;
    step = s.resume();
  }
  return step;
}

async function settledPeer(p: EapPeer, step: EapPeerStep): Promise<EapPeerStep> {
  for (let n = 0; step.kind === 'pending' && n < 10; n++) {
    await step.ready;
    step = p.resume();
  }
  return step;
}

/** Run a conversation to its end, recording every packet (awaiting the TLS steps that do not answer at once). */
async function converse(s: EapServer, p: EapPeer): Promise<Run> {
  const wire: EapPacket[] = [];
  let sStep: EapServerStep = s.start();
  for (let n = 0; n < 60; n++) {
    if (sStep.kind === 'pending') throw new Error('unsettled server step');
    wire.push(decodeEapPacket(sStep.packet));
    const pStep = await settledPeer(p, p.process(sStep.packet));
    if (sStep.kind !== 'request') return { wire, server: sStep, peer: pStep };
    const answer = pStep.kind === 'response' ? pStep.packet : pStep.kind === 'failure' ? pStep.packet : undefined;
    if (answer === undefined) return { wire, server: sStep, peer: pStep };
    wire.push(decodeEapPacket(answer));
    sStep = await settledServer(s, s.process(answer));
  }
  throw new Error('conversation did not end');
}

function tlsMessages(wire: EapPacket[]): { code: number; flags: number; total?: number; length: number }[] {
  return wire.flatMap((w) => {
    if (!('type' in w) || w.type !== TLS) return [];
    const m = decodeEapTls(w.data);
    return [
      { code: w.code, flags: m.flags, ...(m.total === undefined ? {} : { total: m.total }), length: m.data.length },
    ];
  });
}

test('EAP-TLS: our server and our peer agree on a 64-byte MSK; six messages when nothing needs fragmenting', async () => {
  const s = server(tls(gateway, [ca], { fragmentSize: 4000 }));
  const p = peer(
    'carol@example.org',
    tls(carol, [ca], { peerIdentity: { type: 'fqdn', value: 'gw.example.org' }, fragmentSize: 4000 }),
  );
  const r = await converse(s, p);
  assert.equal(r.server.kind, 'success', r.server.kind === 'failure' ? r.server.reason : '');
  assert.equal(r.peer.kind, 'success', r.peer.kind === 'failure' ? r.peer.reason : '');
  if (r.server.kind !== 'success' || r.peer.kind !== 'success') return;
  assert.equal(r.server.identity, 'carol@example.org');
  assert.equal(r.server.method, TLS);
  assert.equal(r.server.msk?.length, 64);
  assert.deepEqual(r.peer.msk, r.server.msk);
  const msgs = tlsMessages(r.wire);
  // Start; ClientHello; server flight; client flight; CCS+Finished; acknowledgement.
  assert.deepEqual(
    msgs.map((m) => [m.code, m.flags]),
    [
      [EapCode.Request, EapTlsFlag.S],
      [EapCode.Response, 0],
      [EapCode.Request, 0],
      [EapCode.Response, 0],
      [EapCode.Request, 0],
      [EapCode.Response, 0],
    ],
  );
  assert.equal(msgs.at(-1)?.length, 0, 'the last response is the empty acknowledgement');
  assert.equal(r.wire.at(-1)?.code, EapCode.Success);
});

test('EAP-TLS: a 300-byte fragment size splits both flights with L and M, each piece acknowledged', async () => {
  const s = server(tls(gateway, [ca], { fragmentSize: 300 }));
  const p = peer('carol@example.org', tls(rsaCarol, [ca], { fragmentSize: 300 }));
  const r = await converse(s, p);
  assert.equal(r.server.kind, 'success', r.server.kind === 'failure' ? r.server.reason : '');
  assert.equal(r.peer.kind, 'success');
  if (r.server.kind !== 'success' || r.peer.kind !== 'success') return;
  assert.deepEqual(r.peer.msk, r.server.msk);
  const msgs = tlsMessages(r.wire);
  for (const w of r.wire) assert.ok(encodeEapPacket(w).length <= 300, 'no EAP message above the fragment size');
  const firsts = msgs.filter((m) => (m.flags & EapTlsFlag.L) !== 0);
  assert.ok(
    firsts.some((m) => m.code === EapCode.Request),
    'the server fragmented its flight',
  );
  assert.ok(
    firsts.some((m) => m.code === EapCode.Response),
    'the peer fragmented its flight (RSA certificate)',
  );
  for (const f of firsts) assert.ok((f.flags & EapTlsFlag.M) !== 0 && (f.total ?? 0) > 300 - 10);
  // Every fragment with M is followed by an empty acknowledgement from the other side.
  for (const [i, m] of msgs.entries()) {
    if ((m.flags & EapTlsFlag.M) === 0) continue;
    const next = msgs[i + 1];
    assert.ok(next !== undefined && next.code !== m.code && next.length === 0 && next.flags === 0);
  }
  assert.ok(msgs.length > 12, `${msgs.length} EAP-TLS messages`);
});

test('EAP-TLS server refuses a peer certificate from a CA it does not trust, saying so', async () => {
  const s = server(tls(gateway, [ca]));
  const p = peer('carol@example.org', tls(mallory, [ca]));
  const r = await converse(s, p);
  assert.equal(r.server.kind, 'failure');
  assert.match(
    r.server.kind === 'failure' ? r.server.reason : '',
    /refused: certificate not trusted: no trusted CA issued/,
  );
  assert.equal(r.wire.at(-1)?.code, EapCode.Failure);
  assert.notEqual(r.peer.kind, 'success');
});

test('EAP-TLS server refuses a certificate that does not carry the EAP identity', async () => {
  const s = server(tls(gateway, [ca]));
  const p = peer('dave@example.org', tls(carol, [ca]));
  const r = await converse(s, p);
  assert.equal(r.server.kind, 'failure');
  assert.match(
    r.server.kind === 'failure' ? r.server.reason : '',
    /peer 'dave@example.org' refused: certificate .* does not carry the identity 'dave@example.org'/,
  );
});

test('EAP-TLS peer refuses a server certificate from an untrusted CA or without the server identity', async () => {
  const untrusted = await converse(server(tls(gateway, [ca])), peer('carol@example.org', tls(carol, [otherCa])));
  assert.equal(untrusted.peer.kind, 'failure');
  assert.match(
    untrusted.peer.kind === 'failure' ? untrusted.peer.reason : '',
    /server refused: certificate not trusted/,
  );
  assert.notEqual(untrusted.server.kind, 'success');
  const wrongName = await converse(
    server(tls(gateway, [ca])),
    peer('carol@example.org', tls(carol, [ca], { peerIdentity: { type: 'fqdn', value: 'vpn.example.org' } })),
  );
  assert.equal(wrongName.peer.kind, 'failure');
  assert.match(
    wrongName.peer.kind === 'failure' ? wrongName.peer.reason : '',
    /does not carry the identity 'vpn.example.org'/,
  );
});

test('EAP-TLS: a TLS Message Length beyond the limit or fragments longer than announced end in failure', async () => {
  const s = server(tls(gateway, [ca]), 'carol@example.org');
  const start = decodeEapPacket(s.start().packet);
  const huge = encodeEapPacket({
    code: EapCode.Response,
    identifier: start.identifier,
    type: TLS,
    data: encodeEapTls({ flags: EapTlsFlag.M, total: 1 << 20, data: Buffer.alloc(16) }),
  });
  const r = await settledServer(s, s.process(huge));
  assert.equal(r.kind, 'failure');
  assert.match(r.kind === 'failure' ? r.reason : '', /TLS Message Length 1048576 above 65536/);
  const s2 = server(tls(gateway, [ca]), 'carol@example.org');
  const start2 = decodeEapPacket(s2.start().packet);
  const over = encodeEapPacket({
    code: EapCode.Response,
    identifier: start2.identifier,
    type: TLS,
    data: encodeEapTls({ flags: 0, total: 8, data: Buffer.alloc(16) }),
  });
  const r2 = await settledServer(s2, s2.process(over));
  assert.match(r2.kind === 'failure' ? r2.reason : '', /more than the 8 bytes announced/);
});

test('EAP-TLS: garbage instead of a ClientHello fails the handshake with OpenSSL reason', async () => {
  const s = server(tls(gateway, [ca]), 'carol@example.org');
  const start = decodeEapPacket(s.start().packet);
  const junk = encodeEapPacket({
    code: EapCode.Response,
    identifier: start.identifier,
    type: TLS,
    data: encodeEapTls({ flags: 0, total: undefined, data: Buffer.from('GET / HTTP/1.0\r\n\r\n') }),
  });
  const r = await settledServer(s, s.process(junk));
  assert.equal(r.kind, 'failure');
  assert.match(r.kind === 'failure' ? r.reason : '', /EAP-TLS handshake failed: .+/);
});

test('EAP identities as certificate identities: e-mail, FQDN, address, DN', () => {
  const cases: [string, IkeIdentity['type']][] = [
    ['carol@example.org', 'rfc822'],
    ['@gw.example.org', 'fqdn'],
    ['gw.example.org', 'fqdn'],
    ['192.0.2.7', 'ipv4'],
    ['2001:db8::7', 'ipv6'],
    ['C=CH, O=ts-ipsec test, CN=carol', 'dn'],
  ];
  for (const [text, type] of cases) assert.equal(identityFromEapText(text).type, type, text);
});

test('EAP-TLS: random Type-Data after the Start never throws, it fails or asks for more', async () => {
  const rng = createTestRng('eap-tls-hostile');
  let failures = 0;
  for (let n = 0; n < 150; n++) {
    const s = server(tls(gateway, [ca]), 'carol@example.org');
    const start = decodeEapPacket(s.start().packet);
    const len = (rng.bytes(1)[0] ?? 0) % 40;
    const data = rng.bytes(len);
    const packet = encodeEapPacket({ code: EapCode.Response, identifier: start.identifier, type: TLS, data });
    const r = await settledServer(s, s.process(packet));
    assert.ok(r.kind === 'failure' || r.kind === 'request', r.kind);
    if (r.kind === 'failure') failures++;
    s.close();
  }
  assert.ok(failures > 100, `${failures} of 150 refused`);
});

test('EAP-TLS: a TLS record cut short does not leave the server waiting forever', async () => {
  const s = server(tls(gateway, [ca]), 'carol@example.org');
  const start = decodeEapPacket(s.start().packet);
  // A handshake record header (type 22, TLS 1.2) announcing 512 bytes, followed by 4.
  const cut = Buffer.from([22, 3, 3, 2, 0, 1, 0, 1, 252]);
  const packet = encodeEapPacket({
    code: EapCode.Response,
    identifier: start.identifier,
    type: TLS,
    data: encodeEapTls({ flags: 0, total: undefined, data: cut }),
  });
  const first = s.process(packet);
  assert.equal(first.kind, 'pending', 'OpenSSL says nothing at once');
  const r = await settledServer(s, first);
  assert.equal(r.kind, 'failure');
  assert.match(
    r.kind === 'failure' ? r.reason : '',
    /waits for more data than the peer sent \(an incomplete TLS message\)/,
  );
});
