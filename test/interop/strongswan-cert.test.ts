/**
 * Certificate and raw public key authentication against strongSwan 5.9 (charon with kernel-libipsec, ESP in
 * UDP), both ways, with certificates made by strongSwan's `pki`, the `openssl` CLI and `tsipsec pki`: RSA
 * PKCS#1 v1.5, RSASSA-PSS, ECDSA P-256 and P-384, Ed25519, and chains through an intermediate CA. Our side loads
 * its credentials from the folders beside its swanctl.conf (x509/, x509ca/, private/), strongSwan by absolute
 * paths. Refusals (untrusted CA, expired certificate, a signature by another key) give our reason in our log,
 * AUTHENTICATION_FAILED to the peer and no CHILD_SA.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Lab, waitFor } from '../helpers/lab.js';
import type { LabHost } from '../helpers/lab.js';
import { StrongSwan } from '../helpers/strongswan.js';
import { labSkip } from '../helpers/prerequisites.js';
import { CLI, TsipsecPeer } from '../helpers/tsipsec.js';
import { makeLabPki } from '../helpers/pki-tools.js';
import type { LabPki, PkiKind, PkiOptions, PkiTool } from '../helpers/pki-tools.js';
import type { ConnectionInfo, IkeSaInfo } from '../../src/control/schema.js';
import { readCertificates } from '../../src/pki/credentials.js';
import { normalizeSerial } from '../../src/pki/crl.js';

const skip = labSkip('strongswan', 'openssl', 'pki');

const PROPOSALS = 'version = 2\n    encap = yes\n    proposals = aes128gcm16-prfsha256-x25519';

function child(me: LabHost, peer: LabHost): string {
  return `    children {\n      net {\n        local_ts = ${me.inner4}/32\n        remote_ts = ${peer.inner4}/32\n        esp_proposals = aes128gcm16\n      }\n    }\n`;
}

interface Side {
  local: string;
  remote: string;
  secrets?: string;
}

function conf(me: LabHost, peer: LabHost, s: Side): string {
  return (
    `connections {\n  net {\n    local_addrs = ${me.outer4}\n    remote_addrs = ${peer.outer4}\n    ${PROPOSALS}\n` +
    `    local {\n${s.local}    }\n    remote {\n${s.remote}    }\n${child(me, peer)}  }\n}\n` +
    (s.secrets ?? '')
  );
}

/** Our credentials in the folders beside our swanctl.conf (lab.dir). */
function installOurs(lab: Lab, pki: LabPki, anchor = pki.caCert): void {
  for (const d of ['x509', 'x509ca', 'private']) fs.mkdirSync(path.join(lab.dir, d), { recursive: true });
  fs.copyFileSync(pki.left.chain, path.join(lab.dir, 'x509', 'left.pem'));
  fs.copyFileSync(anchor, path.join(lab.dir, 'x509ca', 'ca.pem'));
  fs.copyFileSync(pki.left.key, path.join(lab.dir, 'private', 'left.key'));
  fs.chmodSync(path.join(lab.dir, 'private', 'left.key'), 0o600);
}

function ourConf(lab: Lab, pss: boolean, remoteId = 'right.lab'): string {
  return conf(lab.left, lab.right, {
    local: `      auth = ${pss ? 'rsa/pss' : 'pubkey'}\n      certs = left.pem\n      id = left.lab\n`,
    remote: `      auth = pubkey\n      id = "${remoteId}"\n`,
  });
}

/** strongSwan's credentials in the swanctl folders of its own directory; returns that directory. */
function installTheirs(lab: Lab, pki: LabPki): string {
  const dir = path.join(lab.dir, 'strongswan');
  for (const d of ['x509', 'x509ca', 'private']) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o700 });
  fs.copyFileSync(pki.right.cert, path.join(dir, 'x509', 'right.pem'));
  fs.copyFileSync(pki.caCert, path.join(dir, 'x509ca', 'ca.pem'));
  if (pki.imCert !== undefined) fs.copyFileSync(pki.imCert, path.join(dir, 'x509ca', 'im.pem'));
  fs.copyFileSync(pki.right.key, path.join(dir, 'private', 'right.key'));
  return dir;
}

