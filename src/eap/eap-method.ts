/**
 * The interface between the EAP state machines (eap-server.ts, eap-peer.ts) and one authentication method. A method
 * sees only its Type-Data and the Identifier of the request concerned; the state machines own the EAP header,
 * identifiers, Identity, Nak, Success and Failure (RFC 3748 2, 4, 5).
 */
import type { Rng } from '../crypto/types.js';

/** What a server-side method does with a response. */
export type ServerMethodStep =
  | { readonly kind: 'request'; readonly typeData: Buffer }
  /** Authenticated; `msk` for key-generating methods (RFC 3748 7.10). */
  | { readonly kind: 'success'; readonly msk: Buffer | undefined; readonly identity: string }
  | { readonly kind: 'failure'; readonly reason: string };

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
}

/** What a peer-side method does with a request. */
export type PeerMethodStep =
  | { readonly kind: 'response'; readonly typeData: Buffer }
  | { readonly kind: 'failure'; readonly reason: string; readonly typeData?: Buffer };

export interface PeerMethod {
  readonly type: number;
  /** The server's request with `identifier`; throws ParseError for malformed Type-Data. */
  process(typeData: Buffer, identifier: number): PeerMethodStep;
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
}

export interface PeerMethodContext {
  readonly rng: Rng;
  readonly identity: string;
  readonly password: string;
}
