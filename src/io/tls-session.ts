/**
 * One TLS 1.2 handshake in memory for EAP-TLS (RFC 5216), the TlsChannel of src/eap/eap-tls.ts: Node's TLS (OpenSSL)
 * over a Duplex that no socket backs. TLS records go in with `input()` and come out of `take()`; nothing touches the
 * network. OpenSSL answers most flights synchronously inside `input()`, but Node's stream glue completes each write
 * on the next event-loop turn, so a flight may also arrive later: `ready()` resolves when the session has something
 * new to say. When several turns pass without a word after input, OpenSSL waits for data the peer never sent (a
 * message cut inside a record or a handshake message): that is reported as an error, so no exchange waits forever.
 *
 * The peer certificate is NOT judged here (Node's check is switched off): the EAP-TLS method validates the chain and
 * the identity with src/pki once the handshake gave it.
 */
import { Duplex } from 'node:stream';
import { TLSSocket, connect, createSecureContext } from 'node:tls';
import { constants } from 'node:crypto';
import { toPem } from '../pki/pem.js';
import type { TlsChannel, TlsChannelFactory, TlsCredentials, TlsSessionState } from '../eap/eap-tls.js';

/** Event-loop turns without output after input before the input counts as incomplete (output comes in one). */
const STALL_TURNS = 4;

/** Key_Material of RFC 5216 2.3: TLS-PRF-128(master_secret, "client EAP encryption", client.random || server.random). */
const EAP_TLS_KEY_LABEL = 'client EAP encryption';
const EAP_TLS_KEY_MATERIAL_LENGTH = 128;
export const MSK_LENGTH = 64;

export class TlsSession implements TlsChannel {
  readonly role: 'server' | 'client';
  private readonly wire: Duplex;
  private readonly socket: TLSSocket;
  private out: Buffer[] = [];
  private established = false;
  private error: string | undefined;
  /** The end of the handshake or the error was already handed out by `take()`. */
  private told = false;
  private wake: (() => void) | undefined;
  /** Turns watched since the last input without news; undefined when not watching. */
  private idleTurns: number | undefined;
  private closed = false;

  constructor(role: 'server' | 'client', creds: TlsCredentials) {
    this.role = role;
    this.wire = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _enc, done) => {
        this.out.push(Buffer.from(chunk));
        this.poke();
        done();
      },
    });
    const secureContext = createSecureContext({
      cert: creds.certs.map((c) => toPem('CERTIFICATE', c.der)).join(''),
      key: creds.key.export({ type: 'pkcs8', format: 'pem' }),
      ...(creds.cas.length > 0 ? { ca: creds.cas.map((c) => toPem('CERTIFICATE', c.der)) } : {}),
      // RFC 9190 (TLS 1.3) changes the key derivation and the end of the handshake; this session speaks 1.2.
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      // strongSwan's TLS server (libtls) sends no renegotiation_info (RFC 5746), which OpenSSL 3 refuses by
      // default. An EAP-TLS session carries one handshake and no application data: nothing is ever renegotiated.
      ...(role === 'client' ? { secureOptions: constants.SSL_OP_LEGACY_SERVER_CONNECT } : {}),
    });
    if (role === 'server') {
      this.socket = new TLSSocket(this.wire, {
        isServer: true,
        secureContext,
        requestCert: true,
        rejectUnauthorized: false,
      });
      this.socket.on('secure', () => this.done());
    } else {
      this.socket = connect({
        socket: this.wire,
        secureContext,
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
      });
      this.socket.on('secureConnect', () => this.done());
    }
    this.socket.on('error', (e: Error) => {
      this.error ??= e.message;
      this.poke();
    });
    // Application data never flows; keep the socket from buffering. Nor is anything renegotiated.
    this.socket.on('data', () => undefined);
    this.socket.disableRenegotiation();
    if (role === 'client') this.watch();
  }

  /** Records from the peer (one whole flight, as EAP-TLS reassembles it). */
  input(records: Buffer): void {
    if (records.length > 0) this.wire.push(records);
    this.watch();
  }

  /** Count event-loop turns until news; after STALL_TURNS quiet ones, OpenSSL waits for input that will not come. */
  private watch(): void {
    const first = this.idleTurns === undefined;
    this.idleTurns = 0;
    if (!first) return;
    const turn = (): void => {
      if (this.closed || this.idleTurns === undefined) return;
      if (this.hasNews) {
        this.idleTurns = undefined;
        return;
      }
      if (++this.idleTurns >= STALL_TURNS) {
        this.idleTurns = undefined;
        this.error ??= 'the TLS library waits for more data than the peer sent (an incomplete TLS message)';
        this.told = false;
        this.poke();
        return;
      }
      setImmediate(turn);
    };
    setImmediate(turn);
  }

  /** What the session has produced so far; the records are handed out once. */
  take(): TlsSessionState {
    const data = Buffer.concat(this.out);
    this.out = [];
    this.told = this.established || this.error !== undefined;
    // The input was answered: stop counting quiet turns.
    if (data.length > 0 || this.told) this.idleTurns = undefined;
    return { data, established: this.established, error: this.error };
  }

  /** Whether `take()` has something new: records, the end of the handshake, or an error. */
  get hasNews(): boolean {
    return this.out.length > 0 || (!this.told && (this.established || this.error !== undefined));
  }

  /** Resolves when the session has news (at once when it has). */
  ready(): Promise<void> {
    if (this.hasNews) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  /** The peer's certificate chain as sent (end entity first), once its Certificate message was processed. */
  peerCertificates(): Buffer[] {
    const first = this.socket.getPeerCertificate(true);
    const chain: Buffer[] = [];
    const seen = new Set<object>();
    for (let c = first as typeof first | undefined; c?.raw !== undefined && !seen.has(c);) {
      seen.add(c);
      chain.push(Buffer.from(c.raw));
      c = c.issuerCertificate as typeof c | undefined;
    }
    return chain;
  }

  /** The negotiated cipher suite, for logs. */
  cipher(): string {
    return this.socket.getCipher()?.name ?? '?';
  }

  /** RFC 5216 2.3: MSK (first 64 bytes) and EMSK (next 64). Only once established. */
  keyMaterial(): { msk: Buffer; emsk: Buffer } {
    const km = this.socket.exportKeyingMaterial(
      EAP_TLS_KEY_MATERIAL_LENGTH,
      EAP_TLS_KEY_LABEL,
      undefined as unknown as Buffer,
    );
    return { msk: km.subarray(0, MSK_LENGTH), emsk: km.subarray(MSK_LENGTH) };
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
    this.wire.destroy();
  }

  private done(): void {
    this.established = true;
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

/** The TlsChannel factory EAP-TLS uses in the daemon and the tests. */
export const nodeTlsChannel: TlsChannelFactory = (role, credentials) => new TlsSession(role, credentials);