function theirConf(lab: Lab, id = 'right.lab'): string {
  return conf(lab.right, lab.left, {
    local: `      auth = pubkey\n      certs = right.pem\n      id = "${id}"\n`,
    remote: `      auth = pubkey\n      id = left.lab\n      cacerts = ca.pem\n`,
  });
}

async function ping(lab: Lab, from: LabHost, to: LabHost): Promise<void> {
  const out = await lab.exec(from, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '-I', from.inner4, to.inner4]);
  assert.match(out, /2 received/, out);
}

async function withPeers(
  name: string,
  fn: (lab: Lab, peers: { ours?: TsipsecPeer; theirs?: StrongSwan }) => Promise<void>,
): Promise<void> {
  const lab = await Lab.create(name);
  const peers: { ours?: TsipsecPeer; theirs?: StrongSwan } = {};
  try {
    await fn(lab, peers);
  } catch (e) {
    throw new Error(
      `${(e as Error).message}\n--- tsipsec log ---\n${peers.ours?.log().slice(-5000)}\n--- charon log ---\n${peers.theirs?.log().slice(-8000)}`,
    );
  } finally {
    await lab.destroy();
  }
}

const SCHEME: Record<PkiKind, RegExp> = {
  rsa: /RSA_EMSA_PKCS1_SHA(2_)?256/,
  'rsa-pss': /RSA_EMSA_PSS_SHA(2_)?256/,
  rsa4096: /RSA_EMSA_PKCS1_SHA(2_)?256/,
  p256: /ECDSA_WITH_SHA256_DER/,
  p384: /ECDSA_WITH_SHA384_DER/,
  ed25519: /ED25519/,
};

const MATRIX: [PkiTool, PkiKind, boolean][] = [
  ['pki', 'rsa', false],
  ['openssl', 'rsa-pss', false],
  ['openssl', 'p256', false],
  ['pki', 'p384', true],
  ['pki', 'ed25519', false],
  ['tsipsec', 'p256', true],
  ['tsipsec', 'rsa-pss', false],
];

