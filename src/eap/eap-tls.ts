/**
 * EAP-TLS (RFC 5216), TLS 1.2, as server and as peer. TLS itself comes from a TlsChannel (OpenSSL through Node's tls
 * in src/io/tls-session.ts); this file frames its records in EAP and judges the peer's certificate with src/pki (chain
 * to a configured CA, identity).
 *
 *   Type-Data: Flags(1) [TLS Message Length(4) when L] TLS data        Flags: L 0x80, M 0x40 (more), S 0x20 (start)
 *
 *   server                                                         peer
 *   EAP-TLS { S }                                    -->
 *                              <--  ClientHello
 *   ServerHello, Certificate, CertificateRequest, ServerHelloDone   (fragments, each answered by an empty response)
 *                              <--  Certificate, ClientKeyExchange, CertificateVerify, ChangeCipherSpec, Finished
 *   ChangeCipherSpec, Finished                       -->            (the peer checks the server's certificate)
 *                              <--  EAP-TLS { } (acknowledgement)
 *   EAP-Success; both take MSK = first 64 bytes of TLS-PRF(master secret, "client EAP encryption", randoms) (2.3)
 *
 * A message longer than the fragment size goes in pieces: the first carries L and the total length, all but the last
 * carry M, and the other side answers each with an empty EAP-TLS message (2.1.5).
 */
import { ParseError } from '../common/errors.js';
import type { IkeIdentity } from '../ike/config.js';
import { parseAddress } from '../ike/traffic-selectors.js';
import { X509Cert } from '../pki/certificate.js';
import { encodeDn, parseDn } from '../pki/dn.js';
import { certHasIdentity } from '../pki/identity-binding.js';
import { validateChain } from '../pki/validate.js';
import { EapType } from './constants.js';
import type {
  PeerMethod,
  PeerMethodContext,
  PeerMethodStep,
  ServerMethod,
  ServerMethodContext,
  ServerMethodStep,
} from './eap-method.js';
import type { KeyObject } from 'node:crypto';

/** RFC 5216 3.1 flags. */
export const EapTlsFlag = { L: 0x80, M: 0x40, S: 0x20 } as const;
const FLAGS_OFFSET = 0;
const FLAGS_LENGTH = 1;
const TLS_LENGTH_LENGTH = 4;
/** EAP header, Type, Flags and TLS Message Length around the TLS data of one fragment. */
const FRAGMENT_OVERHEAD = 4 + 1 + FLAGS_LENGTH + TLS_LENGTH_LENGTH;
/** strongSwan's `charon.plugins.eap-tls.fragment_size` default: the largest EAP message we send. */
export const DEFAULT_FRAGMENT_SIZE = 1024;
const MIN_FRAGMENT_SIZE = FRAGMENT_OVERHEAD + 1;
/** The longest TLS message we reassemble (a flight with a certificate chain fits easily). */
export const MAX_TLS_MESSAGE_LENGTH = 65536;

export interface TlsCredentials {
  /** Our certificate, then the intermediates to send with it. */
  readonly certs: readonly X509Cert[];
  readonly key: KeyObject;
  /** Trusted CAs: named in the server's CertificateRequest; validation itself is the method's. */
  readonly cas: readonly X509Cert[];
}

export interface TlsSessionState {
  /** TLS records to send (may be empty). */
  readonly data: Buffer;
  /** The handshake finished (both Finished messages verified). */
  readonly established: boolean;
  /** The TLS library gave up (a bad record, a failed Finished, an alert, an incomplete message). */
  readonly error: string | undefined;
}

/**
 * One TLS handshake in memory, as the method needs it: records in, records out. A library may answer a flight later
 * than `input()` returns: `ready()` resolves once `take()` has news (records, the end of the handshake or an error;
 * also when the library waits for more than the peer sent, as an error).
 */
export interface TlsChannel {
  input(records: Buffer): void;
  take(): TlsSessionState;
  readonly hasNews: boolean;
  ready(): Promise<void>;
  /** The peer's certificates as sent (end entity first), once its Certificate message was processed. */
  peerCertificates(): Buffer[];
  /** RFC 5216 2.3: MSK (first 64 bytes of the key material) and EMSK (next 64); once established. */
  keyMaterial(): { msk: Buffer; emsk: Buffer };
  close(): void;
}

export type TlsChannelFactory = (role: 'server' | 'client', credentials: TlsCredentials) => TlsChannel;

