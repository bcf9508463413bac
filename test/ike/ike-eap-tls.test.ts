/**
 * IKE_AUTH with EAP-TLS (RFC 7296 2.16, RFC 5216), engine to engine: the TLS handshake runs over IKE_AUTH rounds,
 * the engines hold an exchange while OpenSSL's answer is not there yet (pendingWork / resume), both AUTHs are keyed
 * with the TLS MSK, and an untrusted client certificate ends in AUTHENTICATION_FAILED with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EapType } from '../../src/eap/constants.js';
import type { EapTlsSettings } from '../../src/ike/config.js';
import { nodeTlsChannel } from '../../src/io/tls-session.js';
import { T0_MS, makeCa, makeCert } from '../helpers/pki.js';
import type { TestCa } from '../helpers/pki.js';
import type { PeerOptions } from './exchange-helper.js';
import { Pair, describe } from './exchange-helper.js';
import { ExchangeType } from '../../src/ike/codec/constants.js';

const TLS = EapType['EAP-TLS'];
const ca = makeCa('C=CH, O=ts-ipsec test, CN=IKE EAP Root CA');
const otherCa = makeCa('C=CH, O=elsewhere, CN=Other Root CA');
const gatewayCert = makeCert(ca, 'C=CH, O=ts-ipsec test, CN=sun.example.org', 'p256', ['sun.example.org']);
const carolCert = makeCert(ca, 'C=CH, O=ts-ipsec test, CN=carol', 'p256', ['carol@example.org']);
const malloryCert = makeCert(otherCa, 'C=CH, O=elsewhere, CN=carol', 'p256', ['carol@example.org']);

function settings(me: TestCa, cas: TestCa[], fragmentSize?: number): EapTlsSettings {
  return {
    credentials: { certs: [me.cert], key: me.key, cas: cas.map((c) => c.cert) },
    channel: nodeTlsChannel,
    wallClockMs: () => T0_MS,
    ...(fragmentSize === undefined ? {} : { fragmentSize }),
  };
}

function client(cert: TestCa, fragmentSize?: number): PeerOptions {
  return {
    conn: { eapClient: { identity: 'carol@example.org', methods: [TLS], tls: settings(cert, [ca], fragmentSize) } },
  };
}

function gateway(fragmentSize?: number): PeerOptions {
  return {
    conn: {
      eapServer: { methods: [TLS], askIdentity: true, tls: settings(gatewayCert, [ca], fragmentSize) },
      remoteId: { type: 'any' },
    },
  };
}

test('EAP-TLS over IKE_AUTH: established with MSK-keyed AUTH, exchanges held while TLS works', async () => {
  const p = new Pair(client(carolCert, 500), gateway(500));
  p.initiate();
  const authRounds: number[] = [];
  const seen = new Set<string>();
  const record = (): void => {
    for (const d of p.wire) {
      const h = describe(d);
      const key = `${d.sender}${h.messageId}${h.response}`;
      if (h.exchangeType === ExchangeType.IKE_AUTH && !h.response && !seen.has(key)) {
        seen.add(key);
        authRounds.push(h.messageId);
      }
    }
  };
  const origPump = p.pump.bind(p);
  p.pump = () => {
    origPump();
    record();
  };
  const held = await p.runAsync();
  for (const side of ['i', 'r'] as const) {
    assert.deepEqual(
      (side === 'i' ? p.eventsI : p.eventsR).map((e) => e.type),
      ['ikeSaEstablished', 'childSaInstalled'],
      `${side}: ${JSON.stringify(side === 'i' ? p.eventsI : p.eventsR)}`,
    );
  }
  const [ci] = p.events('i', 'childSaInstalled');
  const [cr] = p.events('r', 'childSaInstalled');
  assert.equal(ci?.child.spiOut, cr?.child.spiIn);
  assert.deepEqual(ci?.child.keysOut, cr?.child.keysIn);
  assert.ok(held > 0, 'at least one exchange waited for the TLS library');
  // Identity, Start, fragments of both flights with their acknowledgements, Finished, Success, AUTH.
  assert.ok(authRounds.length > 10, `${authRounds.length} IKE_AUTH requests`);
});

test('EAP-TLS over IKE_AUTH: a client certificate from an untrusted CA is refused, nothing established', async () => {
  const p = new Pair(client(malloryCert), gateway());
  p.initiate();
  await p.runAsync();
  const [refusal] = p.events('r', 'authFailed');
  assert.equal(refusal?.byUs, true);
  assert.match(
    refusal?.reason ?? '',
    /EAP authentication of .* failed: EAP-TLS peer 'carol@example.org' refused: certificate not trusted: no trusted CA issued 'C=CH, O=elsewhere, CN=carol'/,
  );
  assert.equal(p.events('i', 'authFailed')[0]?.byUs, false);
  for (const side of ['i', 'r'] as const) assert.equal(p.events(side, 'ikeSaEstablished').length, 0);
  assert.equal(p.i.ikeSas().length, 0);
  assert.equal(p.r.ikeSas().length, 0);
});

test('EAP-TLS over IKE_AUTH: a retransmitted request is not answered while its answer is being worked out', async () => {
  const p = new Pair(client(carolCert, 500), gateway(500));
  p.initiate();
  let lastFromI: ReturnType<Pair['take']> | undefined;
  let checked = 0;
  for (let n = 0; n < 200; n++) {
    p.pump();
    if (p.wire.length > 0) {
      const d = p.take();
      if (d.sender === 'i') lastFromI = d;
      p.deliverDatagram(d);
      continue;
    }
    const rWork = p.r.pendingWork();
    if (rWork !== undefined && lastFromI !== undefined) {
      // The gateway holds its response; the client's retransmit arrives meanwhile.
      p.deliverDatagram(lastFromI);
      assert.equal(p.wire.filter((d) => d.sender === 'r').length, 0, 'no answer to the retransmit while held');
      checked++;
    }
    const work = [p.i.pendingWork(), rWork].filter((w) => w !== undefined);
    if (work.length === 0) break;
    await Promise.race(work);
    p.i.resume(p.nowMs);
    p.r.resume(p.nowMs);
  }
  assert.ok(checked > 0, 'the gateway held a response at least once');
  assert.equal(p.events('i', 'ikeSaEstablished').length, 1);
  assert.equal(p.events('r', 'childSaInstalled').length, 1);
  assert.equal(p.r.drops.notExpected + p.r.drops.malformed, 0);
});
