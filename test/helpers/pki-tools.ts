/**
 * A CA, an optional intermediate CA and certificates for two lab hosts (ids `left.lab` and `right.lab` as subject
 * CN and subjectAltName), made by strongSwan's `pki`, the `openssl` CLI or `tsipsec pki`, in a folder. Key files
 * are mode 0600. Each end entity also gets a `*-chain.pem` with its intermediate after it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI } from './tsipsec.js';

export type PkiTool = 'tsipsec' | 'pki' | 'openssl';
export type PkiKind = 'rsa' | 'rsa-pss' | 'p256' | 'p384' | 'ed25519' | 'rsa4096';

export interface PkiEntity {
  readonly cert: string;
  /** The certificate followed by the intermediate CA (the same as cert without one). */
  readonly chain: string;
  readonly key: string;
}

export interface LabPki {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly imCert: string | undefined;
  readonly left: PkiEntity;
  readonly right: PkiEntity;
}

export interface PkiOptions {
  readonly intermediate?: boolean;
  /** Subject DN prefix (before CN). */
  readonly org?: string;
  /** Validity of the end entities in days (negative: already expired, via tsipsec/openssl dates). */
  readonly days?: number;
  /** End entities start this many days from now (tsipsec pki only): not yet valid. */
  readonly notBeforeDays?: number;
  /** End entities' keyUsage instead of digitalSignature (openssl only), e.g. `keyEncipherment`. */
  readonly eeKeyUsage?: string;
  /** CRL distribution point of the end entities (tsipsec pki only). */
  readonly crlUri?: string;
  /** OCSP responder of the end entities (tsipsec pki only). */
  readonly ocspUri?: string;
}

function sh(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }).toString();
}

function writeOut(cwd: string, file: string, cmd: string, args: string[]): void {
  fs.writeFileSync(path.join(cwd, file), sh(cmd, args, cwd), { mode: 0o600 });
}

const PKI_GEN: Record<PkiKind, string[]> = {
  rsa: ['--type', 'rsa', '--size', '2048'],
  'rsa-pss': ['--type', 'rsa', '--size', '2048'],
  rsa4096: ['--type', 'rsa', '--size', '4096'],
  p256: ['--type', 'ecdsa', '--size', '256'],
  p384: ['--type', 'ecdsa', '--size', '384'],
  ed25519: ['--type', 'ed25519'],
};

const OPENSSL_GEN: Record<PkiKind, string[]> = {
  rsa: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  'rsa-pss': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  rsa4096: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:4096'],
  p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  ed25519: ['-algorithm', 'ED25519'],
};

const TSIPSEC_TYPE: Record<PkiKind, string[]> = {
  rsa: ['--type', 'rsa', '--size', '2048'],
  'rsa-pss': ['--type', 'rsa', '--size', '2048'],
  rsa4096: ['--type', 'rsa', '--size', '4096'],
  p256: ['--type', 'ecdsa', '--size', '256'],
  p384: ['--type', 'ecdsa', '--size', '384'],
  ed25519: ['--type', 'ed25519'],
};

function dn(o: PkiOptions, cn: string, slash: boolean): string {
  const org = o.org ?? 'ts-ipsec lab';
  return slash ? `/C=CH/O=${org}/CN=${cn}` : `C=CH, O=${org}, CN=${cn}`;
}

function byPki(dir: string, kind: PkiKind, o: PkiOptions): void {
  const pss = kind === 'rsa-pss' ? ['--rsa-padding', 'pss'] : [];
  const days = String(o.days ?? 30);
  const gen = (name: string) => writeOut(dir, `${name}.key`, 'pki', ['--gen', ...PKI_GEN[kind], '--outform', 'pem']);
  const pub = (name: string) =>
    writeOut(dir, `${name}.pub`, 'pki', ['--pub', '--in', `${name}.key`, '--type', 'priv', '--outform', 'pem']);
  gen('ca');
  writeOut(dir, 'ca.pem', 'pki', [
    '--self',
    '--ca',
    '--in',
    'ca.key',
    '--type',
    'priv',
    '--dn',
    dn(o, 'Root CA', false),
    '--lifetime',
    '60',
    '--outform',
    'pem',
    ...pss,
  ]);
  let issuer = 'ca';
  if (o.intermediate === true) {
    gen('im');
    pub('im');
    writeOut(dir, 'im.pem', 'pki', [
      '--issue',
      '--in',
      'im.pub',
      '--type',
      'pub',
      '--cacert',
      'ca.pem',
      '--cakey',
      'ca.key',
      '--ca',
      '--pathlen',
      '0',
      '--dn',
      dn(o, 'Intermediate CA', false),
      '--lifetime',
      '60',
      '--outform',
      'pem',
      ...pss,
    ]);
    issuer = 'im';
  }
  for (const host of ['left', 'right']) {
    gen(host);
    pub(host);
    writeOut(dir, `${host}.pem`, 'pki', [
      '--issue',
      '--in',
      `${host}.pub`,
      '--type',
      'pub',
      '--cacert',
      `${issuer}.pem`,
      '--cakey',
      `${issuer}.key`,
      '--dn',
      dn(o, `${host}.lab`, false),
      '--san',
      `${host}.lab`,
      '--flag',
      'serverAuth',
      '--flag',
      'clientAuth',
      '--lifetime',
      days,
      '--outform',
      'pem',
      ...pss,
    ]);
  }
}