export interface EapTlsConfig {
  readonly credentials: TlsCredentials;
  /** The TLS implementation (src/io/tls-session.ts: `nodeTlsChannel`). */
  readonly channel: TlsChannelFactory;
  /**
   * The identity the peer's certificate must carry (subject DN or a subjectAltName). Server: default the peer's
   * EAP identity. Peer: the server's IKE identity; `{ type: 'any' }` accepts any certificate from a trusted CA.
   */
  readonly peerIdentity?: IkeIdentity;
  /** Largest EAP message we send (default 1024, as strongSwan). */
  readonly fragmentSize?: number;
  /** The time certificates are checked against. */
  readonly nowMs: () => number;
}

export interface EapTlsMessage {
  readonly flags: number;
  /** TLS Message Length, when L is set. */
  readonly total: number | undefined;
  readonly data: Buffer;
}

export function decodeEapTls(typeData: Buffer): EapTlsMessage {
  if (typeData.length < FLAGS_LENGTH) throw new ParseError('EAP-TLS: no Flags', 0);
  const flags = typeData[FLAGS_OFFSET] ?? 0;
  if ((flags & EapTlsFlag.L) === 0) return { flags, total: undefined, data: typeData.subarray(FLAGS_LENGTH) };
  if (typeData.length < FLAGS_LENGTH + TLS_LENGTH_LENGTH)
    throw new ParseError('EAP-TLS: L set but TLS Message Length truncated', FLAGS_LENGTH);
  const total = typeData.readUInt32BE(FLAGS_LENGTH);
  return { flags, total, data: typeData.subarray(FLAGS_LENGTH + TLS_LENGTH_LENGTH) };
}

export function encodeEapTls(m: EapTlsMessage): Buffer {
  const withLength = m.total !== undefined;
  const out = Buffer.alloc(FLAGS_LENGTH + (withLength ? TLS_LENGTH_LENGTH : 0) + m.data.length);
  out[FLAGS_OFFSET] = withLength ? m.flags | EapTlsFlag.L : m.flags & ~EapTlsFlag.L;
  if (m.total !== undefined) out.writeUInt32BE(m.total, FLAGS_LENGTH);
  out.set(m.data, out.length - m.data.length);
  return out;
}

const ACK = encodeEapTls({ flags: 0, total: undefined, data: Buffer.alloc(0) });

/** An EAP identity as the IKE identity a certificate is checked against: DN, address, e-mail, or a name. */
export function identityFromEapText(text: string): IkeIdentity {
  if (text.includes('=')) {
    try {
      return { type: 'dn', value: text, der: encodeDn(parseDn(text)) };
    } catch {
      // not a DN after all: a name
    }
  }
  const address = parseAddress(text);
  if (address !== undefined) return { type: address.length === 4 ? 'ipv4' : 'ipv6', value: text };
  if (text.startsWith('@')) return { type: 'fqdn', value: text.slice(1) };
  if (text.includes('@')) return { type: 'rfc822', value: text };
  return { type: 'fqdn', value: text };
}

function describeIdentity(id: IkeIdentity): string {
  return id.type === 'keyId' ? `keyid:${Buffer.from(id.value).toString('hex')}` : id.type === 'any' ? '%any' : id.value;
}

/** Why the peer's certificates (end entity first, as sent) are refused, or undefined when they are good. */
export function certificateProblem(
  chainDer: readonly Buffer[],
  config: EapTlsConfig,
  identity: IkeIdentity,
): string | undefined {
  const [first, ...rest] = chainDer;
  if (first === undefined) return 'the peer sent no certificate';
  let ee: X509Cert;
  let intermediates: X509Cert[];
  try {
    ee = X509Cert.fromDer(first);
    intermediates = rest.map((d) => X509Cert.fromDer(d));
  } catch (e) {
    return `the peer's certificate does not parse: ${(e as Error).message}`;
  }
  const chain = validateChain(ee, intermediates, config.credentials.cas, config.nowMs());
  if (!chain.ok) return `certificate not trusted: ${chain.reason}`;
  if (!certHasIdentity(ee, identity))
    return `certificate '${ee.subjectText}' does not carry the identity '${describeIdentity(identity)}' (subject or subjectAltName)`;
  return undefined;
}

/** Fragmentation and reassembly shared by both roles (RFC 5216 2.1.5). */
class Framing {
  private readonly maxData: number;
  private sending: Buffer | undefined;
  private sent = 0;
  private receiving: Buffer[] = [];
  private receivingTotal: number | undefined;
  private received = 0;

