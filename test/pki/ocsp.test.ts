/**
 * OCSP (RFC 6960): our request is answered by `openssl ocsp` acting as the responder (index file, CA-signed
 * responses), and we read the answers: good, revoked, a response for another certificate, a forged signer;
 * the cache answers from what arrived.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toolSkip } from '../helpers/prerequisites.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OcspCache, ocspRequest, ocspStatus } from '../../src/pki/ocsp.js';
import { toPem } from '../../src/pki/pem.js';
import { normalizeSerial } from '../../src/pki/crl.js';
import type { X509Cert } from '../../src/pki/certificate.js';
import { makeCa, makeCert } from '../helpers/pki.js';

const ca = makeCa('C=CH, O=Test, CN=OCSP CA', 'p256');
const good = makeCert(ca, 'CN=good', 'p256');
const revoked = makeCert(ca, 'CN=revoked', 'rsa');
const other = makeCa('CN=Other CA', 'p256');

function serialHex(c: X509Cert): string {
  const h = normalizeSerial(c.serial).toUpperCase();
  return h.length % 2 === 1 ? `0${h}` : h;
}

/** `openssl ocsp` answers our request for `cert` from an index where `revoked` is revoked. */
function answer(cert: X509Cert, signer = ca): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-ocsp-'));
  try {
    const f = (n: string) => path.join(dir, n);
    fs.writeFileSync(
      f('index.txt'),
      `V\t301231235959Z\t\t${serialHex(good.cert)}\tunknown\t/CN=good\n` +
        `R\t301231235959Z\t250101000000Z\t${serialHex(revoked.cert)}\tunknown\t/CN=revoked\n`,
    );
    fs.writeFileSync(f('ca.pem'), toPem('CERTIFICATE', ca.cert.der));
    fs.writeFileSync(f('signer.pem'), toPem('CERTIFICATE', signer.cert.der));
    fs.writeFileSync(f('signer.key'), signer.key.export({ format: 'pem', type: 'pkcs8' }));
    fs.writeFileSync(f('req.der'), ocspRequest(cert, ca.cert));
    execFileSync(
      'openssl',
      [
        'ocsp',
        '-index',
        f('index.txt'),
        '-CA',
        f('ca.pem'),
        '-rsigner',
        f('signer.pem'),
        '-rkey',
        f('signer.key'),
        '-reqin',
        f('req.der'),
        '-respout',
        f('resp.der'),
        '-ndays',
        '1',
      ],
      { stdio: 'ignore' },
    );
    return fs.readFileSync(f('resp.der'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const now = Date.now();

test('openssl ocsp answers our requests: good and revoked', { skip: toolSkip('openssl') }, () => {
  const g = ocspStatus(answer(good.cert), good.cert, ca.cert, now);
  assert.equal(g.status, 'good', g.detail);
  assert.match(g.detail, /OCSP responder 'C=CH, O=Test, CN=OCSP CA' says good/);
  const r = ocspStatus(answer(revoked.cert), revoked.cert, ca.cert, now);
  assert.equal(r.status, 'revoked', r.detail);
  assert.match(r.detail, /says revoked since 2025-01-01T00:00:00/);
});

test(
  'unusable answers: another certificate, a signer the CA did not authorise, garbage',
  { skip: toolSkip('openssl') },
  () => {
    const forGood = answer(good.cert);
    assert.match(ocspStatus(forGood, revoked.cert, ca.cert, now).detail, /does not cover this certificate/);
    const forged = answer(revoked.cert, other);
    const s = ocspStatus(forged, revoked.cert, ca.cert, now);
    assert.equal(s.status, 'unknown');
    assert.match(s.detail, /not signed by 'C=CH, O=Test, CN=OCSP CA' or its OCSP signer/);
    assert.match(
      ocspStatus(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x00]), good.cert, ca.cert, now).detail,
      /malformed|basic/,
    );
  },
);

test(
  'the cache asks the responder in the background and answers from what arrived',
  { skip: toolSkip('openssl') },
  async () => {
    const posted: string[] = [];
    const cache = new OcspCache(async (uri, req) => {
      posted.push(uri);
      assert.deepEqual(Buffer.from(req), ocspRequest(revoked.cert, ca.cert));
      return answer(revoked.cert);
    });
    const uri = 'http://198.51.100.10:8888/';
    const first = cache.status(revoked.cert, ca.cert, [uri], now);
    assert.equal(first.status, 'unknown');
    assert.match(first.detail, /being fetched from http:\/\/198\.51\.100\.10:8888\//);
    await cache.fetch(revoked.cert, ca.cert, [uri], now);
    assert.equal(cache.status(revoked.cert, ca.cert, [uri], now).status, 'revoked');
    assert.deepEqual(posted, [uri]);
    assert.match(cache.status(good.cert, ca.cert, [], now).detail, /no OCSP responder is known/);
  },
);
