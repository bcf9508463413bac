/**
 * The IKE_SA and CHILD_SA records. Plain data; behaviour lives in tasks and the task manager. States only
 * change through `transition` / `transition` (sa-state.ts).
 */
import type { Prf } from '../crypto/types.js';
import type { ChildConfig, ConnectionConfig } from './config.js';
import type { TrafficSelector } from './codec/types.js';
import type { Endpoint } from './events.js';
import type { ChildKeys, IkeKeys } from './keymat.js';
import type { Proposal, SelectedProposal } from './proposals.js';
import { ChildSaState, IkeSaState } from './sa-state.js';
import type { Task } from './task.js';
import type { SkCrypter } from './protection/sk-crypter.js';
import type { X509Cert } from '../pki/certificate.js';
import type { VirtualIps } from './virtual-ips.js';

/** A request we sent and wait an answer for (RFC 7296 2.1, 2.3). */
export interface ActiveRequest {
  readonly messageId: number;
  readonly exchangeType: number;
  readonly tasks: Task[];
  /** The encoded datagram(s), retransmitted unchanged. */
  packets: Buffer[];
  /** Retransmissions done so far. */
  tries: number;
  deadlineMs: number;
}

/** A cached response, resent when the same request arrives again (RFC 7296 2.1). */
export interface CachedResponse {
  readonly messageId: number;
  readonly packets: Buffer[];
}

export class ChildSa {
  readonly kind = 'child' as const;
  state: ChildSaState = ChildSaState.CREATED;
  readonly id: number;
  readonly label: string;
  readonly config: ChildConfig;
  protocol: 'esp' | 'ah';
  mode: 'tunnel' | 'transport';
  /** Our inbound SPI (4 bytes). */
  spiIn: Buffer;
  /** The peer's inbound SPI (4 bytes). */
  spiOut: Buffer = Buffer.alloc(4);
  proposal: SelectedProposal | undefined;
  keys: ChildKeys | undefined;
  /** True when we were the initiator of the exchange that created this CHILD_SA. */
  createdAsInitiator = false;
  nonceI: Buffer = Buffer.alloc(0);
  nonceR: Buffer = Buffer.alloc(0);
  tsLocal: TrafficSelector[] = [];
  tsRemote: TrafficSelector[] = [];
  installedAtMs = 0;
  rekeyAtMs = 0;
  expireAtMs = 0;
  /** Volume limits drawn at installation (rand_bytes, rand_packets applied), enforced by the data plane. */
  rekeyBytes = 0;
  lifeBytes = 0;
  rekeyPackets = 0;
  lifePackets = 0;
  /** Set on the CHILD_SA this one replaces. */
  rekeyOf: number | undefined;
  constructor(id: number, config: ChildConfig, spiIn: Buffer) {
    this.id = id;
    this.label = `${config.name}{${id}}`;
    this.config = config;
    this.protocol = config.protocol;
    this.mode = config.mode;
    this.spiIn = spiIn;
  }
}

export class IkeSa {
  readonly kind = 'ike' as const;
  state: IkeSaState = IkeSaState.CREATED;
  readonly id: number;
  label: string;
  conn: ConnectionConfig | undefined;
  /** True if we are the original initiator (RFC 7296 2.2: the I flag). */
  readonly initiator: boolean;
  spiI: Buffer;
  spiR: Buffer = Buffer.alloc(8);
  local: Endpoint;
  remote: Endpoint;
  /** IKE proposals we offered (initiator) or allow (responder). */
  offered: Proposal[] = [];
  proposal: SelectedProposal | undefined;
  prf: Prf | undefined;
  keys: IkeKeys | undefined;
  nonceI: Buffer = Buffer.alloc(0);
  nonceR: Buffer = Buffer.alloc(0);
  /** The IKE_SA_INIT messages as sent/received, signed by AUTH (RFC 7296 2.15). */
  initRequest: Buffer = Buffer.alloc(0);
  initResponse: Buffer = Buffer.alloc(0);
  /** ID payload type and data of each side once known (RestOfIDPayload, RFC 7296 2.15). */
  idI: { type: number; data: Buffer } | undefined;
  idR: { type: number; data: Buffer } | undefined;
  natLocal = false;
  natRemote = false;
  peerFragmentation = false;
  /** Both peers announced MOBIKE_SUPPORTED in IKE_AUTH (RFC 4555 3.3). */
  mobike = false;
  /** Initiator: the peer's last NAT_DETECTION_DESTINATION_IP, our address as it saw it (RFC 4555 3.8). */
  natSeenHash: Buffer | undefined;
  children: ChildSa[] = [];
  // Task manager state (RFC 7296 2.3: window size 1 each way).
  nextRequestId = 0;
  expectedRequestId = 0;
  active: ActiveRequest | undefined;
  queue: Task[] = [];
  lastResponse: CachedResponse | undefined;
  // Timers (absolute ms, 0 = off).
  establishedAtMs = 0;
  rekeyAtMs = 0;
  expireAtMs = 0;
  /** Reauthentication (reauth_time, rand_time drawn) and its nominal deadline; both survive IKE rekeys. */
  reauthAtMs = 0;
  reauthDueMs = 0;
  /** Where the first IKE_SA_INIT went (ours, or the peer's, as it came): a reauthentication starts there again. */
  initLocal: Endpoint;
  initRemote: Endpoint;
  /** We initiated the first IKE_SA of this chain (kept through IKE rekeys). */
  originalInitiator: boolean;
  /** Last time a message from the peer was authenticated (liveness, RFC 7296 2.4). */
  lastHeardMs = 0;
  /** Half-open deadline for responders; whole-SA timeout for initiators while connecting. */
  halfOpenDeadlineMs = 0;
  /** When set, the IKE_SA is destroyed once the current request completes or times out. */
  destroyAfterRequest = false;
  /** Set on a new IKE_SA created by rekeying another. */
  rekeyOf: number | undefined;
  /** SK protection for what we send and what we receive, made from `keys` on first use. */
  protectOut: SkCrypter | undefined;
  protectIn: SkCrypter | undefined;
  /** DPD: next liveness check due (0 = off). */
  dpdAtMs = 0;
  /** The peer's SIGNATURE_HASH_ALGORITHMS (RFC 7427 4), undefined when it sent none. */
  peerSignatureHashes: number[] | undefined;
  /** The peer sent a CERTREQ (send_cert = ifasked). */
  peerCertReq = false;
  /** Certificates this IKE_SA was authenticated with (ours, the peer's end entity), for listings. */
  localCert: X509Cert | undefined;
  peerCert: X509Cert | undefined;
  /** EAP identities this IKE_SA was authenticated with (RFC 7296 2.16): ours as EAP client, the peer's as server. */
  localEapId: string | undefined;
  remoteEapId: string | undefined;
  /** Why the SA is going away (for the ikeSaDeleted event). */
  deleteReason = '';
  /** Virtual IPs and attributes of the configuration payload exchange (RFC 7296 2.19), once there was one. */
  vips: VirtualIps | undefined;
  constructor(id: number, initiator: boolean, spiI: Buffer, local: Endpoint, remote: Endpoint, name: string) {
    this.id = id;
    this.label = `${name}[${id}]`;
    this.initiator = initiator;
    this.spiI = spiI;
    this.local = local;
    this.remote = remote;
    this.initLocal = local;
    this.initRemote = remote;
    this.originalInitiator = initiator;
  }
  /** Our own SPI in the header. */
  get spiLocal(): Buffer {
    return this.initiator ? this.spiI : this.spiR;
  }
}