  constructor(fragmentSize: number | undefined) {
    const size = fragmentSize ?? DEFAULT_FRAGMENT_SIZE;
    if (size < MIN_FRAGMENT_SIZE) throw new RangeError(`EAP-TLS fragment size ${size} is below ${MIN_FRAGMENT_SIZE}`);
    this.maxData = size - FRAGMENT_OVERHEAD;
  }

  /** Are we in the middle of sending a message (the other side's next message must be an acknowledgement)? */
  get sendingMore(): boolean {
    return this.sending !== undefined && this.sent < this.sending.length;
  }

  /** Start sending `data`; the first fragment's Type-Data. */
  send(data: Buffer): Buffer {
    this.sending = data;
    this.sent = 0;
    return this.nextFragment();
  }

  /** The other side acknowledged a fragment; the next one. */
  nextFragment(): Buffer {
    const data = this.sending ?? Buffer.alloc(0);
    const first = this.sent === 0;
    const piece = data.subarray(this.sent, this.sent + this.maxData);
    this.sent += piece.length;
    const more = this.sent < data.length;
    return encodeEapTls({
      flags: more ? EapTlsFlag.M : 0,
      total: first && more ? data.length : undefined,
      data: piece,
    });
  }

  /** A received message: the whole TLS message once complete, 'fragment' when more is coming. */
  receive(m: EapTlsMessage): Buffer | 'fragment' {
    if (m.total !== undefined && this.receiving.length === 0) {
      if (m.total > MAX_TLS_MESSAGE_LENGTH)
        throw new ParseError(`EAP-TLS: TLS Message Length ${m.total} above ${MAX_TLS_MESSAGE_LENGTH}`, FLAGS_LENGTH);
      this.receivingTotal = m.total;
    }
    this.received += m.data.length;
    if (this.received > (this.receivingTotal ?? MAX_TLS_MESSAGE_LENGTH))
      throw new ParseError(
        `EAP-TLS: fragments carry more than the ${this.receivingTotal ?? MAX_TLS_MESSAGE_LENGTH} bytes announced`,
        0,
      );
    this.receiving.push(m.data);
    if ((m.flags & EapTlsFlag.M) !== 0) return 'fragment';
    const whole = Buffer.concat(this.receiving);
    const total = this.receivingTotal;
    this.receiving = [];
    this.receivingTotal = undefined;
    this.received = 0;
    if (total !== undefined && whole.length !== total)
      throw new ParseError(`EAP-TLS: reassembled ${whole.length} bytes, TLS Message Length said ${total}`, 0);
    return whole;
  }
}

function isAck(m: EapTlsMessage): boolean {
  return m.data.length === 0 && (m.flags & (EapTlsFlag.M | EapTlsFlag.S)) === 0;
}

function tlsConfigOf(ctx: { readonly tls?: EapTlsConfig }): EapTlsConfig {
  if (ctx.tls === undefined) throw new Error('EAP-TLS needs a certificate, its key and the trusted CAs');
  return ctx.tls;
}

export class TlsServer implements ServerMethod {
  readonly type = EapType['EAP-TLS'];
  private readonly ctx: ServerMethodContext;
  private readonly config: EapTlsConfig;
  private readonly framing: Framing;
  private readonly session: TlsChannel;
  private state: 'handshake' | 'waiting' | 'finished' = 'handshake';
  private msk: Buffer | undefined;

  constructor(ctx: ServerMethodContext) {
    this.ctx = ctx;
    this.config = tlsConfigOf(ctx);
    this.framing = new Framing(this.config.fragmentSize);
    this.session = this.config.channel('server', this.config.credentials);
  }

  initiate(): Buffer {
    return encodeEapTls({ flags: EapTlsFlag.S, total: undefined, data: Buffer.alloc(0) });
  }

  process(typeData: Buffer): ServerMethodStep {
    const m = decodeEapTls(typeData);
    if (this.framing.sendingMore) {
      if (!isAck(m)) return this.fail('EAP-TLS: expected an acknowledgement of our fragment');
      return { kind: 'request', typeData: this.framing.nextFragment() };
    }
    if (this.state === 'finished') {
      if (!isAck(m)) return this.fail('EAP-TLS: expected the acknowledgement of our Finished');
      this.session.close();
      return { kind: 'success', msk: this.msk, identity: this.ctx.identity };
    }
    if (this.state !== 'handshake') return this.fail('EAP-TLS: a response while the last one is being processed');
    const whole = this.framing.receive(m);
    if (whole === 'fragment') return { kind: 'request', typeData: ACK };
    if (whole.length === 0) return this.fail('EAP-TLS: the peer sent an empty message during the handshake');
    this.session.input(whole);
    this.state = 'waiting';
    return this.resume();
  }

