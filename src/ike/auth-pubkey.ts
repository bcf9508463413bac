/**
 * IKE_AUTH with signatures (RFC 7296 2.15, 3.6, 3.7; RFC 7427; RFC 7670): our CERT and AUTH payloads, CERTREQ
 * naming our trust anchors, and the peer's authentication: certificate parsing, identity bound to the
 * certificate, chain to a trust anchor at `nowMs`, revocation, then the signature. Every refusal is an
 * IkeError(AUTHENTICATION_FAILED) whose reason names the peer and what to fix.
 *
 *   HDR, SK { IDi, [CERT+], [N(INITIAL_CONTACT)], [CERTREQ+], [IDr], AUTH, SAi2, TSi, TSr } -->
 *                                   <-- HDR, SK { IDr, [CERT+], AUTH, SAr2, TSi, TSr }
 */
import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AuthMethod, CertEncoding, NotifyType, PayloadType } from './codec/constants.js';
import type { AuthPayload, CertPayload, CertReqPayload, Payload } from './codec/types.js';
import type { ConnectionConfig, IkeIdentity, RemotePubkeyAuth } from './config.js';
import { IkeError } from './errors.js';
import { formatIdentity } from './identity.js';
import { signedOctets } from './keymat.js';
import { findNotify } from './payload-util.js';
import type { IkeSa } from './sa.js';
import type { TaskContext } from './task.js';
import { signAuth, verifyAuth } from './auth-signature.js';
import { CertificateError, X509Cert } from '../pki/certificate.js';
import { certHasIdentity } from '../pki/identity-binding.js';
import { validateChain } from '../pki/validate.js';
import { LogLevel } from '../common/log.js';

/** The octets `sender` signs: its IKE_SA_INIT message, the peer's nonce and prf(SK_p, RestOfIDPayload). */
export function octetsFor(sa: IkeSa, sender: 'i' | 'r'): Buffer {
  const prf = sa.prf;
  const keys = sa.keys;
  const id = sender === 'i' ? sa.idI : sa.idR;
  if (prf === undefined || keys === undefined || id === undefined) throw new Error('AUTH before keys and IDs');
  return sender === 'i'
    ? signedOctets(prf, sa.initRequest, sa.nonceR, keys.skPi, id.type, id.data)
    : signedOctets(prf, sa.initResponse, sa.nonceI, keys.skPr, id.type, id.data);
}

/** Remember the peer's SIGNATURE_HASH_ALGORITHMS and whether it sent CERTREQ (IKE_SA_INIT, IKE_AUTH). */
export function notePeerCapabilities(sa: IkeSa, payloads: readonly Payload[]): void {
  const n = findNotify(payloads, NotifyType.SIGNATURE_HASH_ALGORITHMS);
  if (n !== undefined) {
    const hashes: number[] = [];
    for (let off = 0; off + 2 <= n.data.length; off += 2) hashes.push(n.data.readUInt16BE(off));
    sa.peerSignatureHashes = hashes;
  }
  if (payloads.some((p): p is CertReqPayload => p.type === PayloadType.CERTREQ)) sa.peerCertReq = true;
}

/** One CERTREQ naming the trust anchors of the given connections (none when there are none). */
export function certReqPayloads(conns: readonly ConnectionConfig[]): Payload[] {
  const hashes = new Map<string, Buffer>();
  for (const c of conns) {
    if (c.sendCertreq === false) continue;
    for (const ca of c.remoteAuth?.cacerts ?? []) hashes.set(ca.keyHash.toString('hex'), ca.keyHash);
  }
  if (hashes.size === 0) return [];
  return [
    {
      type: PayloadType.CERTREQ,
      certEncoding: CertEncoding.X509_CERT_SIGNATURE,
      data: Buffer.concat([...hashes.values()]),
    },
  ];
}

/** Our CERT payloads (per send_cert) and our AUTH payload, signed with the connection's private key. */
export function localSignatureAuth(ctx: TaskContext, sender: 'i' | 'r'): { certs: Payload[]; auth: Payload } {
  const { sa, core } = ctx;
  const conn = sa.conn;
  const local = conn?.localAuth;
  if (conn === undefined || local === undefined) throw new Error('signature AUTH without local pubkey auth');
  const sendCert = conn.sendCert ?? 'ifasked';
  const send = sendCert === 'always' || (sendCert === 'ifasked' && sa.peerCertReq);
  const certs: Payload[] = send
    ? local.certs.map((c) => ({ type: PayloadType.CERT, certEncoding: CertEncoding.X509_CERT_SIGNATURE, data: c.der }))
    : [];
  sa.localCert = local.certs[0];
  let signed: { method: number; data: Buffer; scheme: string };
  try {
    signed = signAuth(local.privateKey, octetsFor(sa, sender), sa.peerSignatureHashes, local.rsaPss);
  } catch (e) {
    throw new IkeError(
      NotifyType.AUTHENTICATION_FAILED,
      `cannot sign our AUTH for '${formatIdentity(conn.localId)}': ${(e as Error).message}`,
    );
  }
  core.log.log(
    'ike',
    LogLevel.CONTROL,
    `authentication of '${formatIdentity(conn.localId)}' (myself) with ${signed.scheme} successful`,
    sa.label,
  );
  return { certs, auth: { type: PayloadType.AUTH, method: signed.method, data: signed.data } };
}

function fail(reason: string): never {
  throw new IkeError(NotifyType.AUTHENTICATION_FAILED, reason);
}

