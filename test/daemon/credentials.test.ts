/**
 * Credentials beside swanctl.conf (x509/, x509ca/, private/, pubkey/, x509crl/) as the daemon loads them: PEM
 * and DER, encrypted keys with their passphrase in secrets, the identity taken from the certificate, and the
 * refusals (a key others can read, a wrong passphrase, a missing key, an id not in the certificate).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toolSkip } from '../helpers/prerequisites.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPublicKey } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { loadDaemonConfig } from '../../src/daemon/load-config.js';
import { ConfigError } from '../../src/config/config-error.js';
import { toPem } from '../../src/pki/pem.js';
import { signCrl } from '../../src/pki/issue.js';
import { T0_MS, makeCa, makeCert } from '../helpers/pki.js';

const ca = makeCa('C=CH, O=ts-ipsec test, CN=Test CA', 'p256');
const moon = makeCert(ca, 'C=CH, O=ts-ipsec test, CN=moon.example.org', 'rsa', ['moon.example.org']);

const CONF = `connections {
  gw {
    local_addrs = 192.0.2.1
    remote_addrs = 198.51.100.1
    local {
      auth = pubkey
      certs = moon.pem
    }
    remote {
      auth = pubkey
      id = "C=CH, O=ts-ipsec test, CN=*"
      revocation = strict
    }
  }
}
`;

function withDir(files: Record<string, { data: string | Buffer; mode?: number }>, fn: (conf: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-creds-'));
  try {
    for (const [name, f] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), f.data, { mode: f.mode ?? 0o600 });
      fs.chmodSync(path.join(dir, name), f.mode ?? 0o600);
    }
    fn(path.join(dir, 'swanctl.conf'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const keyPem = moon.key.export({ format: 'pem', type: 'pkcs8' }).toString();

test('certificate from x509/, CA from x509ca/ (DER), key from private/: the id is the certificate subject', () => {
  withDir(
    {
      'swanctl.conf': { data: CONF },
      'x509/moon.pem': { data: toPem('CERTIFICATE', moon.cert.der) },
      'x509ca/ca.der': { data: ca.cert.der },
      'private/moon.key': { data: keyPem },
    },
    (f) => {
      const { config } = loadDaemonConfig(f);
      const c = config.connections[0]?.ike;
      assert.ok(c?.localAuth !== undefined && c.remoteAuth !== undefined);
      assert.equal(c.localId.type, 'dn');
      assert.equal(c.localId.type === 'dn' ? c.localId.value : '', 'C=CH, O=ts-ipsec test, CN=moon.example.org');
      assert.equal(c.localAuth.certs[0]?.subjectText, moon.cert.subjectText);
      assert.equal(c.remoteAuth.cacerts[0]?.subjectText, 'C=CH, O=ts-ipsec test, CN=Test CA');
      assert.equal(c.remoteAuth.revocation, 'strict');
      assert.equal(c.remoteId.type, 'dn');
    },
  );
});

test('a private key readable by group or others is refused with chmod 600', () => {
  withDir(
    {
      'swanctl.conf': { data: CONF },
      'x509/moon.pem': { data: toPem('CERTIFICATE', moon.cert.der) },
      'x509ca/ca.pem': { data: toPem('CERTIFICATE', ca.cert.der) },
      'private/moon.key': { data: keyPem, mode: 0o644 },
    },
    (f) => {
      assert.throws(
        () => loadDaemonConfig(f),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.match(
            e.message,
            /private\/moon\.key:1:1: private key .*moon\.key is readable by group or others \(mode 0644\) \(chmod 600 /,
          );
          return true;
        },
      );
    },
  );
});

test('an encrypted key with its passphrase in secrets; a wrong passphrase is a clear error', () => {
  const enc = moon.key
    .export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'correct horse' })
    .toString();
  const secrets = (pass: string) =>
    `${CONF}secrets {\n  private-moon {\n    file = moon.enc\n    secret = "${pass}"\n  }\n}\n`;
  const files = (pass: string) => ({
    'swanctl.conf': { data: secrets(pass) },
    'x509/moon.pem': { data: toPem('CERTIFICATE', moon.cert.der) },
    'x509ca/ca.pem': { data: toPem('CERTIFICATE', ca.cert.der) },
    'private/moon.enc': { data: enc },
  });
  withDir(files('correct horse'), (f) => {
    assert.ok(loadDaemonConfig(f).config.connections[0]?.ike.localAuth !== undefined);
  });
  withDir(files('wrong'), (f) => {
    assert.throws(
      () => loadDaemonConfig(f),
      /swanctl\.conf:\d+:\d+: cannot load private key .*moon\.enc: wrong passphrase \(check the secret/,
    );
  });
});

test('refusals: no private key for the certificate; local id not in the certificate; no CA for the peer', () => {
  withDir(
    {
      'swanctl.conf': { data: CONF },
      'x509/moon.pem': { data: toPem('CERTIFICATE', moon.cert.der) },
      'x509ca/ca.pem': { data: toPem('CERTIFICATE', ca.cert.der) },
    },
    (f) =>
      assert.throws(
        () => loadDaemonConfig(f),
        /no private key for certificate 'C=CH, O=ts-ipsec test, CN=moon\.example\.org' of 'gw' \(put the key in private\//,
      ),
  );
  withDir(
    {
      'swanctl.conf': { data: CONF.replace('certs = moon.pem', 'certs = moon.pem\n      id = sun.example.org') },
      'x509/moon.pem': { data: toPem('CERTIFICATE', moon.cert.der) },
      'x509ca/ca.pem': { data: toPem('CERTIFICATE', ca.cert.der) },
      'private/moon.key': { data: keyPem },
    },
    (f) =>
      assert.throws(
        () => loadDaemonConfig(f),
        /local id 'sun\.example\.org' of 'gw' is not in certificate .*\(use the subject DN or a subjectAltName \(moon\.example\.org\)\)/,
      ),
  );
  withDir(
    {
      'swanctl.conf': { data: CONF },
      'x509/moon.pem': { data: toPem('CERTIFICATE', moon.cert.der) },
      'private/moon.key': { data: keyPem },
    },
    (f) =>
      assert.throws(
        () => loadDaemonConfig(f),
        /no CA certificate is loaded to check the peer \(put the CA certificate in x509ca\//,
      ),
  );
});

test('CRLs from x509crl/ answer the revocation lookup', () => {
  const peer = makeCert(ca, 'C=CH, O=ts-ipsec test, CN=sun', 'p256');
  const crl = signCrl({
    issuer: ca.cert,
    signingKey: ca.key,
    revoked: [{ serial: peer.cert.serial, dateMs: T0_MS - 1000 }],
    thisUpdateMs: T0_MS - 5000,
    nextUpdateMs: T0_MS + 86_400_000,
  });
  withDir(
    {
      'swanctl.conf': { data: CONF },
      'x509/moon.pem': { data: toPem('CERTIFICATE', moon.cert.der) },
      'x509ca/ca.pem': { data: toPem('CERTIFICATE', ca.cert.der) },
      'private/moon.key': { data: keyPem },
      'x509crl/ca.crl': { data: toPem('X509 CRL', crl) },
    },
    (f) => {
      const r = loadDaemonConfig(f).config.connections[0]?.ike.remoteAuth;
      assert.equal(r?.revocationStatus?.(peer.cert, ca.cert, T0_MS).status, 'revoked');
      assert.equal(r?.revocationStatus?.(moon.cert, ca.cert, T0_MS).status, 'good');
      assert.equal(r?.revocationStatus?.(moon.cert, ca.cert, T0_MS + 2 * 86_400_000).status, 'unknown');
    },
  );
  assert.ok(createPublicKey(moon.key));
});

test(
  'PKCS#12 from pkcs12/ with its passphrase in secrets.pkcs12*; wrong passphrase and legacy files refused',
  { skip: toolSkip('openssl') },
  () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-p12-'));
    const p12 = (legacy: boolean): Buffer => {
      fs.writeFileSync(path.join(tmp, 'k.pem'), keyPem, { mode: 0o600 });
      fs.writeFileSync(path.join(tmp, 'c.pem'), toPem('CERTIFICATE', moon.cert.der));
      const out = path.join(tmp, legacy ? 'l.p12' : 'm.p12');
      execFileSync('openssl', [
        'pkcs12',
        '-export',
        ...(legacy ? ['-legacy'] : []),
        '-inkey',
        path.join(tmp, 'k.pem'),
        '-in',
        path.join(tmp, 'c.pem'),
        '-passout',
        'pass:p12 secret',
        '-out',
        out,
      ]);
      return fs.readFileSync(out);
    };
    const modern = p12(false);
    const legacy = p12(true);
    fs.rmSync(tmp, { recursive: true, force: true });
    const conf = (file: string, pass: string) =>
      CONF.replace('      certs = moon.pem\n', '      id = moon.example.org\n') +
      `secrets {\n  pkcs12-moon {\n    file = ${file}\n    secret = "${pass}"\n  }\n}\n`;
    const files = (file: string, data: Buffer, pass: string) => ({
      'swanctl.conf': { data: conf(file, pass) },
      'x509ca/ca.pem': { data: toPem('CERTIFICATE', ca.cert.der) },
      [`pkcs12/${file}`]: { data },
    });
    withDir(files('moon.p12', modern, 'p12 secret'), (f) => {
      const c = loadDaemonConfig(f).config.connections[0]?.ike;
      assert.equal(c?.localAuth?.certs[0]?.subjectText, moon.cert.subjectText);
    });
    withDir(files('moon.p12', modern, 'not it'), (f) =>
      assert.throws(
        () => loadDaemonConfig(f),
        /cannot load PKCS#12 file .*moon\.p12: wrong passphrase .*the MAC does not verify \(check the secret/,
      ),
    );
    withDir(files('old.p12', legacy, 'p12 secret'), (f) =>
      assert.throws(() => loadDaemonConfig(f), /legacy RC2\/3DES\): re-export with OpenSSL 3 defaults/),
    );
  },
);
