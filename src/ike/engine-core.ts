/** What tasks may ask of the engine: configuration, randomness, logging, SA bookkeeping and events. */
import type { Logger } from '../common/log.js';
import type { Rng } from '../crypto/types.js';
import type { ChildConfig, ConnectionConfig, EngineConfig, IkeIdentity } from './config.js';
import type { IkeEvent, SaEndCause } from './events.js';
import type { ChildSa, IkeSa } from './sa.js';
import type { Task } from './task.js';

export interface EngineCore {
  readonly config: EngineConfig;
  readonly rng: Rng;
  readonly log: Logger;
  /** Bytes per nonce we send (RFC 7296 2.10). */
  readonly nonceLength: number;
  emit(event: IkeEvent): void;
  /** A fresh, unused, non-zero 8-byte IKE SPI. */
  newIkeSpi(): Buffer;
  /** A CHILD_SA record with a fresh inbound SPI, not yet attached to an IKE_SA. */
  newChildSa(config: ChildConfig): ChildSa;
  /** A new IKE_SA created by rekeying `old` (RFC 7296 2.18), registered under our new SPI. */
  newRekeyedIkeSa(old: IkeSa, initiator: boolean, spiI: Buffer, spiR: Buffer): IkeSa;
  /** Attach and announce an installed CHILD_SA (childSaInstalled), arming its lifetimes. */
  installChild(sa: IkeSa, child: ChildSa, nowMs: number): void;
  /** Detach a CHILD_SA and announce it (childSaDeleted). */
  removeChild(sa: IkeSa, child: ChildSa, cause: SaEndCause, reason: string): void;
  /** Mark an IKE_SA established and announce it (ikeSaEstablished), arming its lifetimes. */
  establishIke(sa: IkeSa, nowMs: number): void;
  /** Destroy an IKE_SA and its CHILD_SAs now, announcing each. */
  destroyIke(sa: IkeSa, cause: SaEndCause, reason: string): void;
  /** Queue a task on an IKE_SA; it starts when the request window is free. */
  queueTask(sa: IkeSa, task: Task): void;
  /** Connections this engine has. */
  connections(): readonly ConnectionConfig[];
  /** The PSK for a pair of identities. */
  psk(local: IkeIdentity, remote: IkeIdentity): Uint8Array | undefined;
  /** RFC 7296 2.4 INITIAL_CONTACT received on `sa`: drop the other IKE_SAs between the same two identities. */
  initialContact(sa: IkeSa): void;
  /** Whether another live IKE_SA already connects us to the peer `sa` (for `conn`) is about to authenticate. */
  hasContact(sa: IkeSa, conn: ConnectionConfig): boolean;
  /**
   * Responder, IKE_SA_INIT: may a key exchange with `group` run now (the budget for unauthenticated key
   * exchange work)? When not, the drop is counted and the request is to be dropped silently.
   */
  allowKeyExchange(group: number, nowMs: number): boolean;
  /** Find the CHILD_SA of `sa` whose outbound SPI is `spi` (what the peer names in REKEY_SA / DELETE). */
  childByPeerSpi(sa: IkeSa, protocol: 'esp' | 'ah', spi: Uint8Array): ChildSa | undefined;
}
