/**
 * CRLs fetched over HTTP (RFC 5280 4.2.1.13 distribution points, swanctl `authorities.*.crl_uris`), outside the
 * sans-I/O core. Fetches run in the background; the synchronous status lookup the engine calls answers from
 * what has arrived, and asks for a fetch when a certificate names a URI not fetched yet or whose CRL is stale.
 */
import type { RevocationStatus } from '../ike/config.js';
import type { X509Cert } from './certificate.js';
import { Crl, crlStatus } from './crl.js';

const FETCH_TIMEOUT_MS = 10_000;
/** Do not ask the same URI again sooner than this after a failure. */
const RETRY_AFTER_MS = 30_000;

export type CrlFetcher = (uri: string) => Promise<Uint8Array>;

/** HTTP(S) GET with a timeout; throws on a non-2xx status. */
export async function httpGet(uri: string): Promise<Uint8Array> {
  const res = await fetch(uri, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

interface Entry {
  crl: Crl | undefined;
  pending: Promise<void> | undefined;
  error: string | undefined;
  triedAtMs: number;
}

export class CrlCache {
  private readonly entries = new Map<string, Entry>();
  private readonly fetcher: CrlFetcher;
  private readonly files: readonly Crl[];

  /** `files`: CRLs loaded from x509crl/. */
  constructor(files: readonly Crl[], fetcher: CrlFetcher = httpGet) {
    this.files = files;
    this.fetcher = fetcher;
  }

  /** Start fetching `uri` (http/https only) unless a fetch is running or failed recently. */
  fetch(uri: string, nowMs: number = Date.now()): Promise<void> {
    if (!/^https?:\/\//i.test(uri)) return Promise.resolve();
    const e = this.entries.get(uri) ?? { crl: undefined, pending: undefined, error: undefined, triedAtMs: 0 };
    this.entries.set(uri, e);
    if (e.pending !== undefined) return e.pending;
    if (e.error !== undefined && nowMs - e.triedAtMs < RETRY_AFTER_MS) return Promise.resolve();
    e.triedAtMs = nowMs;
    e.pending = this.fetcher(uri)
      .then((bytes) => {
        e.crl = Crl.fromFile(Buffer.from(bytes));
        e.error = undefined;
      })
      .catch((err: unknown) => {
        e.error = err instanceof Error ? err.message : String(err);
      })
      .finally(() => {
        e.pending = undefined;
      });
    return e.pending;
  }

  /** Every CRL at hand: files and fetched. */
  crls(): Crl[] {
    const out = [...this.files];
    for (const e of this.entries.values()) if (e.crl !== undefined) out.push(e.crl);
    return out;
  }

  /** The engine's synchronous lookup: answers from the CRLs at hand, fetching what the certificate names. */
  status(cert: X509Cert, issuer: X509Cert, nowMs: number): RevocationStatus {
    const s = crlStatus(this.crls(), cert, issuer, nowMs);
    if (s.status !== 'unknown') return s;
    const notes: string[] = [s.detail];
    for (const uri of cert.crlUris) {
      const e = this.entries.get(uri);
      if (e?.error !== undefined) notes.push(`fetching ${uri} failed: ${e.error}`);
      else if (e?.crl === undefined) notes.push(`the CRL at ${uri} is being fetched, try again`);
      void this.fetch(uri, nowMs);
    }
    return { status: 'unknown', detail: notes.join('; ') };
  }
}
