/**
 * The SA database (RFC 4301 4.4.2). Inbound SAs are found by SPI and protocol (RFC 4301 4.1: the SPI we
 * chose identifies the SA; the destination is checked too when the caller knows it); outbound SAs by the
 * reqid their PROTECT policy names. During a rekey two outbound SAs share a reqid: the one installed last is
 * used, and deleting it falls back to the previous one (make-before-break, RFC 7296 2.8).
 *
 * Byte and packet lifetimes (RFC 4301 4.4.2.1) are counted by `account`: crossing a soft limit raises one
 * soft `expire`, crossing a hard limit one hard `expire`, after which `admit` refuses the SA's packets with
 * 'expired' until the control plane deletes it (as Linux XFRM does). Sans-I/O: upcalls go to a callback.
 */

import { SaLifeState, SecurityAssociation } from './security-association.js';
import type { IpsecProtocol, SaDropReason, SaEntryInit } from './security-association.js';

/** Identity of an SA for the control plane (RFC 4301 4.1: SPI, protocol, destination). */
export interface SaKey {
  readonly protocol: IpsecProtocol;
  readonly spi: number;
  readonly dst: string;
}

/** A byte or packet limit was crossed. */
export interface SaExpireEvent<E = unknown> {
  readonly sa: SecurityAssociation<E>;
  readonly hard: boolean;
  readonly reason: 'bytes' | 'packets';
}

export class SadError extends Error {
  override readonly name = 'SadError';
}

function keyText(protocol: IpsecProtocol, spi: number, dst: string): string {
  return `${protocol}/${(spi >>> 0).toString(16)}/${dst}`;
}

export class SecurityAssociationDatabase<E = unknown> {
  private readonly byKey = new Map<string, SecurityAssociation<E>>();
  private readonly inboundEsp = new Map<number, SecurityAssociation<E>>();
  private readonly inboundAh = new Map<number, SecurityAssociation<E>>();
  /** Outbound SAs per reqid, oldest first; the last one is used. */
  private readonly outbound = new Map<number, SecurityAssociation<E>[]>();
  /**
   * The last of each `outbound` list, for the packet path: one Map probe straight to the SA, without the list
   * (an array and its backing store: two more likely cache misses per packet with thousands of SAs in use).
   */
  private readonly outboundNewest = new Map<number, SecurityAssociation<E>>();
  private readonly onExpire: (event: SaExpireEvent<E>) => void;

  constructor(onExpire: (event: SaExpireEvent<E>) => void = () => undefined) {
    this.onExpire = onExpire;
  }

  /** Install an SA. Throws SadError if one with the same identity (or inbound SPI) exists. */
  add(init: SaEntryInit<E>): SecurityAssociation<E> {
    const sa = new SecurityAssociation<E>(init);
    const k = keyText(sa.protocol, sa.spi, sa.dst);
    if (this.byKey.has(k)) throw new SadError(`SA ${k} already installed`);
    if (sa.direction === 'in') {
      const map = this.inboundMap(sa.protocol);
      if (map.has(sa.spi)) throw new SadError(`inbound ${sa.protocol} SPI ${sa.spi.toString(16)} already in use`);
      map.set(sa.spi, sa);
    } else {
      let list = this.outbound.get(sa.reqid);
      if (list === undefined) this.outbound.set(sa.reqid, (list = []));
      list.push(sa);
      this.outboundNewest.set(sa.reqid, sa);
    }
    this.byKey.set(k, sa);
    return sa;
  }

  /** Remove an SA; returns it, or undefined if there was none. */
  remove(key: SaKey): SecurityAssociation<E> | undefined {
    const k = keyText(key.protocol, key.spi, key.dst);
    const sa = this.byKey.get(k);
    if (sa === undefined) return undefined;
    this.byKey.delete(k);
    if (sa.direction === 'in') {
      this.inboundMap(sa.protocol).delete(sa.spi);
    } else {
      const list = this.outbound.get(sa.reqid);
      if (list !== undefined) {
        list.splice(list.indexOf(sa), 1);
        const newest = list[list.length - 1];
        if (newest === undefined) {
          this.outbound.delete(sa.reqid);
          this.outboundNewest.delete(sa.reqid);
        } else {
          this.outboundNewest.set(sa.reqid, newest);
        }
      }
    }
    return sa;
  }