function byOpenssl(dir: string, kind: PkiKind, o: PkiOptions): void {
  const sig = kind === 'rsa-pss' ? ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32'] : [];
  const gen = (name: string) =>
    sh('openssl', ['genpkey', ...OPENSSL_GEN[kind], '-out', `${name}.key`], dir) &&
    fs.chmodSync(path.join(dir, `${name}.key`), 0o600);
  gen('ca');
  sh(
    'openssl',
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      dn(o, 'Root CA', true),
      '-days',
      '60',
      ...sig,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      'ca.pem',
    ],
    dir,
  );
  let issuer = 'ca';
  let serial = 100;
  const issue = (name: string, subject: string, ext: string, days: string) => {
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    sh('openssl', ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
    sh(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${issuer}.pem`,
        '-CAkey',
        `${issuer}.key`,
        '-set_serial',
        String(serial++),
        '-days',
        days,
        '-extfile',
        `${name}.ext`,
        ...sig,
        '-out',
        `${name}.pem`,
      ],
      dir,
    );
  };
  if (o.intermediate === true) {
    gen('im');
    issue(
      'im',
      dn(o, 'Intermediate CA', true),
      'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n',
      '60',
    );
    issuer = 'im';
  }
  for (const host of ['left', 'right']) {
    gen(host);
    issue(
      host,
      dn(o, `${host}.lab`, true),
      `subjectAltName=DNS:${host}.lab\nkeyUsage=critical,${host === 'right' ? (o.eeKeyUsage ?? 'digitalSignature') : 'digitalSignature'}\nextendedKeyUsage=serverAuth,clientAuth\n`,
      String(o.days ?? 30),
    );
  }
}

function byTsipsec(dir: string, kind: PkiKind, o: PkiOptions): void {
  const pss = kind === 'rsa-pss' ? ['--rsa-padding', 'pss'] : [];
  const t = (file: string, args: string[]) =>
    writeOut(dir, file, process.execPath, [CLI, 'pki', ...args, '--outform', 'pem']);
  t('ca.key', ['--gen', ...TSIPSEC_TYPE[kind]]);
  t('ca.pem', ['--self', '--ca', '--in', 'ca.key', '--dn', dn(o, 'Root CA', false), '--lifetime', '60', ...pss]);
  let issuer = 'ca';
  if (o.intermediate === true) {
    t('im.key', ['--gen', ...TSIPSEC_TYPE[kind]]);
    t('im.pem', [
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
      dn(o, 'Intermediate CA', false),
      '--lifetime',
      '60',
      ...pss,
    ]);
    issuer = 'im';
  }
  for (const host of ['left', 'right']) {
    t(`${host}.key`, ['--gen', ...TSIPSEC_TYPE[kind]]);
    const days = o.days ?? 30;
    const life =
      days < 0
        ? ['--not-before', '-40', '--lifetime', String(40 + days)]
        : o.notBeforeDays !== undefined && host === 'right'
          ? ['--not-before', String(o.notBeforeDays), '--lifetime', String(days)]
          : ['--lifetime', String(days)];
    t(`${host}.pem`, [
      '--issue',
      '--in',
      `${host}.key`,
      '--cacert',
      `${issuer}.pem`,
      '--cakey',
      `${issuer}.key`,
      '--dn',
      dn(o, `${host}.lab`, false),
      '--san',
      `${host}.lab`,
      '--flag',
      'serverAuth',
      '--flag',
      'clientAuth',
      ...(o.crlUri !== undefined ? ['--crl', o.crlUri] : []),
      ...(o.ocspUri !== undefined ? ['--ocsp', o.ocspUri] : []),
      ...life,
      ...pss,
    ]);
  }
}

export function makeLabPki(dir: string, tool: PkiTool, kind: PkiKind, o: PkiOptions = {}): LabPki {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (tool === 'pki') byPki(dir, kind, o);
  else if (tool === 'openssl') byOpenssl(dir, kind, o);
  else byTsipsec(dir, kind, o);
  const im = o.intermediate === true ? path.join(dir, 'im.pem') : undefined;
  const entity = (host: string): PkiEntity => {
    const cert = path.join(dir, `${host}.pem`);
    const chain = path.join(dir, `${host}-chain.pem`);
    fs.writeFileSync(chain, fs.readFileSync(cert, 'utf8') + (im !== undefined ? fs.readFileSync(im, 'utf8') : ''));
    const key = path.join(dir, `${host}.key`);
    fs.chmodSync(key, 0o600);
    return { cert, chain, key };
  };
  return {
    dir,
    caCert: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca.key'),
    imCert: im,
    left: entity('left'),
    right: entity('right'),
  };
}