/** Certificates and raw keys of the CERT payloads; a garbled one is a refusal. */
function peerCredentials(payloads: readonly Payload[], who: string): { certs: X509Cert[]; keys: KeyObject[] } {
  const certs: X509Cert[] = [];
  const keys: KeyObject[] = [];
  for (const p of payloads.filter((q): q is CertPayload => q.type === PayloadType.CERT)) {
    if (p.certEncoding === CertEncoding.X509_CERT_SIGNATURE) {
      try {
        certs.push(X509Cert.fromDer(p.data));
      } catch (e) {
        const why = e instanceof CertificateError ? e.message : String(e);
        fail(`CERT payload from '${who}' is garbled or truncated: ${why}`);
      }
    } else if (p.certEncoding === CertEncoding.RAW_PUBLIC_KEY) {
      try {
        keys.push(createPublicKey({ key: Buffer.from(p.data), format: 'der', type: 'spki' }));
      } catch {
        fail(`raw public key CERT payload from '${who}' is garbled`);
      }
    }
  }
  return { certs, keys };
}

function describeSans(cert: X509Cert): string {
  const sans = [...cert.sanDns, ...cert.sanEmail, ...cert.sanIp];
  return sans.length === 0 ? 'no subjectAltNames' : `subjectAltNames ${sans.join(', ')}`;
}

/** Chain, revocation and identity of a peer certificate; returns its public key. */
function checkCertificate(
  ctx: TaskContext,
  remote: RemotePubkeyAuth,
  peer: IkeIdentity,
  ee: X509Cert,
  sent: readonly X509Cert[],
): KeyObject {
  const who = formatIdentity(peer);
  if (!certHasIdentity(ee, peer))
    fail(
      `identity '${who}' is not in the peer's certificate (subject '${ee.subjectText}', ${describeSans(ee)}): ` +
        `set the peer's id to its subject DN or a subjectAltName`,
    );
  if (remote.certs.length > 0 && !remote.certs.some((c) => c.der.equals(ee.der)))
    fail(`the peer '${who}' used certificate '${ee.subjectText}', which is not one of remote.certs`);
  const anchors = [...remote.cacerts, ...remote.certs];
  const wallMs = remote.wallClockMs?.(ctx.nowMs) ?? ctx.nowMs;
  const result = validateChain(ee, [...sent, ...remote.intermediates], anchors, wallMs);
  if (!result.ok) fail(`certificate of '${who}' is not trusted: ${result.reason}`);
  const status = remote.revocationStatus;
  for (let i = 0; i < result.chain.length; i++) {
    const cert = result.chain[i] as X509Cert;
    const issuer = result.chain[i + 1] ?? result.anchor;
    if (cert === issuer) continue;
    const s = status?.(cert, issuer, wallMs) ?? { status: 'unknown' as const, detail: 'no revocation information' };
    if (s.status === 'revoked') fail(`certificate '${cert.subjectText}' of '${who}' is revoked: ${s.detail}`);
    if (s.status === 'unknown') {
      const hasUri = cert.crlUris.length > 0 || cert.ocspUris.length > 0;
      if (remote.revocation === 'strict' || (remote.revocation === 'ifuri' && hasUri))
        fail(
          `revocation status of '${cert.subjectText}' is unknown (${s.detail}) and revocation = ${remote.revocation}`,
        );
    }
  }
  ctx.core.log.log(
    'cfg',
    LogLevel.CONTROL,
    `certificate '${ee.subjectText}' of '${who}' is trusted via '${result.anchor.subjectText}'`,
    ctx.sa.label,
  );
  ctx.sa.peerCert = ee;
  return ee.publicKey;
}

/**
 * Authenticate the peer's signature AUTH (`sender` is the peer's role). Throws IkeError(AUTHENTICATION_FAILED)
 * with the reason.
 */
export function verifyPeerSignature(
  ctx: TaskContext,
  remote: RemotePubkeyAuth,
  peer: IkeIdentity,
  authP: AuthPayload,
  payloads: readonly Payload[],
  sender: 'i' | 'r',
): void {
  const who = formatIdentity(peer);
  if (authP.method === AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE)
    fail(
      `'${who}' authenticated with a pre-shared key, but this connection requires a signature (remote auth = pubkey)`,
    );
  const { certs, keys } = peerCredentials(payloads, who);
  const candidates: KeyObject[] = [];
  const ee = certs[0] ?? remote.certs.find((c) => certHasIdentity(c, peer));
  if (ee !== undefined) candidates.push(checkCertificate(ctx, remote, peer, ee, certs.slice(1)));
  else {
    const spki = (k: KeyObject) => k.export({ format: 'der', type: 'spki' });
    for (const k of keys)
      if (!remote.pubkeys.some((t) => spki(t).equals(spki(k))))
        fail(`raw public key of '${who}' is not one of remote.pubkeys`);
    candidates.push(...remote.pubkeys);
  }
  if (candidates.length === 0)
    fail(
      `'${who}' sent no certificate and none is known for it: have it send its certificate (send_cert) or ` +
        `configure remote.certs / remote.pubkeys`,
    );
  const octets = octetsFor(ctx.sa, sender);
  let lastError = '';
  for (const key of candidates) {
    try {
      const scheme = verifyAuth(key, authP.method, authP.data, octets);
      ctx.core.log.log('ike', LogLevel.CONTROL, `authentication of '${who}' with ${scheme} successful`, ctx.sa.label);
      return;
    } catch (e) {
      lastError = (e as Error).message;
    }
  }
  fail(`signature authentication of '${who}' failed: ${lastError}`);
}