  /** Find by identity (control plane). */
  get(key: SaKey): SecurityAssociation<E> | undefined {
    return this.byKey.get(keyText(key.protocol, key.spi, key.dst));
  }

  /** Change the destination (NAT mapping, MOBIKE): the identity key follows. */
  moveDestination(sa: SecurityAssociation<E>, newDst: string): void {
    this.byKey.delete(keyText(sa.protocol, sa.spi, sa.dst));
    sa.dst = newDst;
    this.byKey.set(keyText(sa.protocol, sa.spi, sa.dst), sa);
  }

  /** Inbound SA for a received packet's SPI (packet path: no allocation). */
  inbound(protocol: IpsecProtocol, spi: number): SecurityAssociation<E> | undefined {
    return (protocol === 'esp' ? this.inboundEsp : this.inboundAh).get(spi >>> 0);
  }

  /** The outbound SA to use for a PROTECT policy's reqid (the newest installed). */
  outboundFor(reqid: number): SecurityAssociation<E> | undefined {
    return this.outboundNewest.get(reqid);
  }

  /** True when an inbound SPI is taken (for SPI allocation). */
  inboundSpiInUse(protocol: IpsecProtocol, spi: number): boolean {
    return this.inboundMap(protocol).has(spi >>> 0);
  }

  all(): SecurityAssociation<E>[] {
    return [...this.byKey.values()];
  }

  get size(): number {
    return this.byKey.size;
  }

  /**
   * May the SA process one more packet? False (and counted as 'expired') once its hard lifetime has
   * been reached. Call before sealing or opening.
   */
  admit(sa: SecurityAssociation<E>): boolean {
    if (sa.lifeState !== SaLifeState.HARD_EXPIRED) return true;
    sa.drops.expired++;
    return false;
  }

  /** Count a drop against the SA (packet path). */
  countDrop(sa: SecurityAssociation<E>, reason: SaDropReason): void {
    sa.drops[reason]++;
  }

  /**
   * Count one successfully processed packet of `bytes` and raise expire upcalls when a limit is crossed:
   * soft once, hard once (a hard crossing without an earlier soft one raises only the hard event).
   */
  account(sa: SecurityAssociation<E>, bytes: number, nowMs: number): void {
    sa.packets++;
    sa.bytes += bytes;
    sa.lastUseMs = nowMs;
    if (sa.lifeState === SaLifeState.HARD_EXPIRED) return;
    const l = sa.lifetime;
    const hardBy =
      l.hardPackets > 0 && sa.packets >= l.hardPackets
        ? 'packets'
        : l.hardBytes > 0 && sa.bytes >= l.hardBytes
          ? 'bytes'
          : undefined;
    if (hardBy !== undefined) {
      sa.lifeState = SaLifeState.HARD_EXPIRED;
      sa.lifeReason = hardBy;
      this.onExpire({ sa, hard: true, reason: hardBy });
      return;
    }
    if (sa.lifeState === SaLifeState.SOFT_EXPIRED) return;
    const softBy =
      l.softPackets > 0 && sa.packets >= l.softPackets
        ? 'packets'
        : l.softBytes > 0 && sa.bytes >= l.softBytes
          ? 'bytes'
          : undefined;
    if (softBy !== undefined) {
      sa.lifeState = SaLifeState.SOFT_EXPIRED;
      sa.lifeReason = softBy;
      this.onExpire({ sa, hard: false, reason: softBy });
    }
  }

  /**
   * Raise an expire for a limit the protocol engine tracks itself (the outbound sequence number nearing or
   * reaching 2^32 without ESN, RFC 4303 3.3.3), counted like a packet limit. Each of soft and hard once.
   */
  expireBySequence(sa: SecurityAssociation<E>, hard: boolean): void {
    if (sa.lifeState === SaLifeState.HARD_EXPIRED || (!hard && sa.lifeState === SaLifeState.SOFT_EXPIRED)) return;
    sa.lifeState = hard ? SaLifeState.HARD_EXPIRED : SaLifeState.SOFT_EXPIRED;
    sa.lifeReason = 'packets';
    this.onExpire({ sa, hard, reason: 'packets' });
  }

  private inboundMap(protocol: IpsecProtocol): Map<number, SecurityAssociation<E>> {
    return protocol === 'esp' ? this.inboundEsp : this.inboundAh;
  }
}
