/**
 * IKE_AUTH with certificates, engine to engine (RFC 7296 2.15, 3.6, 3.7; RFC 7427; RFC 4754; RFC 8420):
 * every key type through a chain root -> intermediate -> end entity, and the refusals, each giving
 * AUTHENTICATION_FAILED with its reason and no CHILD_SA.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import type { ConnectionConfig, IkeIdentity, LocalPubkeyAuth, RemotePubkeyAuth } from '../../src/ike/config.js';
import type { X509Cert } from '../../src/pki/certificate.js';
import { encodeDn, parseDn } from '../../src/pki/dn.js';
import { Pair } from './exchange-helper.js';
import { saCertificates } from '../../src/pki/listing.js';
import type { PeerOptions } from './exchange-helper.js';
import { T0_MS, genKey, makeCa, makeCert } from '../helpers/pki.js';
import type { KeyKind, TestCa } from '../helpers/pki.js';

const DAY = 86_400_000;
const root = makeCa('C=CH, O=ts-ipsec test, CN=Root CA', 'p256');
const sub = makeCa('C=CH, O=ts-ipsec test, CN=Intermediate CA', 'p384', root, { pathLen: 0 });

function dnId(text: string): IkeIdentity {
  return { type: 'dn', value: text, der: encodeDn(parseDn(text)) };
}

function local(who: TestCa, chain: X509Cert[] = [sub.cert], rsaPss = false): LocalPubkeyAuth {
  return { privateKey: who.key, certs: [who.cert, ...chain], rsaPss };
}

function remote(cacerts: X509Cert[] = [root.cert], extra: Partial<RemotePubkeyAuth> = {}): RemotePubkeyAuth {
  return { cacerts, intermediates: [], certs: [], pubkeys: [], revocation: 'relaxed', ...extra };
}

function peers(i: Partial<ConnectionConfig>, r: Partial<ConnectionConfig>): [PeerOptions, PeerOptions] {
  return [{ conn: { sendCert: 'always', ...i } }, { conn: { sendCert: 'always', ...r } }];
}

function run(p: Pair): void {
  p.nowMs = T0_MS;
  p.initiate();
  p.run();
}

function assertUp(p: Pair): void {
  for (const side of ['i', 'r'] as const) {
    assert.deepEqual(p.events(side, 'authFailed'), [], `no authFailed on ${side}`);
    assert.equal(p.events(side, 'ikeSaEstablished').length, 1, `IKE_SA on ${side}`);
    assert.equal(p.events(side, 'childSaInstalled').length, 1, `CHILD_SA on ${side}`);
  }
}

/** The side that refused says why; the other hears AUTHENTICATION_FAILED; no CHILD_SA anywhere. */
function assertRefused(p: Pair, by: 'i' | 'r', reason: RegExp): void {
  const [mine] = p.events(by, 'authFailed');
  assert.equal(mine?.byUs, true, `${by} refused`);
  assert.match(mine?.reason ?? '', reason);
  const [theirs] = p.events(by === 'i' ? 'r' : 'i', 'authFailed');
  assert.equal(theirs?.byUs, false);
  if (by === 'r') assert.match(theirs?.reason ?? '', /AUTHENTICATION_FAILED/);
  for (const side of ['i', 'r'] as const) assert.equal(p.events(side, 'childSaInstalled').length, 0);
  assert.equal(p.i.ikeSas().length, 0);
  assert.equal(p.r.ikeSas().length, 0);
}

const kinds: [string, KeyKind, boolean][] = [
  ['RSA PKCS#1 v1.5', 'rsa', false],
  ['RSASSA-PSS', 'rsa', true],
  ['ECDSA P-256', 'p256', false],
  ['ECDSA P-384', 'p384', false],
  ['ECDSA P-521', 'p521', false],
  ['Ed25519', 'ed25519', false],
  ['Ed448', 'ed448', false],
];
for (const [name, kind, pss] of kinds) {
  test(`${name} certificates through an intermediate CA, both directions`, () => {
    const moon = makeCert(sub, 'C=CH, O=ts-ipsec test, CN=moon.example.org', kind, ['moon.example.org']);
    const sun = makeCert(sub, 'C=CH, O=ts-ipsec test, CN=sun.example.org', kind, ['sun.example.org']);
    const p = new Pair(
      ...peers(
        { localAuth: local(moon, [sub.cert], pss), remoteAuth: remote() },
        { localAuth: local(sun, [sub.cert], pss), remoteAuth: remote() },
      ),
    );
    run(p);
    assertUp(p);
    const [saI] = p.i.ikeSas();
    assert.ok(saI !== undefined);
    const listed = saCertificates(saI);
    assert.equal(listed.localCert?.subject, 'C=CH, O=ts-ipsec test, CN=moon.example.org');
    assert.equal(listed.remoteCert?.subject, 'C=CH, O=ts-ipsec test, CN=sun.example.org');
    assert.equal(listed.remoteCert?.issuer, 'C=CH, O=ts-ipsec test, CN=Intermediate CA');
    assert.equal(listed.remoteCert?.serial, sun.cert.serial);
  });
}