  resume(): ServerMethodStep {
    // TLS 1.2: the server answers every flight of the client; the end of the handshake comes with its Finished.
    const news = this.session.hasNews ? this.session.take() : undefined;
    if (news === undefined || (news.data.length === 0 && news.error === undefined))
      return { kind: 'pending', ready: this.session.ready() };
    return this.answer(news);
  }

  private answer(news: TlsSessionState): ServerMethodStep {
    if (news.error !== undefined) return this.fail(`EAP-TLS handshake failed: ${news.error}`);
    this.state = 'handshake';
    if (news.established) {
      const expected = this.config.peerIdentity ?? identityFromEapText(this.ctx.identity);
      const problem = certificateProblem(this.session.peerCertificates(), this.config, expected);
      if (problem !== undefined) return this.fail(`EAP-TLS peer '${this.ctx.identity}' refused: ${problem}`);
      this.msk = this.session.keyMaterial().msk;
      this.state = 'finished';
    }
    return { kind: 'request', typeData: this.framing.send(news.data) };
  }

  close(): void {
    this.session.close();
  }

  private fail(reason: string): ServerMethodStep {
    this.session.close();
    return { kind: 'failure', reason };
  }
}

export class TlsPeer implements PeerMethod {
  readonly type = EapType['EAP-TLS'];
  complete = false;
  msk: Buffer | undefined;
  private readonly config: EapTlsConfig;
  private readonly framing: Framing;
  private session: TlsChannel | undefined;
  private waiting = false;

  constructor(ctx: PeerMethodContext) {
    this.config = tlsConfigOf(ctx);
    this.framing = new Framing(this.config.fragmentSize);
  }

  process(typeData: Buffer): PeerMethodStep {
    const m = decodeEapTls(typeData);
    if ((m.flags & EapTlsFlag.S) !== 0) {
      if (this.session !== undefined) return this.fail('EAP-TLS: a second Start from the server');
      this.session = this.config.channel('client', this.config.credentials);
      this.waiting = true;
      return this.resume();
    }
    const session = this.session;
    if (session === undefined) return this.fail('EAP-TLS: the server did not start with S');
    if (this.framing.sendingMore) {
      if (!isAck(m)) return this.fail('EAP-TLS: expected an acknowledgement of our fragment');
      return { kind: 'response', typeData: this.framing.nextFragment() };
    }
    if (this.complete) return this.fail('EAP-TLS: the server sent more after its Finished');
    if (this.waiting) return this.fail('EAP-TLS: a request while the last one is being processed');
    const whole = this.framing.receive(m);
    if (whole === 'fragment') return { kind: 'response', typeData: ACK };
    if (whole.length === 0) return this.fail('EAP-TLS: the server sent an empty message during the handshake');
    session.input(whole);
    this.waiting = true;
    return this.resume();
  }

  resume(): PeerMethodStep {
    const session = this.session;
    if (session === undefined || !this.waiting) return this.fail('EAP-TLS: nothing to resume');
    if (!session.hasNews) return { kind: 'pending', ready: session.ready() };
    this.waiting = false;
    const news = session.take();
    if (news.error !== undefined)
      return this.fail(`EAP-TLS handshake failed: ${news.error}`, news.data.length > 0 ? news.data : undefined);
    // Judge the server's certificate as soon as it arrived: before our own certificate flight goes out.
    const chain = session.peerCertificates();
    if (chain.length > 0 || news.established) {
      const problem = certificateProblem(chain, this.config, this.config.peerIdentity ?? { type: 'any' });
      if (problem !== undefined) return this.fail(`EAP-TLS server refused: ${problem}`);
    }
    if (news.established) {
      this.msk = session.keyMaterial().msk;
      this.complete = true;
      session.close();
      return { kind: 'response', typeData: news.data.length > 0 ? this.framing.send(news.data) : ACK };
    }
    return { kind: 'response', typeData: this.framing.send(news.data) };
  }

  close(): void {
    this.session?.close();
  }

  private fail(reason: string, alert?: Buffer): PeerMethodStep {
    this.session?.close();
    return alert === undefined
      ? { kind: 'failure', reason }
      : { kind: 'failure', reason, typeData: encodeEapTls({ flags: 0, total: undefined, data: alert }) };
  }
}
