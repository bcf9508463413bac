/**
 * `tsipsec pki`, modelled on strongSwan's pki: generate keys, self-sign a CA, issue certificates with
 * subjectAltNames and flags, sign CRLs, print certificates. Output goes to stdout (DER unless `--outform pem`,
 * as pki does). Keys are PKCS#8.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command, CommandContext } from '../command.js';
import { parseArgs, UsageError } from '../args.js';
import type { X509Cert } from '../../pki/certificate.js';
import { readCertificates, readPrivateKey, readPublicKey } from '../../pki/credentials.js';
import { parseDn, DnError } from '../../pki/dn.js';
import { issueCertificate, serialFromHex, signCrl } from '../../pki/issue.js';
import { isPem, pemBlocks, toPem } from '../../pki/pem.js';
import { makeRequest, readRequest } from '../../pki/request.js';
import type { RequestContents } from '../../pki/request.js';

const DAY_MS = 86_400_000;
const REPEATED = new Set(['san', 'flag', 'cert', 'serial']);

const USAGE = `Usage: tsipsec pki --gen [--type rsa|ecdsa|ed25519] [--size BITS] [--outform der|pem]
       tsipsec pki --pub --in KEY [--outform der|pem]
       tsipsec pki --req --in KEY --dn DN [--san NAME]... [--rsa-padding pkcs1|pss] [--outform der|pem]
       tsipsec pki --self --in KEY --dn DN [--ca] [--pathlen N] [--san NAME]... [--flag F]...
                   [--lifetime DAYS] [--rsa-padding pkcs1|pss] [--outform der|pem]
       tsipsec pki --issue --in KEY|PUBKEY|REQUEST --cacert FILE --cakey FILE --dn DN [--ca] [--pathlen N]
                   [--san NAME]... [--flag serverAuth|clientAuth|ikeIntermediate]... [--crl URI] [--ocsp URI]
                   [--lifetime DAYS] [--not-before DAYS] [--rsa-padding pkcs1|pss] [--outform der|pem]
       tsipsec pki --signcrl --cacert FILE --cakey FILE [--cert FILE]... [--serial HEX]... [--lifetime DAYS]
                   [--outform der|pem]
       tsipsec pki --print --in FILE

Like strongSwan's pki: --gen makes a private key (RSA 2048/3072/4096, ECDSA 256/384/521, Ed25519), --pub its
public key, --req a PKCS#10 request, --self a self-signed (CA) certificate, --issue a certificate signed by a CA (from a
key, or from a request whose subject and subjectAltNames apply unless --dn / --san are given), --signcrl a CRL revoking
certificates, --print shows a certificate. DNs are written as strongSwan does: "C=CH, O=Org, CN=moon.example.org".
--san adds a subjectAltName (DNS name, e-mail address or IP address); --lifetime is in days (default 1095 for
CAs, 365 otherwise); --not-before shifts the start by DAYS (negative: in the past).
`;

function out(ctx: CommandContext, label: string, der: Buffer, form: string): void {
  if (form === 'pem') ctx.stdout.write(toPem(label, der));
  else (ctx.stdout as unknown as { write(b: Uint8Array): unknown }).write(der);
}

function genKey(type: string, size: number | undefined): KeyObject {
  switch (type) {
    case 'rsa':
      return generateKeyPairSync('rsa', { modulusLength: size ?? 2048 }).privateKey;
    case 'ecdsa': {
      const curve = { 256: 'prime256v1', 384: 'secp384r1', 521: 'secp521r1' }[size ?? 256];
      if (curve === undefined) throw new UsageError('ECDSA keys are 256, 384 or 521 bits');
      return generateKeyPairSync('ec', { namedCurve: curve }).privateKey;
    }
    case 'ed25519':
      return generateKeyPairSync('ed25519').privateKey;
    case 'ed448':
      return generateKeyPairSync('ed448').privateKey;
    default:
      throw new UsageError(`unknown key type '${type}' (rsa, ecdsa, ed25519, ed448)`);
  }
}

/** A PKCS#10 request (PEM or DER), or undefined when the file is something else. */
function readRequestFile(file: string): RequestContents | undefined {
  const data = readFileSync(file);
  const block = isPem(data)
    ? pemBlocks(data.toString('latin1')).find((b) => b.label.endsWith('CERTIFICATE REQUEST'))
    : undefined;
  if (isPem(data) && block === undefined) return undefined;
  try {
    return readRequest(block?.der ?? data);
  } catch (e) {
    if (block !== undefined) throw new UsageError(`${file}: ${(e as Error).message}`);
    return undefined;
  }
}

