/**
 * OCSP (RFC 6960) outside the sans-I/O core: the request for one certificate, the response checked (signed by
 * the issuing CA or by a responder certificate the CA issued for OCSP signing, matching CertID, fresh), and a
 * cache the engine's synchronous revocation lookup answers from while fetches run in the background.
 */
import { createHash } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  Certificate,
  ExtendedKeyUsage,
  id_ce_extKeyUsage,
  SubjectPublicKeyInfo,
} from '@peculiar/asn1-x509';
import {
  BasicOCSPResponse,
  CertID,
  id_kp_OCSPSigning,
  id_pkix_ocsp_basic,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  Request,
  TBSRequest,
} from '@peculiar/asn1-ocsp';
import type { RevocationStatus } from '../ike/config.js';
import { X509Cert } from './certificate.js';
import { normalizeSerial } from './crl.js';
import { verifySigned } from './signed-data.js';

const ID_SHA1 = '1.3.14.3.2.26';
const FETCH_TIMEOUT_MS = 10_000;
const RETRY_AFTER_MS = 30_000;
/** Clock skew tolerated on thisUpdate (RFC 6960 4.2.2.1 leaves it to local policy). */
const SKEW_MS = 5 * 60_000;

function sha1(data: Uint8Array): Buffer {
  return createHash('sha1').update(data).digest();
}

/** SHA-1 of the issuer key's BIT STRING contents (RFC 6960 4.1.1 issuerKeyHash). */
function keyBitsHash(c: X509Cert): Buffer {
  return sha1(new Uint8Array(AsnConvert.parse(c.spki, SubjectPublicKeyInfo).subjectPublicKey));
}

function serialBytes(c: X509Cert): Buffer {
  let hex = normalizeSerial(c.serial);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  const b = Buffer.from(hex, 'hex');
  return (b[0] ?? 0) >= 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
}

function certId(cert: X509Cert, issuer: X509Cert): CertID {
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: ID_SHA1, parameters: null }),
    issuerNameHash: new OctetString(sha1(issuer.subjectDer)),
    issuerKeyHash: new OctetString(keyBitsHash(issuer)),
    serialNumber: new Uint8Array(serialBytes(cert)).buffer,
  });
}

/** DER OCSPRequest for one certificate, unsigned, without nonce. */
export function ocspRequest(cert: X509Cert, issuer: X509Cert): Buffer {
  const req = new OCSPRequest({
    tbsRequest: new TBSRequest({ requestList: [new Request({ reqCert: certId(cert, issuer) })] }),
  });
  return Buffer.from(AsnConvert.serialize(req));
}

function mayVerifyFor(signer: X509Cert, issuer: X509Cert): boolean {
  if (!signer.signedBy(issuer)) return false;
  const cert = AsnConvert.parse(signer.der, Certificate);
  const eku = cert.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_extKeyUsage);
  if (eku === undefined) return false;
  return AsnConvert.parse(eku.extnValue, ExtendedKeyUsage).includes(id_kp_OCSPSigning);
}