for (const [tool, kind, im] of MATRIX) {
  for (const initiator of ['tsipsec', 'strongswan'] as const) {
    test(
      `strongSwan cert interop, ${initiator} initiates: ${kind} from ${tool}${im ? ' through an intermediate CA' : ''}`,
      { skip, timeout: 120_000 },
      () =>
        withPeers('swc', async (lab, peers) => {
          const pki = makeLabPki(path.join(lab.dir, 'pki'), tool, kind, { intermediate: im });
          installOurs(lab, pki);
          const pss = kind === 'rsa-pss';
          peers.ours = await TsipsecPeer.start(lab, lab.left, ourConf(lab, pss));
          peers.theirs = await StrongSwan.start(
            lab,
            lab.right,
            theirConf(lab),
            pss ? 'rsa_pss = yes' : '',
            installTheirs(lab, pki),
          );
          if (initiator === 'tsipsec') await peers.ours.call('up', { name: 'net', timeoutSec: 20 });
          else
            assert.match(await peers.theirs.swanctl('--initiate', '--child', 'net'), /initiate completed successfully/);
          await ping(lab, lab.left, lab.right);
          const { ikeSas } = (await peers.ours.call('sas')) as { ikeSas: IkeSaInfo[] };
          assert.equal(ikeSas[0]?.remoteId, 'right.lab');
          assert.ok(ikeSas[0]?.children[0], 'our side lists the CHILD_SA');
          assert.equal(ikeSas[0]?.remoteCert?.subject, 'C=CH, O=ts-ipsec lab, CN=right.lab');
          assert.equal(ikeSas[0]?.localCert?.issuer, `C=CH, O=ts-ipsec lab, CN=${im ? 'Intermediate' : 'Root'} CA`);
          const { connections } = (await peers.ours.call('conns')) as { connections: ConnectionInfo[] };
          assert.equal(connections[0]?.remoteCacerts?.[0]?.subject, 'C=CH, O=ts-ipsec lab, CN=Root CA');
          const ourLog = peers.ours.log();
          assert.match(ourLog, new RegExp(`authentication of 'right\\.lab' with ${SCHEME[kind].source} successful`));
          if (im) assert.match(ourLog, /trusted via 'C=CH, O=ts-ipsec lab, CN=Root CA'/);
          assert.match(peers.theirs.log(), /authentication of 'left\.lab' with .* successful/);
          assert.match(await peers.theirs.listSas(), /net: #\d+, reqid \d+, INSTALLED/);
        }),
    );
  }
}

test(
  'strongSwan cert interop: DN identities, our remote id with CN=* matches strongSwan subject',
  { skip, timeout: 120_000 },
  () =>
    withPeers('swdn', async (lab, peers) => {
      const pki = makeLabPki(path.join(lab.dir, 'pki'), 'pki', 'p256');
      installOurs(lab, pki);
      peers.ours = await TsipsecPeer.start(lab, lab.left, ourConf(lab, false, 'C=CH, O=ts-ipsec lab, CN=*'));
      peers.theirs = await StrongSwan.start(
        lab,
        lab.right,
        theirConf(lab, 'C=CH, O=ts-ipsec lab, CN=right.lab'),
        '',
        installTheirs(lab, pki),
      );
      await peers.ours.call('up', { name: 'net', timeoutSec: 20 });
      await ping(lab, lab.left, lab.right);
      const { ikeSas } = (await peers.ours.call('sas')) as { ikeSas: IkeSaInfo[] };
      assert.equal(ikeSas[0]?.remoteId, 'C=CH, O=ts-ipsec lab, CN=right.lab');
    }),
);

test('strongSwan raw public keys both ways; a signature by another key is refused', { skip, timeout: 120_000 }, () =>
  withPeers('swpk', async (lab, peers) => {
    const pki = makeLabPki(path.join(lab.dir, 'pki'), 'pki', 'ed25519');
    const pub = (f: string, out: string) => fs.writeFileSync(out, fs.readFileSync(f.replace(/\.key$/, '.pub')));
    fs.mkdirSync(path.join(lab.dir, 'pubkey'));
    fs.mkdirSync(path.join(lab.dir, 'private'));
    pub(pki.right.key, path.join(lab.dir, 'pubkey', 'right.pub'));
    pub(pki.left.key, path.join(lab.dir, 'pubkey', 'left.pub'));
    fs.copyFileSync(pki.left.key, path.join(lab.dir, 'private', 'left.key'));
    fs.chmodSync(path.join(lab.dir, 'private', 'left.key'), 0o600);
    const ours = (remotePub: string) =>
      conf(lab.left, lab.right, {
        local: `      auth = pubkey\n      pubkeys = left.pub\n      id = left.lab\n`,
        remote: `      auth = pubkey\n      pubkeys = ${remotePub}\n      id = right.lab\n`,
      });
    const swDir = path.join(lab.dir, 'strongswan');
    for (const d of ['private', 'pubkey']) fs.mkdirSync(path.join(swDir, d), { recursive: true, mode: 0o700 });
    fs.copyFileSync(pki.right.key, path.join(swDir, 'private', 'right.key'));
    pub(pki.right.key, path.join(swDir, 'pubkey', 'right.pub'));
    pub(pki.left.key, path.join(swDir, 'pubkey', 'left.pub'));
    const theirs = conf(lab.right, lab.left, {
      local: `      auth = pubkey\n      pubkeys = right.pub\n      id = right.lab\n`,
      remote: `      auth = pubkey\n      pubkeys = left.pub\n      id = left.lab\n`,
    });
    peers.ours = await TsipsecPeer.start(lab, lab.left, ours('right.pub'));
    peers.theirs = await StrongSwan.start(lab, lab.right, theirs, '', swDir);
    await peers.ours.call('up', { name: 'net', timeoutSec: 20 });
    await ping(lab, lab.left, lab.right);
    await peers.ours.call('down', { name: 'net' });
    // Now we expect another key for right.lab: its signature must not verify.
    fs.writeFileSync(path.join(lab.dir, 'ours-wrong.conf'), ours('left.pub'), { mode: 0o600 });
    await peers.ours.call('load', { file: path.join(lab.dir, 'ours-wrong.conf') });
    await assert.rejects(peers.theirs.swanctl('--initiate', '--child', 'net'), /initiate failed|AUTHENTICATION_FAILED/);
    assert.match(
      peers.ours.log(),
      /signature authentication of 'right\.lab' failed: ED25519 signature does not verify/,
    );
    assert.match(peers.theirs.log(), /received AUTHENTICATION_FAILED notify error/);
    const { ikeSas } = (await peers.ours.call('sas')) as { ikeSas: IkeSaInfo[] };
    assert.equal(ikeSas.length, 0);
  }),
);

for (const initiator of ['tsipsec', 'strongswan'] as const) {
  test(
    `strongSwan cert interop, ${initiator} initiates: an RSA-4096 chain over a link with MTU 1280 needs IKE fragmentation`,
    { skip, timeout: 180_000 },
    () =>
      withPeers('swfr', async (lab, peers) => {
        const pki = makeLabPki(path.join(lab.dir, 'pki'), 'pki', 'rsa4096', { intermediate: true });
        installOurs(lab, pki);
        for (const h of [lab.left, lab.right]) await lab.exec(h, 'ip', ['link', 'set', 'dev', h.dev, 'mtu', '1280']);
        peers.ours = await TsipsecPeer.start(lab, lab.left, ourConf(lab, false));
        peers.theirs = await StrongSwan.start(lab, lab.right, theirConf(lab), '', installTheirs(lab, pki));
        if (initiator === 'tsipsec') await peers.ours.call('up', { name: 'net', timeoutSec: 30 });
        else
          assert.match(await peers.theirs.swanctl('--initiate', '--child', 'net'), /initiate completed successfully/);
        await ping(lab, lab.left, lab.right);
        const sw = peers.theirs.log();
        // charon reassembled our IKE_AUTH from fragments and split its own.
        assert.match(sw, /received fragment #\d+ of \d+, reassembled fragmented IKE message/);
        assert.match(sw, /splitting IKE message \(\d+ bytes\) into \d+ fragments/);
        assert.match(
          peers.ours.log(),
          /authentication of 'right\.lab' with RSA_EMSA_PKCS1_SHA(2_)?(256|384|512) successful/,
        );
      }),
  );
}

interface Refusal {
  readonly what: string;
  readonly tool: PkiTool;
  readonly options: PkiOptions;
  /** Our reason, as logged. */
  readonly reason: RegExp;
}

const RIGHT = "'C=CH, O=ts-ipsec lab, CN=right\\.lab'";
const REFUSALS: readonly Refusal[] = [
  {
    what: 'untrusted CA',
    tool: 'tsipsec',
    options: {},
    reason: new RegExp(`certificate of 'right\\.lab' is not trusted: no trusted CA issued ${RIGHT}`),
  },
  {
    what: 'expired certificate',
    tool: 'tsipsec',
    options: { days: -1 },
    reason: new RegExp(`certificate of 'right\\.lab' is not trusted: certificate ${RIGHT} expired at`),
  },
  {
    what: 'certificate not yet valid',
    tool: 'tsipsec',
    options: { notBeforeDays: 2 },
    reason: new RegExp(`certificate of 'right\\.lab' is not trusted: certificate ${RIGHT} is not valid before`),
  },
  {
    what: 'key usage without digitalSignature',
    tool: 'openssl',
    options: { eeKeyUsage: 'keyEncipherment' },
    reason: new RegExp(`certificate ${RIGHT} key usage does not allow digitalSignature`),
  },
  {
    what: 'certificate revoked by a CRL',
    tool: 'tsipsec',
    options: {},
    reason: new RegExp(
      `certificate ${RIGHT} of 'right\\.lab' is revoked: listed in the CRL of 'C=CH, O=ts-ipsec lab, CN=Root CA'`,
    ),
  },
];

for (const r of REFUSALS) {
  test(`strongSwan cert refusal: ${r.what}, both directions, no CHILD_SA`, { skip, timeout: 120_000 }, () =>
    withPeers('swrf', async (lab, peers) => {
      const pki = makeLabPki(path.join(lab.dir, 'pki'), r.tool, 'p256', r.options);
      const other = makeLabPki(path.join(lab.dir, 'other'), 'tsipsec', 'p256', { org: 'Another Org' });
      installOurs(lab, pki, r.what === 'untrusted CA' ? other.caCert : pki.caCert);
      if (r.what === 'certificate revoked by a CRL') {
        fs.mkdirSync(path.join(lab.dir, 'x509crl'));
        const crl = execFileSync(process.execPath, [
          CLI,
          'pki',
          '--signcrl',
          '--cacert',
          pki.caCert,
          '--cakey',
          pki.caKey,
          '--cert',
          pki.right.cert,
        ]);
        fs.writeFileSync(path.join(lab.dir, 'x509crl', 'ca.crl'), crl);
      }
      peers.ours = await TsipsecPeer.start(lab, lab.left, ourConf(lab, false));
      peers.theirs = await StrongSwan.start(lab, lab.right, theirConf(lab), '', installTheirs(lab, pki));
      // strongSwan initiates: we refuse with our reason and AUTHENTICATION_FAILED.
      await assert.rejects(peers.theirs.swanctl('--initiate', '--child', 'net'));
      assert.match(peers.ours.log(), r.reason);
      assert.match(peers.theirs.log(), /received AUTHENTICATION_FAILED notify error/);
      // We initiate: the responder's AUTH is refused the same way.
      await assert.rejects(
        peers.ours.call('up', { name: 'net', timeoutSec: 20 }),
        /AUTHENTICATION_FAILED|not trusted|revoked|key usage/,
      );
      const { ikeSas } = (await peers.ours.call('sas')) as { ikeSas: IkeSaInfo[] };
      assert.equal(ikeSas.length, 0);
      assert.doesNotMatch(await peers.theirs.listSas(), /INSTALLED/);
    }),
  );
}

test(
  'strongSwan cert refusal: revoked in the CRL at the distribution point, fetched over HTTP',
  { skip, timeout: 120_000 },
  () =>
    withPeers('swcdp', async (lab, peers) => {
      const uri = `http://${lab.left.outer4}:8080/ca.crl`;
      const pki = makeLabPki(path.join(lab.dir, 'pki'), 'tsipsec', 'p256', { crlUri: uri });
      installOurs(lab, pki);
      const crlFile = path.join(lab.dir, 'served.crl');
      const crl = execFileSync(process.execPath, [
        CLI,
        'pki',
        '--signcrl',
        '--cacert',
        pki.caCert,
        '--cakey',
        pki.caKey,
        '--cert',
        pki.right.cert,
      ]);
      fs.writeFileSync(crlFile, crl);
      const served = path.join(lab.dir, 'served.log');
      // A CRL server in our namespace; it notes each request.
      lab.spawn(lab.left, process.execPath, [
        '-e',
        `const fs = require('fs'); require('http').createServer((q, r) => { fs.appendFileSync(${JSON.stringify(served)}, q.url + '\\n'); r.end(fs.readFileSync(${JSON.stringify(crlFile)})); }).listen(8080, ${JSON.stringify(lab.left.outer4)});`,
      ]);
      await waitFor(
        'the CRL server',
        async () => {
          try {
            await lab.exec(lab.left, 'bash', ['-c', `exec 3<>/dev/tcp/${lab.left.outer4}/8080`]);
            return true;
          } catch {
            return false;
          }
        },
        10_000,
      );
      fs.rmSync(served, { force: true });
      peers.ours = await TsipsecPeer.start(
        lab,
        lab.left,
        ourConf(lab, false).replace(
          '      auth = pubkey\n      id = "right.lab"',
          '      auth = pubkey\n      id = "right.lab"\n      revocation = ifuri',
        ),
      );
      // The daemon fetched the CRL its own certificate names (the same CA's distribution point) at start.
      await waitFor(
        'the CRL fetch',
        () => fs.existsSync(served) && fs.readFileSync(served, 'utf8').includes('/ca.crl'),
        10_000,
      );
      peers.theirs = await StrongSwan.start(lab, lab.right, theirConf(lab), '', installTheirs(lab, pki));
      await assert.rejects(peers.theirs.swanctl('--initiate', '--child', 'net'));
      assert.match(
        peers.ours.log(),
        /certificate 'C=CH, O=ts-ipsec lab, CN=right\.lab' of 'right\.lab' is revoked: listed in the CRL of 'C=CH, O=ts-ipsec lab, CN=Root CA'/,
      );
      assert.match(peers.theirs.log(), /received AUTHENTICATION_FAILED notify error/);
      const { ikeSas } = (await peers.ours.call('sas')) as { ikeSas: IkeSaInfo[] };
      assert.equal(ikeSas.length, 0);
    }),
);

for (const revokedByOcsp of [false, true]) {
  test(
    `strongSwan cert interop: OCSP from openssl ocsp says ${revokedByOcsp ? 'revoked: refused' : 'good: accepted with revocation = strict'}`,
    { skip, timeout: 120_000 },
    () =>
      withPeers('swocsp', async (lab, peers) => {
        const uri = `http://${lab.left.outer4}:8888/`;
        const pki = makeLabPki(path.join(lab.dir, 'pki'), 'tsipsec', 'p256', { ocspUri: uri });
        installOurs(lab, pki);
        // The peer's certificate is known beforehand (x509/), so its status is asked at start.
        fs.copyFileSync(pki.right.cert, path.join(lab.dir, 'x509', 'right-peer.pem'));
        const serial = normalizeSerial(readCertificates(pki.right.cert)[0]?.serial ?? '').toUpperCase();
        const index = path.join(lab.dir, 'ocsp-index.txt');
        fs.writeFileSync(
          index,
          revokedByOcsp
            ? `R\t301231235959Z\t250101000000Z\t${serial.length % 2 ? `0${serial}` : serial}\tunknown\t/CN=right.lab\n`
            : `V\t301231235959Z\t\t${serial.length % 2 ? `0${serial}` : serial}\tunknown\t/CN=right.lab\n`,
        );
        const responderLog = path.join(lab.dir, 'ocsp.log');
        lab.spawn(lab.left, 'sh', [
          '-c',
          `exec stdbuf -oL -eL openssl ocsp -index ${index} -port 8888 -CA ${pki.caCert} -rsigner ${pki.caCert} -rkey ${pki.caKey} -ndays 1 -text >${responderLog} 2>&1`,
        ]);
        // Its first line says it listens (a probe connection would hold the single-threaded responder).
        await waitFor(
          'openssl ocsp',
          () => fs.existsSync(responderLog) && fs.readFileSync(responderLog, 'utf8').includes('ACCEPT'),
          10_000,
        );
        peers.ours = await TsipsecPeer.start(
          lab,
          lab.left,
          ourConf(lab, false).replace(
            '      auth = pubkey\n      id = "right.lab"',
            '      auth = pubkey\n      id = "right.lab"\n      revocation = strict',
          ),
        );
        await waitFor(
          'the OCSP answer',
          () => /Cert Status: (good|revoked)/.test(fs.readFileSync(responderLog, 'utf8')),
          10_000,
        ).catch((e: Error) => {
          throw new Error(`${e.message}\n--- openssl ocsp ---\n${fs.readFileSync(responderLog, 'utf8')}`);
        });
        peers.theirs = await StrongSwan.start(lab, lab.right, theirConf(lab), '', installTheirs(lab, pki));
        if (revokedByOcsp) {
          await assert.rejects(peers.theirs.swanctl('--initiate', '--child', 'net'));
          assert.match(
            peers.ours.log(),
            /certificate 'C=CH, O=ts-ipsec lab, CN=right\.lab' of 'right\.lab' is revoked: OCSP responder 'C=CH, O=ts-ipsec lab, CN=Root CA' says revoked/,
          );
          assert.match(peers.theirs.log(), /received AUTHENTICATION_FAILED notify error/);
          const { ikeSas } = (await peers.ours.call('sas')) as { ikeSas: IkeSaInfo[] };
          assert.equal(ikeSas.length, 0);
        } else {
          assert.match(await peers.theirs.swanctl('--initiate', '--child', 'net'), /initiate completed successfully/);
          await ping(lab, lab.left, lab.right);
        }
      }),
  );
}