/** A private key, or (for --issue) a public key or certificate. */
function readAnyKey(file: string): { pub: KeyObject; priv: KeyObject | undefined } {
  try {
    const priv = readPrivateKey(file);
    return { pub: createPublicKey(priv), priv };
  } catch {
    return { pub: readPublicKey(file), priv: undefined };
  }
}

function print(ctx: CommandContext, file: string): void {
  const data = readFileSync(file);
  let cert: X509Cert;
  try {
    cert = readCertificates(file)[0] as X509Cert;
  } catch {
    const key = createPublicKey(data.includes('PRIVATE KEY') ? createPrivateKey(data) : readPublicKey(file));
    ctx.stdout.write(
      `  pubkey:    ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.modulusLength ?? key.asymmetricKeyDetails?.namedCurve ?? ''}\n`,
    );
    return;
  }
  const flags = [cert.isCa ? 'CA' : '', cert.pathLen !== undefined ? `pathlen ${cert.pathLen}` : ''].filter(
    (f) => f !== '',
  );
  const key = cert.publicKey;
  const size = key.asymmetricKeyDetails?.modulusLength ?? key.asymmetricKeyDetails?.namedCurve ?? '';
  ctx.stdout.write(
    `  subject:  "${cert.subjectText}"\n` +
      `  issuer:   "${cert.issuerText}"\n` +
      `  validity:  not before ${new Date(cert.notBeforeMs).toISOString()}\n` +
      `             not after  ${new Date(cert.notAfterMs).toISOString()}\n` +
      `  serial:    ${cert.serial.match(/../g)?.join(':') ?? cert.serial}\n` +
      (cert.sanDns.length + cert.sanEmail.length + cert.sanIp.length > 0
        ? `  altNames:  ${[...cert.sanDns, ...cert.sanEmail, ...cert.sanIp].join(', ')}\n`
        : '') +
      (flags.length > 0 ? `  flags:     ${flags.join(' ')}\n` : '') +
      (cert.crlUris.length > 0 ? `  CRL URIs:  ${cert.crlUris.join(', ')}\n` : '') +
      `  pubkey:    ${key.asymmetricKeyType} ${size}\n` +
      `  keyid:     ${cert.keyHash.toString('hex').match(/../g)?.join(':')}\n`,
  );
}

/** A file named on the command line could not be read as what its option wants. */
class FileArgError extends Error {}

/** Reads the file an option names, turning a failure into "--OPTION FILE: reason". */
function fromFile<T>(option: string, file: string, read: (file: string) => T): T {
  try {
    return read(file);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const err = e as NodeJS.ErrnoException;
    const reason = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw new FileArgError(`--${option} ${file}: ${reason}`);
  }
}

export const pki: Command = {
  name: 'pki',
  summary: 'keys, certificates and CRLs, like strongSwan pki',
  usage: USAGE,
  async run(argv, ctx) {
    try {
      return runPki(argv, ctx);
    } catch (e) {
      if (!(e instanceof FileArgError)) throw e;
      ctx.stderr.write(`tsipsec pki: ${e.message}\n`);
      return 1;
    }
  },
};

