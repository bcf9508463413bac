/** Certificates made by src/pki/issue.ts read back, checked by OpenSSL, chains validated with a given time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toolSkip } from '../helpers/prerequisites.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeDn, dnMatches, encodeDn, formatDn, parseDn } from '../../src/pki/dn.js';
import { toPem } from '../../src/pki/pem.js';
import { CertificateError, X509Cert } from '../../src/pki/certificate.js';
import { certHasIdentity } from '../../src/pki/identity-binding.js';
import { validateChain } from '../../src/pki/validate.js';
import { T0_MS, makeCa, makeCert } from '../helpers/pki.js';

const DAY = 86_400_000;

const pem = (der: Buffer): string => toPem('CERTIFICATE', der);

test('DN strings: strongSwan form round trips through DER; wildcards match', () => {
  const dn = parseDn('C=CH, O=strongSwan, CN=moon.strongswan.org');
  assert.equal(formatDn(decodeDn(encodeDn(dn))), 'C=CH, O=strongSwan, CN=moon.strongswan.org');
  assert.equal(formatDn(parseDn('/C=CH/O=strongSwan/CN=sun')), 'C=CH, O=strongSwan, CN=sun');
  assert.ok(dnMatches(parseDn('C=CH, O=strongSwan, CN=*'), dn));
  assert.ok(dnMatches(parseDn('c=ch, o=STRONGSWAN, cn=MOON.strongswan.org'), dn));
  assert.ok(!dnMatches(parseDn('C=CH, O=strongSwan, CN=sun.strongswan.org'), dn));
  assert.ok(!dnMatches(parseDn('C=CH, CN=*'), dn));
  assert.throws(() => parseDn('C=CH, XYZ=1'), /unknown attribute 'XYZ'/);
});

test('issued certificates: OpenSSL verifies the chain; fields read back', { skip: toolSkip('openssl') }, () => {
  const root = makeCa('C=CH, O=Test, CN=Root CA', 'rsa');
  const sub = makeCa('C=CH, O=Test, CN=Sub CA', 'p384', root, { pathLen: 0 });
  const ee = makeCert(sub, 'C=CH, O=Test, CN=moon.example.org', 'ed25519', [
    'moon.example.org',
    '192.0.2.1',
    'moon@example.org',
  ]);
  const dir = mkdtempSync(path.join(tmpdir(), 'tsipsec-pki-'));
  try {
    writeFileSync(path.join(dir, 'root.pem'), pem(root.cert.der));
    writeFileSync(path.join(dir, 'sub.pem'), pem(sub.cert.der));
    writeFileSync(path.join(dir, 'ee.pem'), pem(ee.cert.der));
    const out = execFileSync('openssl', [
      'verify',
      '-attime',
      String(T0_MS / 1000),
      '-CAfile',
      path.join(dir, 'root.pem'),
      '-untrusted',
      path.join(dir, 'sub.pem'),
      path.join(dir, 'ee.pem'),
    ]).toString();
    assert.match(out, /ee\.pem: OK/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(ee.cert.subjectText, 'C=CH, O=Test, CN=moon.example.org');
  assert.equal(ee.cert.issuerText, 'C=CH, O=Test, CN=Sub CA');
  assert.deepEqual(ee.cert.sanDns, ['moon.example.org']);
  assert.deepEqual(ee.cert.sanIp, ['192.0.2.1']);
  assert.equal(sub.cert.isCa, true);
  assert.equal(sub.cert.pathLen, 0);
  assert.ok(certHasIdentity(ee.cert, { type: 'fqdn', value: 'MOON.example.org' }));
  assert.ok(certHasIdentity(ee.cert, { type: 'ipv4', value: '192.0.2.1' }));
  assert.ok(certHasIdentity(ee.cert, { type: 'rfc822', value: 'moon@example.org' }));
  assert.ok(!certHasIdentity(ee.cert, { type: 'fqdn', value: 'sun.example.org' }));
  const dn = parseDn('C=CH, O=Test, CN=*');
  assert.ok(certHasIdentity(ee.cert, { type: 'dn', value: formatDn(dn), der: encodeDn(dn) }));

  const ok = validateChain(ee.cert, [sub.cert], [root.cert], T0_MS);
  assert.equal(ok.ok, true);
  const r = (x: ReturnType<typeof validateChain>) => (x.ok ? 'ok' : x.reason);
  assert.match(r(validateChain(ee.cert, [], [root.cert], T0_MS)), /no trusted CA issued 'C=CH, O=Test, CN=moon/);
  assert.match(r(validateChain(ee.cert, [sub.cert], [root.cert], T0_MS + 60 * DAY)), /expired/);
  assert.match(r(validateChain(ee.cert, [sub.cert], [root.cert], T0_MS - 60 * DAY)), /not valid before/);
  assert.match(r(validateChain(ee.cert, [sub.cert], [sub.cert], T0_MS)), /^ok$/);
});

test('chain refusals: path length, CA flag, key usage', () => {
  const root = makeCa('CN=Root', 'p256', undefined, { pathLen: 0 });
  const sub = makeCa('CN=Sub', 'p256', root);
  const ee = makeCert(sub, 'CN=ee', 'p256');
  const r = validateChain(ee.cert, [sub.cert], [root.cert], T0_MS);
  assert.ok(!r.ok && /path length of 0/.test(r.reason));
  const notCa = makeCert(root, 'CN=not a CA', 'p256', [], { keyUsage: 0 });
  const below = makeCert(notCa, 'CN=below', 'p256');
  const r2 = validateChain(below.cert, [notCa.cert], [root.cert], T0_MS);
  assert.ok(!r2.ok && /is not a CA/.test(r2.reason));
  const r2b = validateChain(below.cert, [], [notCa.cert], T0_MS);
  assert.ok(!r2b.ok && /is not a CA/.test(r2b.reason), r2b.ok ? '' : r2b.reason);
  const noSign = makeCert(root, 'CN=encipher only', 'p256', [], { keyUsage: 4 });
  const r3 = validateChain(noSign.cert, [], [root.cert], T0_MS);
  assert.ok(!r3.ok && /does not allow digitalSignature/.test(r3.reason));
});

test('garbled and truncated certificates only ever give CertificateError', () => {
  const ca = makeCa('C=CH, O=Test, CN=Fuzz CA', 'p256');
  const ee = makeCert(ca, 'C=CH, O=Test, CN=fuzz', 'rsa', ['fuzz.example.org', '2001:db8::1']);
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 300; i++) {
    const der = Buffer.from(ee.cert.der);
    const mutated = i % 3 === 0 ? der.subarray(0, rnd(der.length)) : der;
    if (i % 3 !== 0) for (let k = 0; k <= rnd(4); k++) mutated[rnd(mutated.length)] = rnd(256);
    try {
      X509Cert.fromDer(mutated);
    } catch (e) {
      assert.ok(e instanceof CertificateError, `mutation ${i}: ${String(e)}`);
    }
  }
});
