/**
 * The EAP authenticator (RFC 3748 2, 4, 5), sans-I/O: `start()` gives the first request, `process(response)` the next
 * request or the outcome with its EAP-Success or EAP-Failure packet. It asks for the peer's identity (EAP-Identity)
 * unless one is given, proposes its first method, follows the peer's Nak to another allowed method, and keeps the
 * Identifier of each request (a response must echo it). In IKEv2 each packet travels in an EAP payload of IKE_AUTH
 * (RFC 7296 2.16); the MSK of a key-generating method then keys the AUTH payloads.
 *
 *   const server = new EapServer({ rng, methods: [EapType['EAP-MSCHAP-V2']], password: (id) => users.get(id) });
 *   let step = server.start();                 // EAP-Request/Identity
 *   step = server.process(responseBytes);      // ... until step.kind is 'success' or 'failure'
 */
import { ParseError } from '../common/errors.js';
import type { Rng } from '../crypto/types.js';
import { EapCode, EapType, nameOf } from './constants.js';
import { decodeEapPacket, encodeEapPacket } from './eap-packet.js';
import { Md5Server } from './eap-md5.js';
import type { PasswordLookup, ServerMethod, ServerMethodContext, ServerMethodStep } from './eap-method.js';
import { MsChapV2Server } from './eap-mschapv2.js';
import { TlsServer } from './eap-tls.js';
import type { EapTlsConfig } from './eap-tls.js';

/** Server-side methods this project has, by EapType. */
const SERVER_METHODS: Readonly<Record<number, (ctx: ServerMethodContext) => ServerMethod>> = {
  [EapType['MD5-Challenge']]: (ctx) => new Md5Server(ctx),
  [EapType['EAP-MSCHAP-V2']]: (ctx) => new MsChapV2Server(ctx),
  [EapType['EAP-TLS']]: (ctx) => new TlsServer(ctx),
};

/** Whether this build runs method `type` (EapType) as a server. */
export function hasServerMethod(type: number): boolean {
  return SERVER_METHODS[type] !== undefined;
}

export interface EapServerConfig {
  readonly rng: Rng;
  /** Methods allowed, the first proposed (EapType). */
  readonly methods: readonly number[];
  /** The password of an EAP identity (swanctl `secrets.eap*`), or undefined. */
  readonly password: PasswordLookup;
  /** The peer's EAP identity when known beforehand; otherwise EAP-Identity asks for it. */
  readonly identity?: string;
  /** Our name in method messages (MS-CHAPv2 Name). */
  readonly serverName?: string;
  /** EAP-TLS: our certificate and key, the trusted CAs (the peer's certificate must carry its EAP identity). */
  readonly tls?: EapTlsConfig;
}

export type EapServerStep =
  | { readonly kind: 'request'; readonly packet: Buffer }
  | {
      readonly kind: 'success';
      readonly packet: Buffer;
      /** The identity the method authenticated. */
      readonly identity: string;
      /** EapType of the method that authenticated. */
      readonly method: number;
      /** Master Session Key (RFC 3748 7.10), undefined for methods that make none (EAP-MD5). */
      readonly msk: Buffer | undefined;
    }
  | { readonly kind: 'failure'; readonly packet: Buffer; readonly reason: string }
  /** The method works asynchronously (EAP-TLS): call `resume()` once `ready` resolved. */
  | { readonly kind: 'pending'; readonly ready: Promise<void> };

/** A step that is not pending: what `start()` gives. */
export type EapServerSettledStep = Exclude<EapServerStep, { readonly kind: 'pending' }>;

export class EapServer {
  private readonly config: EapServerConfig;
  private identifier: number;
  private identity: string | undefined;
  private method: ServerMethod | undefined;
  private done = false;

  constructor(config: EapServerConfig) {
    if (config.methods.length === 0 || !config.methods.every((m) => SERVER_METHODS[m] !== undefined))
      throw new Error(`EAP methods must be some of ${Object.keys(SERVER_METHODS).join(', ')}`);
    this.config = config;
    this.identifier = config.rng.bytes(1)[0] ?? 0;
    this.identity = config.identity;
  }

  /** Why the peer already failed while the method finishes its conversation (see ServerMethod.failing). */
  get failing(): string | undefined {
    return this.method?.failing;
  }

