/**
 * The kernel boundary (STYLE.md point 6): how the IKE daemon installs SAs and policies into whatever does the
 * per-packet work, and how that side calls back. One interface taking argument objects, so the user-space
 * data plane (src/dataplane/) is one implementation and a Linux XFRM netlink one could be another:
 *
 * | method        | XFRM message it corresponds to                      |
 * |---------------|-----------------------------------------------------|
 * | allocSpi      | XFRM_MSG_ALLOCSPI                                   |
 * | addSa         | XFRM_MSG_NEWSA (xfrm_usersa_info + XFRMA_ALG_*, XFRMA_ENCAP, XFRMA_REPLAY_ESN_VAL, lifetime_cfg) |
 * | updateSa      | XFRM_MSG_UPDSA / XFRM_MSG_MIGRATE (new endpoints or encap ports) |
 * | delSa         | XFRM_MSG_DELSA                                      |
 * | querySa       | XFRM_MSG_GETSA (curlft, stats)                      |
 * | addPolicy     | XFRM_MSG_NEWPOLICY (selector, dir, priority, action, tmpl with reqid) |
 * | delPolicy     | XFRM_MSG_DELPOLICY                                  |
 * | addPolicies / delPolicies | one netlink batch of NEWPOLICY / DELPOLICY (a CHILD_SA's selector pairs) |
 * | acquire       | XFRM_MSG_ACQUIRE (multicast group XFRMNLGRP_ACQUIRE)  |
 * | expire        | XFRM_MSG_EXPIRE (hard flag)                         |
 * | mapping       | XFRM_MSG_MAPPING (XFRMNLGRP_MAPPING)                |
 *
 * Methods are asynchronous because a netlink implementation waits for the kernel's answer; the user-space
 * one resolves at once. Errors (bad arguments, unknown SA, SPI in use) reject with `KernelError`; they never
 * come from the packet path. Addresses are text (`192.0.2.1`, `2001:db8::1`), SPIs host-order numbers,
 * algorithms IANA transform ids (src/crypto/ids.ts), keys the keymat RFC 7296 2.17 produces (AEAD keys include
 * their salt).
 */

import type { EncrId, IntegId } from '../crypto/ids.js';
import type { IpsecMode, IpsecProtocol, SaLifetime } from '../sad/security-association.js';
import type { SaDropCounters } from '../sad/security-association.js';
import type { PolicyAction, PolicyDirection } from '../spd/spd.js';
import type { SelectorInput } from '../spd/selector.js';

export type { IpsecMode, IpsecProtocol, SaLifetime, SelectorInput, PolicyAction, PolicyDirection };

/** Identity of an SA: RFC 4301 4.1 (SPI, protocol, destination). */
export interface SaId {
  readonly protocol: IpsecProtocol;
  readonly spi: number;
  readonly dst: string;
}

/**
 * ESP-in-UDP (RFC 3948) ports of the SA's own packets, as XFRM's encap template holds them: outbound, sport
 * is ours (4500) and dport the peer's (4500 unless a NAT moved it); inbound, sport is the peer's and dport ours.
 */
export interface EncapPorts {
  readonly sport: number;
  readonly dport: number;
}

export interface AllocSpiArgs {
  readonly protocol: IpsecProtocol;
  /** Peer (source of inbound traffic) and us (destination). */
  readonly src: string;
  readonly dst: string;
  readonly reqid?: number;
}

export interface AddSaArgs {
  readonly spi: number;
  readonly protocol: IpsecProtocol;
  readonly mode: IpsecMode;
  /** True for the SA we receive on (we chose its SPI), false for the one we send on. */
  readonly inbound: boolean;
  /** Outer source and destination (tunnel endpoints, or the two hosts in transport mode). */
  readonly src: string;
  readonly dst: string;
  /** Links the SA to the PROTECT policies that name the same reqid. */
  readonly reqid: number;
  /** ESP only: encryption (or combined-mode) algorithm and its keymat (for AEADs key || salt). */
  readonly enc?: { readonly id: EncrId; readonly key: Uint8Array };
  /** Integrity algorithm and key; absent (or IntegId.NONE) with an AEAD. Required for AH. */
  readonly integ?: { readonly id: IntegId; readonly key: Uint8Array };
  /** Inbound anti-replay window in packets, 0 = off (RFC 4303 3.4.3). */
  readonly replayWindow?: number;
  /** Extended sequence numbers negotiated (RFC 4303 2.2.1). */
  readonly esn?: boolean;
  /** ESP-in-UDP ports; absent for plain ESP/AH. */
  readonly encap?: EncapPorts;
  /** Byte/packet limits (time limits stay with the IKE engine). */
  readonly lifetime?: SaLifetime;
  /** The SA's traffic selectors, as (local, remote) pairs seen from this host (RFC 4301 4.4.2.1). */
  readonly selectors: readonly SelectorInput[];
  /** Outbound tunnel mode: TFC padding to this inner length (RFC 4303 2.7); 0/absent = off. */
  readonly tfcPadding?: number;
}