test('DN identities with a CN=* wildcard on the remote side; send_cert ifasked answers CERTREQ', () => {
  const moon = makeCert(sub, 'C=CH, O=ts-ipsec test, CN=moon', 'p256');
  const sun = makeCert(sub, 'C=CH, O=ts-ipsec test, CN=sun', 'p256');
  const p = new Pair(
    {
      conn: {
        localId: dnId('C=CH, O=ts-ipsec test, CN=moon'),
        remoteId: dnId('C=CH, O=ts-ipsec test, CN=*'),
        localAuth: local(moon),
        remoteAuth: remote(),
      },
    },
    {
      conn: {
        localId: dnId('C=CH, O=ts-ipsec test, CN=sun'),
        remoteId: { type: 'any' },
        localAuth: local(sun),
        remoteAuth: remote(),
      },
    },
  );
  run(p);
  assertUp(p);
});

test('send_cert = never and no local copy of the peer certificate: refused with how to fix it', () => {
  const moon = makeCert(sub, 'CN=moon', 'p256', ['moon.example.org']);
  const sun = makeCert(sub, 'CN=sun', 'p256', ['sun.example.org']);
  const p = new Pair(
    ...peers(
      { localAuth: local(moon), remoteAuth: remote(), sendCert: 'never' },
      { localAuth: local(sun), remoteAuth: remote() },
    ),
  );
  run(p);
  assertRefused(p, 'r', /sent no certificate and none is known.*remote\.certs/);
});

test('send_cert = never with the peer certificate in remote.certs: accepted', () => {
  const moon = makeCert(sub, 'CN=moon', 'p256', ['moon.example.org']);
  const sun = makeCert(sub, 'CN=sun', 'p256', ['sun.example.org']);
  const p = new Pair(
    ...peers(
      { localAuth: local(moon), remoteAuth: remote(), sendCert: 'never' },
      { localAuth: local(sun), remoteAuth: remote([root.cert], { certs: [moon.cert], intermediates: [sub.cert] }) },
    ),
  );
  run(p);
  assertUp(p);
});

