/**
 * The interface between the EAP state machines (eap-server.ts, eap-peer.ts) and one authentication method. A method
 * sees only its Type-Data and the Identifier of the request concerned; the state machines own the EAP header,
 * identifiers, Identity, Nak, Success and Failure (RFC 3748 2, 4, 5).
 */
import type { Rng } from '../crypto/types.js';
import type { EapTlsConfig } from './eap-tls.js';

/**
 * The method is still working (EAP-TLS waits for its TLS library): once `ready` resolves, `resume()` gives the step.
 * The state machines pass this on, and whoever drives them (the IKE engine) answers later.
 */
export interface PendingStep {
  readonly kind: 'pending';
  readonly ready: Promise<void>;
}

/** What a server-side method does with a response. */
export type ServerMethodStep =
  | { readonly kind: 'request'; readonly typeData: Buffer }
  /** Authenticated; `msk` for key-generating methods (RFC 3748 7.10). */
  | { readonly kind: 'success'; readonly msk: Buffer | undefined; readonly identity: string }
  | { readonly kind: 'failure'; readonly reason: string }
  | PendingStep;

export interface ServerMethod {
  /** EapType. */
  readonly type: number;
  /** The first request's Type-Data. */
  initiate(identifier: number): Buffer;
  /** The peer's response to the request with `identifier`; throws ParseError for malformed Type-Data. */
  process(typeData: Buffer, identifier: number): ServerMethodStep;
  /**
   * Why the peer already failed while the method still finishes its conversation (the MS-CHAPv2 Failure request
   * awaits the peer's answer); undefined otherwise. A peer may end the exchange instead of answering.
   */
  readonly failing?: string | undefined;
  /** After a pending step's `ready`: the step it stood for (may be pending again). */
  resume?(): ServerMethodStep;
  /** The conversation ended (either way): release what the method holds. */
  close?(): void;
}

/** What a peer-side method does with a request. */
export type PeerMethodStep =
  | { readonly kind: 'response'; readonly typeData: Buffer }
  | { readonly kind: 'failure'; readonly reason: string; readonly typeData?: Buffer }
  | PendingStep;

export interface PeerMethod {
  readonly type: number;
  /** The server's request with `identifier`; throws ParseError for malformed Type-Data. */
  process(typeData: Buffer, identifier: number): PeerMethodStep;
  /** After a pending step's `ready`: the step it stood for (may be pending again). */
  resume?(): PeerMethodStep;
  close?(): void;
  /** True once the method authenticated the server too, or needs no more (EAP-Success may then be accepted). */
  readonly complete: boolean;
  /** The MSK, once complete, for key-generating methods. */
  readonly msk: Buffer | undefined;
}

/** The server's view of the credentials: the password of an EAP identity (swanctl `secrets.eap*`). */
export type PasswordLookup = (identity: string) => string | undefined;

export interface ServerMethodContext {
  readonly rng: Rng;
  /** The peer's EAP identity (EAP-Identity response or configured). */
  readonly identity: string;
  readonly password: PasswordLookup;
  /** Our name in MS-CHAPv2 challenges. */
  readonly serverName: string;
  /** EAP-TLS: our certificate and key, the CAs we trust, the identity the peer's certificate must carry. */
  readonly tls?: EapTlsConfig;
}

export interface PeerMethodContext {
  readonly rng: Rng;
  readonly identity: string;
  readonly password: string;
  readonly tls?: EapTlsConfig;
}