export interface UpdateSaArgs {
  readonly id: SaId;
  /** New outer endpoints (NAT mapping change, MOBIKE). */
  readonly src?: string;
  readonly dst?: string;
  /**
   * New ESP-in-UDP ports (a NAT changed the peer's port); on an SA without them, UDP encapsulation starts (MOBIKE:
   * the new path crosses a NAT). `null` ends it (the new path has none). Tunnel mode ESP only switches.
   */
  readonly encap?: EncapPorts | null;
}

export interface AddPolicyArgs {
  readonly direction: PolicyDirection;
  readonly selector: SelectorInput;
  readonly action: PolicyAction;
  /** PROTECT: the SA bundle (reqid) the packets go through. */
  readonly reqid?: number;
  /** Lower wins; default from specificity (src/spd/spd.ts). */
  readonly priority?: number;
}

/** Counters of one SA (RFC 4301 4.4.2.1 lifetime counters, plus drops by reason). */
export interface SaUsage {
  readonly packets: number;
  readonly bytes: number;
  readonly drops: Readonly<SaDropCounters>;
  /** Clock of the data plane when a packet last used the SA; 0 if never. */
  readonly lastUseMs: number;
  readonly state: 'active' | 'soft-expired' | 'hard-expired';
}

/** The first packet of a flow hit a PROTECT policy with no SA: start IKE for it (RFC 4301 5.1 / 5.2). */
export interface AcquireEvent {
  readonly reqid: number;
  readonly policyId: number;
  /** The packet's selector fields, so the IKE engine can propose them as the first TS (RFC 7296 2.9). */
  readonly packet: {
    readonly src: string;
    readonly dst: string;
    readonly protocol: number;
    readonly srcPort: number;
    readonly dstPort: number;
  };
}

/** A byte or packet limit of an SA was reached: soft = rekey now, hard = the SA stopped. */
export interface ExpireEvent {
  readonly id: SaId;
  readonly reqid: number;
  readonly inbound: boolean;
  readonly hard: boolean;
  readonly reason: 'bytes' | 'packets';
}

/** An authenticated ESP-in-UDP packet arrived from a new address or port (RFC 3948, RFC 7296 2.23). */
export interface MappingEvent {
  /** The inbound SA the packet verified on. */
  readonly id: SaId;
  readonly reqid: number;
  readonly oldSrc: { readonly address: string; readonly port: number };
  readonly newSrc: { readonly address: string; readonly port: number };
}

/** Upcalls from the kernel side to the IKE daemon (strongSwan's kernel_listener). */
export interface KernelListener {
  acquire(event: AcquireEvent): void;
  expire(event: ExpireEvent): void;
  mapping(event: MappingEvent): void;
}

export interface KernelIpsec {
  /** A fresh inbound SPI (>= 256, unused) for the SA the peer will send on. */
  allocSpi(args: AllocSpiArgs): Promise<number>;
  addSa(args: AddSaArgs): Promise<void>;
  updateSa(args: UpdateSaArgs): Promise<void>;
  delSa(id: SaId): Promise<void>;
  querySa(id: SaId): Promise<SaUsage>;
  /** Returns the policy's id for delPolicy and for acquire events. */
  addPolicy(args: AddPolicyArgs): Promise<number>;
  delPolicy(policyId: number): Promise<void>;
  /** Many policies in one step, all or nothing (a CHILD_SA's selector pairs); ids in the order given. */
  addPolicies(args: readonly AddPolicyArgs[]): Promise<number[]>;
  /** Removes the policies of these ids that exist. */
  delPolicies(policyIds: readonly number[]): Promise<void>;
  /** Where upcalls go; replaces the previous listener. */
  setListener(listener: KernelListener): void;
}

/** Raised by KernelIpsec methods for a request that cannot be carried out. */
export class KernelError extends Error {
  override readonly name = 'KernelError';
}