test('refusal: untrusted CA', () => {
  const other = makeCa('CN=Some Other CA', 'p256');
  const moon = makeCert(other, 'CN=moon', 'p256', ['moon.example.org']);
  const sun = makeCert(sub, 'CN=sun', 'p256', ['sun.example.org']);
  const p = new Pair(
    ...peers({ localAuth: local(moon, []), remoteAuth: remote() }, { localAuth: local(sun), remoteAuth: remote() }),
  );
  run(p);
  assertRefused(p, 'r', /not trusted: no trusted CA issued 'CN=moon' \(issuer 'CN=Some Other CA'/);
});

test('refusal: expired and not yet valid', () => {
  const sun = makeCert(sub, 'CN=sun', 'p256', ['sun.example.org']);
  const old = makeCert(sub, 'CN=moon', 'p256', ['moon.example.org'], {
    notBeforeMs: T0_MS - 20 * DAY,
    notAfterMs: T0_MS - DAY,
  });
  const p = new Pair(
    ...peers({ localAuth: local(old), remoteAuth: remote() }, { localAuth: local(sun), remoteAuth: remote() }),
  );
  run(p);
  assertRefused(p, 'r', /expired at/);
  const future = makeCert(sub, 'CN=moon', 'p256', ['moon.example.org'], {
    notBeforeMs: T0_MS + DAY,
    notAfterMs: T0_MS + 20 * DAY,
  });
  const q = new Pair(
    ...peers({ localAuth: local(future), remoteAuth: remote() }, { localAuth: local(sun), remoteAuth: remote() }),
  );
  run(q);
  assertRefused(q, 'r', /not valid before/);
});

test('refusal: the identity is not in the certificate (responder side, seen by the initiator)', () => {
  const moon = makeCert(sub, 'CN=moon', 'p256', ['moon.example.org']);
  const sun = makeCert(sub, 'CN=sun', 'p256', ['mallory.example.org']);
  const p = new Pair(
    ...peers({ localAuth: local(moon), remoteAuth: remote() }, { localAuth: local(sun), remoteAuth: remote() }),
  );
  run(p);
  const [f] = p.events('i', 'authFailed');
  assert.equal(f?.byUs, true);
  assert.match(
    f?.reason ?? '',
    /identity 'sun\.example\.org' is not in the peer's certificate \(subject 'CN=sun', subjectAltNames mallory\.example\.org\)/,
  );
  assert.equal(p.events('i', 'childSaInstalled').length, 0);
  assert.equal(p.i.ikeSas().length, 0);
  assert.equal(p.r.ikeSas().length, 0);
});

test('refusal: a signature by another key than the certificate', () => {
  const moon = makeCert(sub, 'CN=moon', 'p256', ['moon.example.org']);
  const sun = makeCert(sub, 'CN=sun', 'p256', ['sun.example.org']);
  const p = new Pair(
    ...peers(
      { localAuth: { ...local(moon), privateKey: genKey('p256') }, remoteAuth: remote() },
      { localAuth: local(sun), remoteAuth: remote() },
    ),
  );
  run(p);
  assertRefused(p, 'r', /signature authentication of 'moon\.example\.org' failed: .*does not verify/);
});

test('refusal: key usage without digitalSignature', () => {
  const moon = makeCert(sub, 'CN=moon', 'p256', ['moon.example.org'], { keyUsage: 4 });
  const sun = makeCert(sub, 'CN=sun', 'p256', ['sun.example.org']);
  const p = new Pair(
    ...peers({ localAuth: local(moon), remoteAuth: remote() }, { localAuth: local(sun), remoteAuth: remote() }),
  );
  run(p);
  assertRefused(p, 'r', /key usage does not allow digitalSignature/);
});

test('refusal: a truncated CERT payload', () => {
  const moon = makeCert(sub, 'CN=moon', 'p256', ['moon.example.org']);
  const sun = makeCert(sub, 'CN=sun', 'p256', ['sun.example.org']);
  const truncated = { ...moon.cert, der: moon.cert.der.subarray(0, moon.cert.der.length - 20) } as X509Cert;
  const p = new Pair(
    ...peers(
      { localAuth: { ...local(moon), certs: [truncated] }, remoteAuth: remote() },
      { localAuth: local(sun), remoteAuth: remote() },
    ),
  );
  run(p);
  assertRefused(p, 'r', /CERT payload from 'moon\.example\.org' is garbled or truncated/);
});

test('refusal: the peer uses a PSK where a signature is required', () => {
  const sun = makeCert(sub, 'CN=sun', 'p256', ['sun.example.org']);
  const p = new Pair({}, { conn: { localAuth: local(sun), remoteAuth: remote() } });
  run(p);
  assertRefused(p, 'r', /authenticated with a pre-shared key, but this connection requires a signature/);
});

test('raw public keys (remote.pubkeys): accepted when configured, refused otherwise', () => {
  const kMoon = genKey('ed25519');
  const kSun = genKey('p256');
  const p = new Pair(
    {
      conn: {
        localAuth: { privateKey: kMoon, certs: [], rsaPss: false },
        remoteAuth: remote([], { pubkeys: [createPublicKey(kSun)] }),
      },
    },
    {
      conn: {
        localAuth: { privateKey: kSun, certs: [], rsaPss: false },
        remoteAuth: remote([], { pubkeys: [createPublicKey(kMoon)] }),
      },
    },
  );
  run(p);
  assertUp(p);
  const q = new Pair(
    {
      conn: {
        localAuth: { privateKey: genKey('ed25519'), certs: [], rsaPss: false },
        remoteAuth: remote([], { pubkeys: [createPublicKey(kSun)] }),
      },
    },
    {
      conn: {
        localAuth: { privateKey: kSun, certs: [], rsaPss: false },
        remoteAuth: remote([], { pubkeys: [createPublicKey(kMoon)] }),
      },
    },
  );
  run(q);
  assertRefused(q, 'r', /signature authentication of 'moon\.example\.org' failed/);
});

test('revocation: a revoked certificate is refused; strict refuses unknown status', () => {
  const moon = makeCert(sub, 'CN=moon', 'p256', ['moon.example.org']);
  const sun = makeCert(sub, 'CN=sun', 'p256', ['sun.example.org']);
  const revoked = remote([root.cert], {
    revocationStatus: (c) =>
      c.serial === moon.cert.serial
        ? { status: 'revoked', detail: 'listed in the test CRL' }
        : { status: 'good', detail: 'test' },
  });
  const p = new Pair(
    ...peers({ localAuth: local(moon), remoteAuth: remote() }, { localAuth: local(sun), remoteAuth: revoked }),
  );
  run(p);
  assertRefused(p, 'r', /certificate 'CN=moon' of 'moon\.example\.org' is revoked: listed in the test CRL/);
  const q = new Pair(
    ...peers(
      { localAuth: local(moon), remoteAuth: remote() },
      { localAuth: local(sun), remoteAuth: remote([root.cert], { revocation: 'strict' }) },
    ),
  );
  run(q);
  assertRefused(q, 'r', /revocation status of 'CN=moon' is unknown .* revocation = strict/);
});
