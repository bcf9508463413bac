/**
 * `tsipsec demo --pki`: the demo tunnel on certificates. A demo CA issues one certificate per host; each host
 * gets its own folder with swanctl.conf beside x509ca/ (the CA), x509/ (its certificate) and private/ (its key,
 * mode 0600), as swanctl lays them out.
 */
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { LabHost } from '../../demo/lab.js';
import { X509Cert } from '../../pki/certificate.js';
import { parseDn } from '../../pki/dn.js';
import { issueCertificate } from '../../pki/issue.js';
import { toPem } from '../../pki/pem.js';

const DAY_MS = 86_400_000;

/** Make the CA and one certificate per name; returns each host's folder. */
export function demoPki(dir: string, names: readonly string[]): Map<string, string> {
  const nowMs = Date.now();
  const caKey = generateKeyPairSync('ed25519').privateKey;
  const ca = X509Cert.fromDer(
    issueCertificate({
      subject: parseDn('C=CH, O=ts-ipsec demo, CN=Demo CA'),
      publicKey: createPublicKey(caKey),
      signingKey: caKey,
      serial: randomBytes(8),
      notBeforeMs: nowMs - DAY_MS,
      notAfterMs: nowMs + 30 * DAY_MS,
      ca: true,
    }),
  );
  const out = new Map<string, string>();
  for (const name of names) {
    const hostDir = path.join(dir, name);
    for (const d of ['x509ca', 'x509', 'private'])
      fs.mkdirSync(path.join(hostDir, d), { recursive: true, mode: 0o700 });
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const cert = issueCertificate({
      subject: parseDn(`C=CH, O=ts-ipsec demo, CN=${name}.demo`),
      publicKey: createPublicKey(key),
      issuer: ca,
      signingKey: caKey,
      serial: randomBytes(8),
      notBeforeMs: nowMs - DAY_MS,
      notAfterMs: nowMs + 30 * DAY_MS,
      sans: [`${name}.demo`],
      flags: ['serverAuth', 'clientAuth'],
    });
    fs.writeFileSync(path.join(hostDir, 'x509ca', 'ca.pem'), toPem('CERTIFICATE', ca.der));
    fs.writeFileSync(path.join(hostDir, 'x509', `${name}.pem`), toPem('CERTIFICATE', cert));
    fs.writeFileSync(
      path.join(hostDir, 'private', `${name}.key`),
      key.export({ format: 'pem', type: 'pkcs8' }).toString(),
      { mode: 0o600 },
    );
    out.set(name, hostDir);
  }
  return out;
}

/** swanctl.conf for one side of the certificate demo. */
export function demoPkiConfig(me: LabHost, peer: LabHost, meName: string, peerName: string, encap: boolean): string {
  return `# ts-ipsec demo on certificates: ${meName}
connections {
  demo {
    version = 2
    local_addrs = ${me.outer4}
    remote_addrs = ${peer.outer4}
    encap = ${encap ? 'yes' : 'no'}
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = pubkey
      certs = ${meName}.pem
      id = ${meName}.demo
    }
    remote {
      auth = pubkey
      id = ${peerName}.demo
    }
    children {
      net {
        local_ts = ${me.inner4}/32
        remote_ts = ${peer.inner4}/32
        esp_proposals = aes128gcm16
      }
    }
  }
}
`;
}
