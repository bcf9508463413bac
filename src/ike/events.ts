/**
 * What the engine hands out: datagrams to send and events for the daemon and the data plane.
 */
import type { TrafficSelector } from './codec/types.js';

/** A UDP endpoint. The engine takes and gives plain IKE messages; on port 4500 the socket layer adds and removes the non-ESP marker (RFC 3948 2.2). */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** An IKE message to send from `from` to `to` (without the non-ESP marker, which the socket adds on port 4500). */
export interface OutgoingDatagram {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly bytes: Buffer;
}

/** Keys of one CHILD_SA direction: encryption keymat (key || salt, RFC 4106 8.1 etc.) and integrity key. */
export interface DirectionKeys {
  readonly encr: Buffer;
  readonly integ: Buffer;
}

/** Everything the data plane needs to install a CHILD_SA (both directions). */
export interface ChildSaInfo {
  /** Engine-wide unique id of the CHILD_SA. */
  readonly id: number;
  readonly ikeSaId: number;
  /** The child configuration's name. */
  readonly name: string;
  readonly protocol: 'esp' | 'ah';
  readonly mode: 'tunnel' | 'transport';
  /** Our inbound SPI (the peer sends with it). */
  readonly spiIn: number;
  /** The peer's inbound SPI (we send with it). */
  readonly spiOut: number;
  /** EncrId (ESP; 0 for AH). */
  readonly encrId: number;
  /** Key length in bits for variable-length ciphers (0 otherwise). */
  readonly encrKeyBits: number;
  /** IntegId (0 for AEADs). */
  readonly integId: number;
  /** Extended sequence numbers (RFC 4303 2.2.1). */
  readonly esn: boolean;
  /** Keys for inbound packets (sent by the peer). */
  readonly keysIn: DirectionKeys;
  /** Keys for outbound packets. */
  readonly keysOut: DirectionKeys;
  readonly tsLocal: readonly TrafficSelector[];
  readonly tsRemote: readonly TrafficSelector[];
  /**
   * We sent the request that created it (CREATE_CHILD_SA or IKE_AUTH). Its responder installs before the
   * initiator (on the request), so a responder's new outbound SA may be used before the peer can open it.
   */
  readonly createdAsInitiator: boolean;
  /** Outer addresses. */
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** ESP in UDP (RFC 3948): true when a NAT was detected or encapsulation was forced. */
  readonly encap: boolean;
  /**
   * Volume limits (0 = none): the data plane counts the traffic, so it enforces them and reports a soft
   * limit (rekey) or a hard one (`expireChild`). Soft limits already carry the rand_bytes/rand_packets jitter.
   */
  readonly rekeyBytes: number;
  readonly rekeyPackets: number;
  readonly lifeBytes: number;
  readonly lifePackets: number;
}

/**
 * Why an SA went away, typed for the daemon's decisions (close_action, dpd_action, keyingtries); the
 * accompanying `reason` text is for logs and users only.
 * - `local`: we deleted it (terminate, `down`, stop);
 * - `peerDeleted`: the peer sent a DELETE for it (close_action);
 * - `peerDead`: the peer stopped answering, retransmissions exhausted (dpd_action);
 * - `authFailed`: authentication failed, either side refusing (keyingtries stop);
 * - `failed`: negotiation failed otherwise (no proposal, unacceptable TS, half-open timeout, a failed rekey);
 * - `expired`: its hard lifetime passed;
 * - `replaced`: rekeyed, redundant after a rekey collision, or dropped for INITIAL_CONTACT.
 */
export type SaEndCause = 'local' | 'peerDeleted' | 'peerDead' | 'authFailed' | 'failed' | 'expired' | 'replaced';

/** Events, drained with `Engine.nextEvent()`. */
export type IkeEvent =
  | {
      readonly type: 'ikeSaEstablished';
      readonly ikeSaId: number;
      readonly name: string;
      readonly initiator: boolean;
      readonly spiI: Buffer;
      readonly spiR: Buffer;
      readonly local: Endpoint;
      readonly remote: Endpoint;
      readonly localId: string;
      readonly remoteId: string;
      readonly proposal: string;
      /** NAT between us and the peer (RFC 7296 2.23): our side / their side. */
      readonly natLocal: boolean;
      readonly natRemote: boolean;
      /** EAP identities (RFC 7296 2.16): ours when we logged in with EAP, the peer's when it logged in to us. */
      readonly localEapId?: string;
      readonly remoteEapId?: string;
      /**
       * Set when this IKE_SA replaces another by rekeying (RFC 7296 1.3.2): the CHILD_SAs listed in
       * `childSaIds` moved from IKE_SA `rekeyOf` to this one (their keys and SPIs are unchanged).
       */
      readonly rekeyOf?: number;
      readonly childSaIds?: readonly number[];
      /**
       * Set when we set this IKE_SA up to reauthenticate IKE_SA `reauthOf` (make-before-break): the old one is
       * deleted once this one's CHILD_SAs are up.
       */
      readonly reauthOf?: number;
    }
  | {
      readonly type: 'ikeSaDeleted';
      readonly ikeSaId: number;
      readonly name: string;
      readonly cause: SaEndCause;
      readonly reason: string;
    }
  | {
      /**
       * Virtual IPs agreed in IKE_AUTH (RFC 7296 2.19), after ikeSaEstablished and before the first childSaInstalled:
       * `local` are ours (we asked, the peer assigned them), `remote` the peer's (assigned from our pools), with the
       * DNS servers and split-include subnets that came with them.
       */
      readonly type: 'virtualIpsAssigned';
      readonly ikeSaId: number;
      readonly name: string;
      readonly local: readonly string[];
      readonly remote: readonly string[];
      readonly dns: readonly string[];
      readonly splitInclude: readonly string[];
    }
  | { readonly type: 'childSaInstalled'; readonly child: ChildSaInfo; readonly rekeyOf?: number }
  | {
      readonly type: 'childSaDeleted';
      readonly childSaId: number;
      readonly ikeSaId: number;
      readonly name: string;
      readonly protocol: 'esp' | 'ah';
      readonly spiIn: number;
      readonly spiOut: number;
      readonly cause: SaEndCause;
      readonly reason: string;
    }
  | {
      readonly type: 'childSaFailed';
      readonly ikeSaId: number;
      readonly name: string;
      readonly notifyType: number;
      readonly reason: string;
    }
  | {
      readonly type: 'authFailed';
      readonly ikeSaId: number;
      readonly name: string;
      /** True when we rejected the peer, false when the peer rejected us. */
      readonly byUs: boolean;
      readonly reason: string;
    }
  | {
      /**
       * MOBIKE (RFC 4555 3.5): the IKE_SA moved to new endpoints (we updated our address and the peer answered,
       * or the peer's authenticated UPDATE_SA_ADDRESSES came from new ones); the CHILD_SAs `childSaIds` follow,
       * with UDP encapsulation when either side is behind a NAT now.
       */
      readonly type: 'ikeSaMoved';
      readonly ikeSaId: number;
      readonly name: string;
      readonly local: Endpoint;
      readonly remote: Endpoint;
      readonly natLocal: boolean;
      readonly natRemote: boolean;
      readonly childSaIds: readonly number[];
    }
  | {
      readonly type: 'ikeSaFailed';
      readonly ikeSaId: number;
      readonly name: string;
      readonly notifyType: number;
      readonly reason: string;
    };

export type IkeEventType = IkeEvent['type'];