  /** The first request: EAP-Identity, or the first method when the identity is known. */
  start(): EapServerSettledStep {
    if (this.identity === undefined) return this.request(EapType.Identity, Buffer.alloc(0));
    return this.startMethod(this.config.methods[0] ?? 0);
  }

  /** The peer's response to the last request. Malformed or unexpected input ends in failure, never a throw. */
  process(bytes: Uint8Array): EapServerStep {
    if (this.done) return this.failure('EAP conversation already finished');
    try {
      return this.step(bytes);
    } catch (e) {
      if (e instanceof ParseError) return this.failure(`malformed EAP response: ${e.message}`);
      throw e;
    }
  }

  /** After a pending step's `ready`: the request (or outcome) it stood for. */
  resume(): EapServerStep {
    const m = this.method;
    if (this.done || m?.resume === undefined) return this.failure('nothing to resume');
    try {
      return this.methodStep(m, m.resume());
    } catch (e) {
      if (e instanceof ParseError) return this.failure(`malformed EAP response: ${e.message}`);
      throw e;
    }
  }

  /** Release what the method holds (the TLS session) when the conversation is abandoned. */
  close(): void {
    this.method?.close?.();
  }

  private step(bytes: Uint8Array): EapServerStep {
    const p = decodeEapPacket(bytes);
    if (p.code !== EapCode.Response) return this.failure(`expected an EAP Response, got code ${p.code}`);
    if (p.identifier !== this.identifier)
      return this.failure(`EAP Response with Identifier ${p.identifier}, expected ${this.identifier}`);
    if (p.type === EapType.Identity && this.method === undefined) {
      this.identity = p.data.toString('utf8');
      return this.startMethod(this.config.methods[0] ?? 0);
    }
    if (p.type === EapType.Nak) {
      // RFC 3748 5.3.1: the peer names the methods it wants; take the first we allow that we are not running.
      const wanted = [...p.data].find((t) => this.config.methods.includes(t) && t !== this.method?.type);
      if (wanted === undefined)
        return this.failure(`peer refused ${this.methodName()} and wants none of ours (${[...p.data].join(', ')})`);
      return this.startMethod(wanted);
    }
    const method = this.method;
    if (method === undefined || p.type !== method.type)
      return this.failure(`EAP Response of type ${nameOf(EapType, p.type)} while running ${this.methodName()}`);
    return this.methodStep(method, method.process(p.data, p.identifier));
  }

  private methodStep(method: ServerMethod, r: ServerMethodStep): EapServerStep {
    switch (r.kind) {
      case 'pending':
        return r;
      case 'request':
        return this.request(method.type, r.typeData);
      case 'failure':
        return this.failure(r.reason);
      case 'success':
        this.done = true;
        return {
          kind: 'success',
          packet: encodeEapPacket({ code: EapCode.Success, identifier: this.identifier }),
          identity: r.identity,
          method: method.type,
          msk: r.msk,
        };
    }
  }

  private startMethod(type: number): EapServerSettledStep {
    const make = SERVER_METHODS[type];
    if (make === undefined) return this.failure(`EAP method ${type} is not available`);
    this.method = make({
      rng: this.config.rng,
      identity: this.identity ?? '',
      password: this.config.password,
      serverName: this.config.serverName ?? 'ts-ipsec',
      ...(this.config.tls === undefined ? {} : { tls: this.config.tls }),
    });
    const identifier = this.next();
    return this.send(this.method.type, this.method.initiate(identifier), identifier);
  }

  private next(): number {
    this.identifier = (this.identifier + 1) & 0xff;
    return this.identifier;
  }

  private request(type: number, data: Buffer): EapServerSettledStep {
    return this.send(type, data, this.next());
  }

  private send(type: number, data: Buffer, identifier: number): EapServerSettledStep {
    return { kind: 'request', packet: encodeEapPacket({ code: EapCode.Request, identifier, type, data }) };
  }

  private failure(reason: string): EapServerSettledStep {
    this.done = true;
    return { kind: 'failure', packet: encodeEapPacket({ code: EapCode.Failure, identifier: this.identifier }), reason };
  }

  private methodName(): string {
    return this.method === undefined ? 'no method' : nameOf(EapType, this.method.type);
  }
}