/** What an OCSP response says about `cert`, with the reason when it cannot be used. */
export function ocspStatus(
  der: Uint8Array,
  cert: X509Cert,
  issuer: X509Cert,
  nowMs: number,
): RevocationStatus & { nextUpdateMs?: number } {
  let resp: OCSPResponse;
  let basic: BasicOCSPResponse;
  try {
    resp = AsnConvert.parse(der, OCSPResponse);
    if (resp.responseStatus !== OCSPResponseStatus.successful)
      return { status: 'unknown', detail: `OCSP responder answered status ${resp.responseStatus}` };
    if (resp.responseBytes?.responseType !== id_pkix_ocsp_basic)
      return { status: 'unknown', detail: 'OCSP response is not a basic response' };
    basic = AsnConvert.parse(resp.responseBytes.response, BasicOCSPResponse);
  } catch (e) {
    return { status: 'unknown', detail: `OCSP response is malformed: ${(e as Error).message}` };
  }
  const tbs = new Uint8Array(basic.tbsResponseDataRaw ?? AsnConvert.serialize(basic.tbsResponseData));
  const sig = new Uint8Array(basic.signature);
  const signers = [
    issuer,
    ...(basic.certs ?? []).map((c) => X509Cert.fromDer(new Uint8Array(AsnConvert.serialize(c)))),
  ];
  const signer = signers.find(
    (s) => verifySigned(tbs, basic.signatureAlgorithm, sig, s.publicKey) && (s === issuer || mayVerifyFor(s, issuer)),
  );
  if (signer === undefined)
    return { status: 'unknown', detail: `OCSP response is not signed by '${issuer.subjectText}' or its OCSP signer` };
  const wantName = sha1(issuer.subjectDer);
  const wantKey = keyBitsHash(issuer);
  const serial = normalizeSerial(cert.serial);
  const single = basic.tbsResponseData.responses.find(
    (r) =>
      normalizeSerial(Buffer.from(r.certID.serialNumber).toString('hex')) === serial &&
      Buffer.from(r.certID.issuerNameHash.buffer).equals(wantName) &&
      Buffer.from(r.certID.issuerKeyHash.buffer).equals(wantKey),
  );
  if (single === undefined) return { status: 'unknown', detail: 'OCSP response does not cover this certificate' };
  const thisMs = single.thisUpdate.getTime();
  const nextMs = single.nextUpdate?.getTime();
  if (thisMs > nowMs + SKEW_MS) return { status: 'unknown', detail: 'OCSP response is from the future' };
  if (nextMs !== undefined && nextMs < nowMs) return { status: 'unknown', detail: 'OCSP response is stale' };
  const by = `OCSP responder '${signer.subjectText}'`;
  const extra = nextMs === undefined ? {} : { nextUpdateMs: nextMs };
  if (single.certStatus.revoked !== undefined)
    return {
      status: 'revoked',
      detail: `${by} says revoked since ${single.certStatus.revoked.revocationTime.toISOString()}`,
      ...extra,
    };
  if (single.certStatus.good !== undefined) return { status: 'good', detail: `${by} says good`, ...extra };
  return { status: 'unknown', detail: `${by} does not know the certificate` };
}

export type OcspPoster = (uri: string, request: Uint8Array) => Promise<Uint8Array>;

export async function httpPostOcsp(uri: string, request: Uint8Array): Promise<Uint8Array> {
  const res = await fetch(uri, {
    method: 'POST',
    headers: { 'content-type': 'application/ocsp-request' },
    body: request,
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

interface Entry {
  response: Uint8Array | undefined;
  pending: Promise<void> | undefined;
  error: string | undefined;
  triedAtMs: number;
}

/** OCSP answers per certificate, fetched in the background (one responder URI at a time, first that answers). */
export class OcspCache {
  private readonly entries = new Map<string, Entry>();
  private readonly post: OcspPoster;

  constructor(post: OcspPoster = httpPostOcsp) {
    this.post = post;
  }

  private key(cert: X509Cert, issuer: X509Cert): string {
    return `${issuer.keyHash.toString('hex')}/${normalizeSerial(cert.serial)}`;
  }

  /** Ask the responders (the certificate's own, then `extraUris`) unless a request runs or failed recently. */
  fetch(cert: X509Cert, issuer: X509Cert, extraUris: readonly string[], nowMs: number): Promise<void> {
    const uris = [...cert.ocspUris, ...extraUris].filter((u) => /^https?:\/\//i.test(u));
    if (uris.length === 0) return Promise.resolve();
    const k = this.key(cert, issuer);
    const e = this.entries.get(k) ?? { response: undefined, pending: undefined, error: undefined, triedAtMs: 0 };
    this.entries.set(k, e);
    if (e.pending !== undefined) return e.pending;
    if (e.error !== undefined && nowMs - e.triedAtMs < RETRY_AFTER_MS) return Promise.resolve();
    e.triedAtMs = nowMs;
    const request = ocspRequest(cert, issuer);
    e.pending = (async () => {
      const errors: string[] = [];
      for (const uri of uris) {
        try {
          e.response = await this.post(uri, request);
          e.error = undefined;
          return;
        } catch (err) {
          errors.push(`${uri}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      e.error = errors.join('; ');
    })().finally(() => {
      e.pending = undefined;
    });
    return e.pending;
  }

  status(cert: X509Cert, issuer: X509Cert, extraUris: readonly string[], nowMs: number): RevocationStatus {
    const e = this.entries.get(this.key(cert, issuer));
    if (e?.response !== undefined) {
      const s = ocspStatus(e.response, cert, issuer, nowMs);
      if (s.status !== 'unknown') return { status: s.status, detail: s.detail };
    }
    const uris = [...cert.ocspUris, ...extraUris];
    if (uris.length === 0) return { status: 'unknown', detail: 'no OCSP responder is known' };
    void this.fetch(cert, issuer, extraUris, nowMs);
    if (e?.error !== undefined) return { status: 'unknown', detail: `OCSP request failed: ${e.error}` };
    return { status: 'unknown', detail: `OCSP status is being fetched from ${uris.join(', ')}, try again` };
  }
}
