/**
 * `tsipsec pki`: a CA, an intermediate and an end-entity certificate made with the command alone, verified by
 * OpenSSL; a CRL revoking the end entity, read back by OpenSSL; --print; usage errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toolSkip } from '../helpers/prerequisites.js';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/cli/run.js';

async function pki(
  dir: string,
  out: string | undefined,
  ...args: string[]
): Promise<{ code: number; text: string; err: string }> {
  let text = '';
  let err = '';
  const code = await run(['pki', ...args], {
    stdout: { write: (s: string) => (text += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  if (out !== undefined) {
    assert.equal(code, 0, `pki ${args.join(' ')}: ${err}`);
    fs.writeFileSync(path.join(dir, out), text, { mode: 0o600 });
  }
  return { code, text, err };
}

test(
  'pki: --gen, --self, --issue through an intermediate, --signcrl, --print; OpenSSL agrees',
  { skip: toolSkip('openssl') },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-pki-cli-'));
    const prev = process.cwd();
    process.chdir(dir);
    try {
      assert.equal((await pki(dir, 'ca.key', '--gen', '--type', 'ecdsa', '--size', '384', '--outform', 'pem')).code, 0);
      await pki(
        dir,
        'ca.pem',
        '--self',
        '--ca',
        '--in',
        'ca.key',
        '--dn',
        'C=CH, O=Test, CN=Root CA',
        '--outform',
        'pem',
      );
      await pki(dir, 'im.key', '--gen', '--type', 'rsa', '--outform', 'pem');
      await pki(
        dir,
        'im.pem',
        '--issue',
        '--in',
        'im.key',
        '--cacert',
        'ca.pem',
        '--cakey',
        'ca.key',
        '--ca',
        '--pathlen',
        '0',
        '--dn',
        'C=CH, O=Test, CN=Intermediate',
        '--outform',
        'pem',
      );
      await pki(dir, 'ee.key', '--gen', '--type', 'ed25519', '--outform', 'pem');
      await pki(
        dir,
        'ee.pem',
        '--issue',
        '--in',
        'ee.key',
        '--cacert',
        'im.pem',
        '--cakey',
        'im.key',
        '--rsa-padding',
        'pss',
        '--dn',
        'C=CH, O=Test, CN=moon.example.org',
        '--san',
        'moon.example.org',
        '--san',
        '192.0.2.1',
        '--flag',
        'serverAuth',
        '--flag',
        'clientAuth',
        '--outform',
        'pem',
      );
      const v = execFileSync('openssl', ['verify', '-CAfile', 'ca.pem', '-untrusted', 'im.pem', 'ee.pem']).toString();
      assert.match(v, /ee\.pem: OK/);
      const text = execFileSync('openssl', ['x509', '-in', 'ee.pem', '-noout', '-text']).toString();
      assert.match(text, /DNS:moon\.example\.org, IP Address:192\.0\.2\.1/);
      assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
      assert.match(
        execFileSync('openssl', ['x509', '-in', 'ee.pem', '-noout', '-text']).toString(),
        /RSASSA-PSS|rsassaPss/i,
      );
      const printed = (await pki(dir, undefined, '--print', '--in', 'ee.pem')).text;
      assert.match(printed, /subject: {2}"C=CH, O=Test, CN=moon\.example\.org"/);
      assert.match(printed, /issuer: {3}"C=CH, O=Test, CN=Intermediate"/);
      assert.match(printed, /altNames: {2}moon\.example\.org, 192\.0\.2\.1/);
      await pki(
        dir,
        'im.crl',
        '--signcrl',
        '--cacert',
        'im.pem',
        '--cakey',
        'im.key',
        '--cert',
        'ee.pem',
        '--outform',
        'pem',
      );
      const crl = execFileSync('openssl', ['crl', '-in', 'im.crl', '-CAfile', 'im.pem', '-noout', '-text'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }).toString();
      const serial = execFileSync('openssl', ['x509', '-in', 'ee.pem', '-noout', '-serial'])
        .toString()
        .trim()
        .split('=')[1];
      assert.ok(crl.includes(`Serial Number: ${serial}`), crl);
    } finally {
      process.chdir(prev);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'pki: --req makes a request openssl verifies; --issue from it keeps its subject and subjectAltNames',
  { skip: toolSkip('openssl') },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-pki-req-'));
    const prev = process.cwd();
    process.chdir(dir);
    try {
      await pki(dir, 'ca.key', '--gen', '--type', 'rsa', '--outform', 'pem');
      await pki(
        dir,
        'ca.pem',
        '--self',
        '--ca',
        '--in',
        'ca.key',
        '--dn',
        'C=CH, O=Test, CN=Req CA',
        '--outform',
        'pem',
      );
      await pki(dir, 'sun.key', '--gen', '--type', 'ecdsa', '--outform', 'pem');
      const r = await pki(
        dir,
        'sun.csr',
        '--req',
        '--in',
        'sun.key',
        '--dn',
        'C=CH, O=Test, CN=sun.example.org',
        '--san',
        'sun.example.org',
        '--san',
        '198.51.100.1',
        '--outform',
        'pem',
      );
      assert.equal(r.code, 0, r.err);
      const verified = execFileSync('openssl', ['req', '-in', 'sun.csr', '-verify', '-noout', '-text'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }).toString();
      assert.match(verified, /Subject: C = CH, O = Test, CN = sun\.example\.org/);
      assert.match(verified, /DNS:sun\.example\.org, IP Address:198\.51\.100\.1/);
      // openssl's own request is accepted too
      execFileSync('openssl', ['req', '-new', '-key', 'sun.key', '-subj', '/C=CH/O=Test/CN=other', '-out', 'o.csr']);
      await pki(
        dir,
        'sun.pem',
        '--issue',
        '--in',
        'sun.csr',
        '--cacert',
        'ca.pem',
        '--cakey',
        'ca.key',
        '--outform',
        'pem',
      );
      const printed = (await pki(dir, undefined, '--print', '--in', 'sun.pem')).text;
      assert.match(printed, /subject: {2}"C=CH, O=Test, CN=sun\.example\.org"/);
      assert.match(printed, /altNames: {2}sun\.example\.org, 198\.51\.100\.1/);
      await pki(
        dir,
        'o.pem',
        '--issue',
        '--in',
        'o.csr',
        '--cacert',
        'ca.pem',
        '--cakey',
        'ca.key',
        '--outform',
        'pem',
      );
      assert.match(
        (await pki(dir, undefined, '--print', '--in', 'o.pem')).text,
        /subject: {2}"C=CH, O=Test, CN=other"/,
      );
      assert.match(
        execFileSync('openssl', ['verify', '-CAfile', 'ca.pem', 'sun.pem', 'o.pem']).toString(),
        /sun\.pem: OK\no\.pem: OK/,
      );
    } finally {
      process.chdir(prev);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('pki: usage errors exit 2 with the reason', async () => {
  const r = await pki('', undefined, '--gen', '--type', 'dsa');
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown key type 'dsa'/);
  const s = await pki('', undefined, '--self', '--gen');
  assert.equal(s.code, 2);
  assert.match(s.err, /exactly one of/);
});

test('pki: a file that is not what its option wants exits 1 naming the option, the file and the reason', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-pki-bad-'));
  try {
    const key = path.join(dir, 'k.pem');
    fs.writeFileSync(key, (await pki(dir, undefined, '--gen', '--type', 'ed25519', '--outform', 'pem')).text, {
      mode: 0o600,
    });
    const notCert = await pki(dir, undefined, '--issue', '--in', key, '--cacert', key, '--cakey', key, '--dn', 'CN=x');
    assert.equal(notCert.code, 1);
    assert.match(notCert.err, new RegExp(`^tsipsec pki: --cacert ${key}: no CERTIFICATE block`));
    const missing = await pki(dir, undefined, '--print', '--in', path.join(dir, 'none.pem'));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /--in .*none\.pem: no such file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('pki: --serial is encoded as a minimal positive INTEGER that OpenSSL reads back', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-pki-serial-'));
  try {
    const key = path.join(dir, 'k.pem');
    fs.writeFileSync(key, (await pki(dir, undefined, '--gen', '--type', 'ecdsa', '--outform', 'pem')).text, {
      mode: 0o600,
    });
    // A leading zero octet before a byte below 0x80 is the padding OpenSSL refuses; a high bit needs one.
    for (const [given, expected] of [
      ['00:01', '01'],
      ['007f', '7F'],
      ['0080', '80'],
      ['ff', 'FF'],
      ['abc', '0ABC'],
    ] as const) {
      const r = await pki(dir, undefined, '--self', '--in', key, '--dn', 'CN=s', '--serial', given, '--outform', 'pem');
      assert.equal(r.code, 0, r.err);
      assert.equal(new X509Certificate(r.text).serialNumber, expected, `--serial ${given}`);
    }
    const bad = await pki(dir, undefined, '--self', '--in', key, '--dn', 'CN=s', '--serial', 'xyz');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--serial: serial 'xyz' is not hexadecimal/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
