/**
 * Loading credentials as swanctl --load-creds does (outside the sans-I/O core): the folders beside swanctl.conf
 * (x509/, x509ca/, x509crl/, private/, rsa/, ecdsa/, pkcs8/, pubkey/), the files named by `local.certs`,
 * `remote.cacerts`, `*.pubkeys`, `authorities.*.cacert` and `secrets.private*` (with passphrases), PEM or DER.
 * A private key file readable by group or others is refused (`chmod 600 FILE`). Problems come back as
 * diagnostics naming the file and how to fix it.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic, Origin } from '../config/config-error.js';
import { diagnostic } from '../config/config-error.js';
import type { PrivateKeySecret, SwanctlConfig } from '../config/swanctl-model.js';
import { CertificateError, X509Cert } from './certificate.js';
import { Crl } from './crl.js';
import { CrlCache } from './crl-fetch.js';
import { OcspCache } from './ocsp.js';
import { readPkcs12 } from './pkcs12.js';
import { isPem, pemBlocks } from './pem.js';

/** Group and other permission bits: a private key must have none of the read bits. */
const GROUP_OTHER_READ = 0o044;

export const KEY_FOLDERS = ['private', 'rsa', 'ecdsa', 'pkcs8'] as const;

export interface Credentials {
  /** The folder holding swanctl.conf. */
  readonly baseDir: string;
  /** Trust anchors: x509ca/ and authorities' cacert. */
  readonly cacerts: X509Cert[];
  /** Other certificates: x509/ (our own, peers', intermediates). */
  readonly certs: X509Cert[];
  readonly privateKeys: KeyObject[];
  readonly crls: Crl[];
  /** CRLs from x509crl/ and fetched over HTTP (authorities' crl_uris, distribution points of known certificates). */
  crlCache: CrlCache | undefined;
  /** OCSP answers, asked of the certificate's responder or the authority's `ocsp_uris`. */
  ocspCache: OcspCache | undefined;
  /** `authorities.*.ocsp_uris`, by the SHA-1 key hash of the authority's CA certificate. */
  readonly ocspUrisByCa: Map<string, string[]>;
  readonly errors: Diagnostic[];
  readonly warnings: Diagnostic[];
}

function fileOrigin(file: string): Origin {
  return { file, line: 1, column: 1 };
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.join(dir, e.name))
      .sort();
  } catch {
    return [];
  }
}

/** Certificates of a file: every PEM CERTIFICATE block, or the whole file as DER. */
export function readCertificates(file: string): X509Cert[] {
  const data = readFileSync(file);
  if (!isPem(data)) return [X509Cert.fromDer(data)];
  const blocks = pemBlocks(data.toString('latin1')).filter(
    (b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE',
  );
  if (blocks.length === 0) throw new CertificateError('no CERTIFICATE block in the PEM file');
  return blocks.map((b) => X509Cert.fromDer(b.der));
}

/** A public key file: PEM or DER SubjectPublicKeyInfo, PEM PKCS#1 RSA, or a certificate's key. */
export function readPublicKey(file: string): KeyObject {
  const data = readFileSync(file);
  if (isPem(data)) {
    const text = data.toString('latin1');
    if (text.includes('CERTIFICATE')) return (readCertificates(file)[0] as X509Cert).publicKey;
    return createPublicKey(text);
  }
  try {
    return createPublicKey({ key: data, format: 'der', type: 'spki' });
  } catch {
    return createPublicKey({ key: data, format: 'der', type: 'pkcs1' });
  }
}

/** A private key file (PEM or DER; PKCS#1, SEC1 or PKCS#8, encrypted with `passphrase`). */
export function readPrivateKey(file: string, passphrase?: Uint8Array): KeyObject {
  const data = readFileSync(file);
  const pass = passphrase === undefined ? {} : { passphrase: Buffer.from(passphrase) };
  if (isPem(data)) return createPrivateKey({ key: data.toString('latin1'), format: 'pem', ...pass });
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      return createPrivateKey({ key: data, format: 'der', type, ...pass });
    } catch {
      // try the next DER structure
    }
  }
  throw new Error('not a PKCS#1, SEC1 or PKCS#8 private key (PEM or DER)');
}

/** Refuse a key file group or others can read. */
export function keyFileProblem(file: string): string | undefined {
  const mode = statSync(file).mode & 0o777;
  if ((mode & GROUP_OTHER_READ) === 0) return undefined;
  return `private key ${file} is readable by group or others (mode 0${mode.toString(8)})`;
}

/** `name` relative to `folder` beside the config, unless absolute. */
export function resolveIn(baseDir: string, folder: string, name: string): string {
  return path.isAbsolute(name) ? name : path.join(baseDir, folder, name);
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  const der = (k: KeyObject) => (k.type === 'private' ? createPublicKey(k) : k).export({ format: 'der', type: 'spki' });
  return der(a).equals(der(b));
}

/** The private key matching a public key, if loaded. */
export function privateKeyFor(creds: Credentials, pub: KeyObject): KeyObject | undefined {
  return creds.privateKeys.find((k) => sameKey(k, pub));
}