function runPki(argv: readonly string[], ctx: CommandContext): number {
  const repeated = new Map<string, string[]>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const name = a.startsWith('--') ? a.slice(2) : '';
    if (REPEATED.has(name)) {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`option '--${name}' needs a value`);
      repeated.set(name, [...(repeated.get(name) ?? []), v]);
    } else rest.push(a);
  }
  const v = { value: true };
  const s = { value: false };
  const p = parseArgs(rest, {
    gen: s,
    pub: s,
    self: s,
    issue: s,
    signcrl: s,
    print: s,
    req: s,
    ca: s,
    type: v,
    size: v,
    outform: v,
    in: v,
    dn: v,
    pathlen: v,
    lifetime: v,
    'not-before': v,
    cacert: v,
    cakey: v,
    crl: v,
    ocsp: v,
    'rsa-padding': v,
  });
  if (p.positional.length > 0) throw new UsageError(`unexpected argument '${p.positional[0]}'`);
  const str = (k: string) => {
    const x = p.flags.get(k);
    return typeof x === 'string' ? x : undefined;
  };
  const num = (k: string): number | undefined => {
    const x = str(k);
    if (x === undefined) return undefined;
    const n = Number(x);
    if (!Number.isFinite(n)) throw new UsageError(`--${k} takes a number, not '${x}'`);
    return n;
  };
  const need = (k: string) => {
    const x = str(k);
    if (x === undefined) throw new UsageError(`--${k} is required here`);
    return x;
  };
  const form = str('outform') ?? 'der';
  if (form !== 'der' && form !== 'pem') throw new UsageError(`--outform is der or pem, not '${form}'`);
  const modes = ['gen', 'pub', 'self', 'issue', 'signcrl', 'print', 'req'].filter((m) => p.flags.has(m));
  if (modes.length !== 1)
    throw new UsageError('give exactly one of --gen, --pub, --req, --self, --issue, --signcrl, --print');
  const nowMs = Date.now();
  const serial = () => {
    const given = repeated.get('serial')?.[0];
    if (given === undefined) return randomBytes(8);
    try {
      return serialFromHex(given);
    } catch (e) {
      throw new UsageError(`--serial: ${(e as Error).message}`);
    }
  };
  const dn = () => {
    try {
      return parseDn(need('dn'));
    } catch (e) {
      if (e instanceof DnError) throw new UsageError(e.message);
      throw e;
    }
  };
  const pss = str('rsa-padding') === 'pss';
  switch (modes[0]) {
    case 'gen': {
      const key = genKey(str('type') ?? 'rsa', num('size'));
      out(ctx, 'PRIVATE KEY', key.export({ format: 'der', type: 'pkcs8' }), form);
      return 0;
    }
    case 'pub': {
      const { pub } = fromFile('in', need('in'), readAnyKey);
      out(ctx, 'PUBLIC KEY', pub.export({ format: 'der', type: 'spki' }), form);
      return 0;
    }
    case 'self':
    case 'issue': {
      const self = modes[0] === 'self';
      const request = self ? undefined : fromFile('in', need('in'), readRequestFile);
      const { pub, priv } =
        request !== undefined ? { pub: request.publicKey, priv: undefined } : fromFile('in', need('in'), readAnyKey);
      if (self && priv === undefined) throw new UsageError('--self needs the private key as --in');
      const issuer = self ? undefined : fromFile('cacert', need('cacert'), readCertificates)[0];
      const signingKey = self ? (priv as KeyObject) : fromFile('cakey', need('cakey'), (f) => readPrivateKey(f));
      const ca = p.flags.has('ca');
      const start = nowMs + (num('not-before') ?? 0) * DAY_MS;
      const der = issueCertificate({
        subject: request !== undefined && str('dn') === undefined ? request.subject : dn(),
        publicKey: pub,
        ...(issuer !== undefined ? { issuer } : {}),
        signingKey,
        serial: serial(),
        notBeforeMs: start,
        notAfterMs: start + (num('lifetime') ?? (ca ? 1095 : 365)) * DAY_MS,
        ca,
        ...(num('pathlen') !== undefined ? { pathLen: num('pathlen') as number } : {}),
        sans: repeated.get('san') ?? request?.sans ?? [],
        flags: repeated.get('flag') ?? [],
        crlUris: str('crl') !== undefined ? [str('crl') as string] : [],
        ocspUris: str('ocsp') !== undefined ? [str('ocsp') as string] : [],
        rsaPss: pss,
      });
      out(ctx, 'CERTIFICATE', der, form);
      return 0;
    }
    case 'signcrl': {
      const issuer = fromFile('cacert', need('cacert'), readCertificates)[0] as X509Cert;
      const revoked = [
        ...(repeated.get('cert') ?? []).map((f) => (fromFile('cert', f, readCertificates)[0] as X509Cert).serial),
        ...(repeated.get('serial') ?? []).map((x) => x.replace(/:/g, '').toLowerCase()),
      ].map((serialHex) => ({ serial: serialHex, dateMs: nowMs }));
      const der = signCrl({
        issuer,
        signingKey: fromFile('cakey', need('cakey'), (f) => readPrivateKey(f)),
        revoked,
        thisUpdateMs: nowMs,
        nextUpdateMs: nowMs + (num('lifetime') ?? 15) * DAY_MS,
      });
      out(ctx, 'X509 CRL', der, form);
      return 0;
    }
    case 'print':
      fromFile('in', need('in'), (f) => print(ctx, f));
      return 0;
    default: {
      const { priv } = fromFile('in', need('in'), readAnyKey);
      if (priv === undefined) throw new UsageError('--req needs the private key as --in');
      out(
        ctx,
        'CERTIFICATE REQUEST',
        makeRequest({ subject: dn(), key: priv, sans: repeated.get('san') ?? [], rsaPss: pss }),
        form,
      );
      return 0;
    }
  }
}
