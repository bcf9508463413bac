/**
 * The EAP peer (RFC 3748 2, 4, 5), sans-I/O: `process(request)` gives the response to send, or the outcome when
 * EAP-Success or EAP-Failure arrives. It answers EAP-Identity and Notification, runs the methods it accepts and
 * answers a Nak with them for any other, and accepts EAP-Success only once its method is complete (for
 * EAP-MSCHAPv2 that means the server proved it knows the password: RFC 2759 mutual authentication).
 */
import { ParseError } from '../common/errors.js';
import type { Rng } from '../crypto/types.js';
import { EapCode, EapType, nameOf } from './constants.js';
import { decodeEapPacket, encodeEapPacket } from './eap-packet.js';
import { Md5Peer } from './eap-md5.js';
import type { PeerMethod, PeerMethodContext, PeerMethodStep } from './eap-method.js';
import { MsChapV2Peer } from './eap-mschapv2.js';
import { TlsPeer } from './eap-tls.js';
import type { EapTlsConfig } from './eap-tls.js';

const PEER_METHODS: Readonly<Record<number, (ctx: PeerMethodContext) => PeerMethod>> = {
  [EapType['MD5-Challenge']]: (ctx) => new Md5Peer(ctx),
  [EapType['EAP-MSCHAP-V2']]: (ctx) => new MsChapV2Peer(ctx),
  [EapType['EAP-TLS']]: (ctx) => new TlsPeer(ctx),
};

/** Whether this build runs method `type` (EapType) as a peer. */
export function hasPeerMethod(type: number): boolean {
  return PEER_METHODS[type] !== undefined;
}

export interface EapPeerConfig {
  readonly rng: Rng;
  /** Our EAP identity (swanctl `eap_id`). */
  readonly identity: string;
  /** Our password (swanctl `secrets.eap*`); unused by EAP-TLS. */
  readonly password: string;
  /** Methods we accept (EapType), in order of preference (default EAP-MSCHAPv2, then EAP-MD5). */
  readonly methods?: readonly number[];
  /** EAP-TLS: our certificate and key, the trusted CAs, the server's identity. */
  readonly tls?: EapTlsConfig;
}

export type EapPeerStep =
  | { readonly kind: 'response'; readonly packet: Buffer }
  | { readonly kind: 'success'; readonly method: number; readonly msk: Buffer | undefined }
  | {
      readonly kind: 'failure';
      readonly reason: string;
      /** A last response to send before giving up (the MS-CHAPv2 Failure response), when there is one. */
      readonly packet?: Buffer;
    }
  /** The method works asynchronously (EAP-TLS): call `resume()` once `ready` resolved. */
  | { readonly kind: 'pending'; readonly ready: Promise<void> };

export class EapPeer {
  private readonly config: EapPeerConfig;
  private readonly methods: readonly number[];
  private method: PeerMethod | undefined;
  private failed: string | undefined;
  /** The Identifier of the request a pending method step answers. */
  private pendingIdentifier: number | undefined;

  constructor(config: EapPeerConfig) {
    this.config = config;
    this.methods = config.methods ?? [EapType['EAP-MSCHAP-V2'], EapType['MD5-Challenge']];
    if (!this.methods.every((m) => PEER_METHODS[m] !== undefined))
      throw new Error(`EAP methods must be some of ${Object.keys(PEER_METHODS).join(', ')}`);
  }

  /** The server's next packet. Malformed or unexpected input ends in failure, never a throw. */
  process(bytes: Uint8Array): EapPeerStep {
    try {
      return this.step(bytes);
    } catch (e) {
      if (e instanceof ParseError) return { kind: 'failure', reason: `malformed EAP request: ${e.message}` };
      throw e;
    }
  }

  /** After a pending step's `ready`: the response (or outcome) it stood for. */
  resume(): EapPeerStep {
    const m = this.method;
    const identifier = this.pendingIdentifier;
    if (m?.resume === undefined || identifier === undefined) return { kind: 'failure', reason: 'nothing to resume' };
    try {
      return this.methodStep(m, m.resume(), identifier);
    } catch (e) {
      if (e instanceof ParseError) return { kind: 'failure', reason: `malformed EAP request: ${e.message}` };
      throw e;
    }
  }

  /** Release what the method holds (the TLS session) when the conversation is abandoned. */
  close(): void {
    this.method?.close?.();
  }

  private step(bytes: Uint8Array): EapPeerStep {
    const p = decodeEapPacket(bytes);
    if (p.code === EapCode.Success) {
      const m = this.method;
      if (this.failed !== undefined) return { kind: 'failure', reason: this.failed };
      if (m === undefined || !m.complete)
        return { kind: 'failure', reason: 'EAP-Success before the method authenticated the server' };
      return { kind: 'success', method: m.type, msk: m.msk };
    }
    if (p.code === EapCode.Failure)
      return { kind: 'failure', reason: this.failed ?? 'the server sent EAP-Failure (authentication refused)' };
    if (p.code !== EapCode.Request) return { kind: 'failure', reason: 'unexpected EAP Response from the server' };
    const respond = (type: number, data: Buffer): EapPeerStep => ({
      kind: 'response',
      packet: encodeEapPacket({ code: EapCode.Response, identifier: p.identifier, type, data }),
    });
    if (p.type === EapType.Identity) return respond(EapType.Identity, Buffer.from(this.config.identity, 'utf8'));
    if (p.type === EapType.Notification) return respond(EapType.Notification, Buffer.alloc(0));
    if (!this.methods.includes(p.type)) {
      if (this.method !== undefined)
        return { kind: 'failure', reason: `server switched to ${nameOf(EapType, p.type)} in the middle of a method` };
      return respond(EapType.Nak, Buffer.from(this.methods));
    }
    if (this.method === undefined) {
      const make = PEER_METHODS[p.type];
      if (make === undefined) return respond(EapType.Nak, Buffer.from(this.methods));
      this.method = make({
        rng: this.config.rng,
        identity: this.config.identity,
        password: this.config.password,
        ...(this.config.tls === undefined ? {} : { tls: this.config.tls }),
      });
    } else if (this.method.type !== p.type)
      return { kind: 'failure', reason: `server switched to ${nameOf(EapType, p.type)} in the middle of a method` };
    return this.methodStep(this.method, this.method.process(p.data, p.identifier), p.identifier);
  }

  private methodStep(method: PeerMethod, r: PeerMethodStep, identifier: number): EapPeerStep {
    this.pendingIdentifier = undefined;
    const packet = (data: Buffer): Buffer =>
      encodeEapPacket({ code: EapCode.Response, identifier, type: method.type, data });
    if (r.kind === 'pending') {
      this.pendingIdentifier = identifier;
      return r;
    }
    if (r.kind === 'response') return { kind: 'response', packet: packet(r.typeData) };
    this.failed = r.reason;
    if (r.typeData === undefined) return { kind: 'failure', reason: r.reason };
    return { kind: 'failure', reason: r.reason, packet: packet(r.typeData) };
  }
}