export function loadCredentials(configFile: string, config: SwanctlConfig, allowReadableKeys = false): Credentials {
  const baseDir = path.dirname(path.resolve(configFile));
  const creds: Credentials = {
    baseDir,
    cacerts: [],
    certs: [],
    privateKeys: [],
    crls: [],
    crlCache: undefined,
    ocspCache: undefined,
    ocspUrisByCa: new Map(),
    errors: [],
    warnings: [],
  };
  const addCerts = (file: string, into: X509Cert[], origin: Origin) => {
    try {
      into.push(...readCertificates(file));
    } catch (e) {
      creds.errors.push(
        diagnostic(origin, `cannot load certificate ${file}: ${(e as Error).message}`, 'give a PEM or DER X.509 file'),
      );
    }
  };
  for (const f of listDir(path.join(baseDir, 'x509ca'))) addCerts(f, creds.cacerts, fileOrigin(f));
  for (const f of listDir(path.join(baseDir, 'x509'))) addCerts(f, creds.certs, fileOrigin(f));
  for (const a of config.authorities ?? [])
    if (a.cacert !== undefined) addCerts(resolveIn(baseDir, 'x509ca', a.cacert), creds.cacerts, a.origin);
  for (const f of listDir(path.join(baseDir, 'x509crl'))) {
    try {
      creds.crls.push(Crl.fromFile(readFileSync(f)));
    } catch (e) {
      creds.errors.push(diagnostic(fileOrigin(f), `cannot load CRL ${f}: ${(e as Error).message}`));
    }
  }
  const named = new Map<string, PrivateKeySecret>();
  for (const s of config.privateKeys ?? []) {
    named.set(resolveIn(baseDir, s.type, s.file), s);
  }
  // PKCS#12 (pkcs12/ and secrets.pkcs12*): the key joins the private keys, the certificates the known ones (not
  // the trust anchors: those stay in x509ca/).
  const p12Files = new Set<string>([
    ...listDir(path.join(baseDir, 'pkcs12')),
    ...[...named.entries()].filter(([, s]) => s.type === 'pkcs12').map(([f]) => f),
  ]);
  for (const file of p12Files) {
    const secret = named.get(file);
    named.delete(file);
    const origin = secret?.origin ?? fileOrigin(file);
    try {
      const problem = keyFileProblem(file);
      if (problem !== undefined) {
        const d = diagnostic(origin, problem.replace('private key', 'PKCS#12 file'), `chmod 600 ${file}`);
        if (!allowReadableKeys) {
          creds.errors.push(d);
          continue;
        }
        creds.warnings.push(d);
      }
      const p12 = readPkcs12(readFileSync(file), secret?.secret);
      if (p12.key !== undefined) creds.privateKeys.push(p12.key);
      creds.certs.push(...p12.certs);
    } catch (e) {
      const hint = secret
        ? 'check the secret (passphrase) of this file'
        : `add secrets { pkcs12-x { file = ${path.basename(file)}\n secret = PASSPHRASE } }`;
      creds.errors.push(diagnostic(origin, `cannot load PKCS#12 file ${file}: ${(e as Error).message}`, hint));
    }
  }
  const keyFiles = new Set<string>([...KEY_FOLDERS.flatMap((d) => listDir(path.join(baseDir, d))), ...named.keys()]);
  for (const file of keyFiles) {
    const secret = named.get(file);
    const origin = secret?.origin ?? fileOrigin(file);
    let problem: string | undefined;
    try {
      problem = keyFileProblem(file);
    } catch (e) {
      creds.errors.push(diagnostic(origin, `cannot read private key ${file}: ${(e as Error).message}`));
      continue;
    }
    if (problem !== undefined) {
      const d = diagnostic(origin, problem, `chmod 600 ${file}`);
      if (allowReadableKeys) creds.warnings.push(d);
      else {
        creds.errors.push(d);
        continue;
      }
    }
    try {
      creds.privateKeys.push(readPrivateKey(file, secret?.secret));
    } catch (e) {
      const msg = (e as Error).message;
      const encrypted = /passphrase|decrypt|bad decrypt|interrupted or cancelled/i.test(msg);
      if (encrypted && secret === undefined)
        creds.warnings.push(
          diagnostic(
            origin,
            `private key ${file} is encrypted and skipped`,
            `add secrets { private-x { file = ${path.basename(file)}\n secret = PASSPHRASE } }`,
          ),
        );
      else
        creds.errors.push(
          diagnostic(
            origin,
            `cannot load private key ${file}: ${encrypted ? 'wrong passphrase' : msg}`,
            secret ? 'check the secret (passphrase) of this key' : 'give a PEM or DER RSA, ECDSA or EdDSA key',
          ),
        );
    }
  }
  // Prefetch the CRLs the authorities and every certificate we know name: peers of the same CA point to them too.
  creds.crlCache = new CrlCache(creds.crls);
  const uris = new Set<string>([
    ...(config.authorities ?? []).flatMap((a) => a.crlUris),
    ...[...creds.cacerts, ...creds.certs].flatMap((c) => c.crlUris),
  ]);
  for (const uri of uris) void creds.crlCache.fetch(uri);
  // OCSP: authorities' responders by CA, and a first answer for every certificate in x509/ whose CA we know.
  for (const a of config.authorities ?? []) {
    if (a.cacert === undefined || a.ocspUris.length === 0) continue;
    try {
      for (const ca of readCertificates(resolveIn(baseDir, 'x509ca', a.cacert)))
        creds.ocspUrisByCa.set(ca.keyHash.toString('hex'), [...a.ocspUris]);
    } catch {
      // reported above when the authority's cacert was loaded
    }
  }
  creds.ocspCache = new OcspCache();
  const nowMs = Date.now();
  for (const c of creds.certs) {
    const issuer = [...creds.cacerts, ...creds.certs].find((i) => i !== c && c.signedBy(i));
    if (issuer === undefined) continue;
    void creds.ocspCache.fetch(c, issuer, creds.ocspUrisByCa.get(issuer.keyHash.toString('hex')) ?? [], nowMs);
  }
  return creds;
}
