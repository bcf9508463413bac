/**
 * One entry of the SA database (RFC 4301 4.4.2): identity (protocol, SPI, destination), direction, mode,
 * endpoints, the SA's traffic selectors, ESP-in-UDP ports, byte/packet lifetimes and counters, plus the
 * protocol engine (the ESP or AH SA object) that seals or opens its packets.
 *
 * Lifetimes by time belong to the IKE engine (it owns the clock); byte and packet lifetimes are counted here
 * because only the data plane sees the packets (RFC 4301 4.4.2.1 "Lifetime of this SA").
 */

import { DROP_REASONS } from '../common/drop.js';
import type { DropReason } from '../common/drop.js';
import type { CompiledSelector } from '../spd/selector.js';

export type IpsecProtocol = 'esp' | 'ah';
export type IpsecMode = 'tunnel' | 'transport';
export type SaDirection = 'in' | 'out';

/** Byte and packet limits; 0 or absent means no limit. Soft raises an expire upcall, hard also stops the SA. */
export interface SaLifetime {
  readonly softBytes?: number;
  readonly hardBytes?: number;
  readonly softPackets?: number;
  readonly hardPackets?: number;
}

/** ESP-in-UDP (RFC 3948) ports of the SA: our source port and the peer's port (4500 unless NAT moved it). */
export interface SaEncapsulation {
  readonly sport: number;
  readonly dport: number;
}

/** Reasons an SA drops a packet: the shared per-packet reasons plus 'expired' (hard lifetime reached). */
export const SA_DROP_REASONS = [...DROP_REASONS, 'expired'] as const;
export type SaDropReason = DropReason | 'expired';
export type SaDropCounters = Record<SaDropReason, number>;

export function newSaDropCounters(): SaDropCounters {
  const c = {} as SaDropCounters;
  for (const r of SA_DROP_REASONS) c[r] = 0;
  return c;
}

/** State of an SA's byte/packet lifetime. */
export const SaLifeState = { ACTIVE: 0, SOFT_EXPIRED: 1, HARD_EXPIRED: 2 } as const;
export type SaLifeState = (typeof SaLifeState)[keyof typeof SaLifeState];

/** What the SAD is given when an SA is installed. */
export interface SaEntryInit<E> {
  readonly protocol: IpsecProtocol;
  readonly spi: number;
  readonly direction: SaDirection;
  readonly mode: IpsecMode;
  /** Outer source and destination (tunnel endpoints, or the hosts in transport mode). */
  readonly src: string;
  readonly dst: string;
  readonly reqid: number;
  /** The SA's traffic selectors as (local, remote) pairs, RFC 4301 4.4.2.1 "Traffic Selector(s)". */
  readonly selectors: readonly CompiledSelector[];
  readonly lifetime?: SaLifetime;
  readonly encap?: SaEncapsulation;
  /** The protocol engine (ESP/AH SA object). */
  readonly engine: E;
}

/** An installed SA. Identity fields are fixed; endpoints and encapsulation change only through `updateSa`. */
export class SecurityAssociation<E = unknown> {
  readonly protocol: IpsecProtocol;
  /** Host order, unsigned. */
  readonly spi: number;
  readonly direction: SaDirection;
  readonly mode: IpsecMode;
  readonly reqid: number;
  readonly selectors: readonly CompiledSelector[];
  readonly lifetime: Required<SaLifetime>;
  readonly engine: E;
  src: string;
  dst: string;
  encap: SaEncapsulation | undefined;
  /** Successfully processed packets and their bytes (inner packet in tunnel mode, payload in transport). */
  packets = 0;
  bytes = 0;
  readonly drops: SaDropCounters = newSaDropCounters();
  lifeState: SaLifeState = SaLifeState.ACTIVE;
  /** Why the lifetime state last changed: 'bytes' or 'packets'. */
  lifeReason: 'bytes' | 'packets' | undefined;
  /** Set by the data plane: the last time (its clock) a packet used the SA, for listings and DPD. */
  lastUseMs = 0;

  constructor(init: SaEntryInit<E>) {
    this.protocol = init.protocol;
    this.spi = init.spi >>> 0;
    this.direction = init.direction;
    this.mode = init.mode;
    this.src = init.src;
    this.dst = init.dst;
    this.reqid = init.reqid;
    this.selectors = init.selectors;
    this.encap = init.encap;
    this.engine = init.engine;
    const l = init.lifetime ?? {};
    this.lifetime = {
      softBytes: l.softBytes ?? 0,
      hardBytes: l.hardBytes ?? 0,
      softPackets: l.softPackets ?? 0,
      hardPackets: l.hardPackets ?? 0,
    };
  }

  /** Short id for logs, strongSwan style: `esp c0ffee01 in`. */
  get label(): string {
    return `${this.protocol} ${this.spi.toString(16).padStart(8, '0')} ${this.direction}`;
  }

  get hardExpired(): boolean {
    return this.lifeState === SaLifeState.HARD_EXPIRED;
  }

  /** Plain data for `tsipsec sas --json`. */
  toJSON(): Record<string, unknown> {
    return {
      protocol: this.protocol,
      spi: this.spi.toString(16).padStart(8, '0'),
      direction: this.direction,
      mode: this.mode,
      src: this.src,
      dst: this.dst,
      reqid: this.reqid,
      encap: this.encap === undefined ? null : { sport: this.encap.sport, dport: this.encap.dport },
      selectors: this.selectors.map((s) => s.toJSON()),
      packets: this.packets,
      bytes: this.bytes,
      drops: { ...this.drops },
      lifetime: { ...this.lifetime },
      state: this.lifeState === SaLifeState.ACTIVE ? 'active' : this.hardExpired ? 'hard-expired' : 'soft-expired',
    };
  }
}
