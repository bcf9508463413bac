/** CRLs fetched over HTTP: the lookup answers from what arrived, fetches what a certificate names, says why not. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CrlCache } from '../../src/pki/crl-fetch.js';
import { signCrl } from '../../src/pki/issue.js';
import { T0_MS, makeCa, makeCert } from '../helpers/pki.js';

const URI = 'http://198.51.100.10/ca.crl';
const ca = makeCa('CN=CRL CA', 'p256');
const peer = makeCert(ca, 'CN=peer', 'p256', [], { crlUris: [URI] });
const crl = signCrl({
  issuer: ca.cert,
  signingKey: ca.key,
  revoked: [{ serial: peer.cert.serial, dateMs: T0_MS - 1000 }],
  thisUpdateMs: T0_MS - 5000,
  nextUpdateMs: T0_MS + 86_400_000,
});

test('a distribution point is fetched on first sight; the next lookup finds the certificate revoked', async () => {
  const asked: string[] = [];
  const cache = new CrlCache([], async (uri) => {
    asked.push(uri);
    return crl;
  });
  const first = cache.status(peer.cert, ca.cert, T0_MS);
  assert.equal(first.status, 'unknown');
  assert.match(first.detail, /the CRL at http:\/\/198\.51\.100\.10\/ca\.crl is being fetched/);
  await cache.fetch(URI, T0_MS);
  assert.deepEqual(asked, [URI]);
  const second = cache.status(peer.cert, ca.cert, T0_MS);
  assert.equal(second.status, 'revoked');
  assert.match(second.detail, /listed in the CRL of 'CN=CRL CA'/);
});

test('a failed fetch is reported in the status and not retried at once; non-HTTP URIs are not fetched', async () => {
  let calls = 0;
  const cache = new CrlCache([], async () => {
    calls++;
    throw new Error('connection refused');
  });
  await cache.fetch(URI, T0_MS);
  const s = cache.status(peer.cert, ca.cert, T0_MS);
  assert.equal(s.status, 'unknown');
  assert.match(s.detail, /fetching http:\/\/198\.51\.100\.10\/ca\.crl failed: connection refused/);
  await cache.fetch(URI, T0_MS + 1000);
  assert.equal(calls, 1);
  await cache.fetch('ldap://198.51.100.10/cn=ca', T0_MS);
  assert.equal(calls, 1);
});
