/**
 * Half-open responder IKE_SAs (RFC 7296 2.6): those created by an IKE_SA_INIT request and not yet
 * authenticated. Counted in total and per initiator address in O(1), for the COOKIE threshold and the
 * half-open limits (strongSwan's `charon.cookie_threshold`, `charon.block_threshold`,
 * `charon.init_limit_half_open`). Also remembers which request made each IKE_SA, so a retransmitted
 * IKE_SA_INIT is answered from the cache.
 */
import type { IkeSa } from './sa.js';

interface Entry {
  /** Initiator address, port and SPIi of the request that created the IKE_SA. */
  readonly requestKey: string;
  readonly address: string;
  /** Still counted as half-open (not yet authenticated). */
  open: boolean;
}

export class HalfOpenTable {
  private readonly byRequest = new Map<string, IkeSa>();
  private readonly entries = new Map<IkeSa, Entry>();
  private readonly perAddress = new Map<string, number>();
  private total = 0;

  /** The IKE_SA a request (initiator address, port and SPIi) created, if it still exists. */
  byRequestKey(requestKey: string): IkeSa | undefined {
    return this.byRequest.get(requestKey);
  }

  /** A new half-open IKE_SA. */
  add(sa: IkeSa, requestKey: string, address: string): void {
    this.byRequest.set(requestKey, sa);
    this.entries.set(sa, { requestKey, address, open: true });
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    this.total++;
  }

  /** The IKE_SA was authenticated: no longer half-open (its request stays known for retransmits). */
  settle(sa: IkeSa): void {
    const e = this.entries.get(sa);
    if (e === undefined || !e.open) return;
    e.open = false;
    this.uncount(e.address);
  }

  /** The IKE_SA is gone. */
  remove(sa: IkeSa): void {
    const e = this.entries.get(sa);
    if (e === undefined) return;
    this.entries.delete(sa);
    if (this.byRequest.get(e.requestKey) === sa) this.byRequest.delete(e.requestKey);
    if (e.open) this.uncount(e.address);
  }

  /** Half-open IKE_SAs in total. */
  count(): number {
    return this.total;
  }

  /** Half-open IKE_SAs from one initiator address. */
  countFrom(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  private uncount(address: string): void {
    const n = (this.perAddress.get(address) ?? 0) - 1;
    if (n > 0) this.perAddress.set(address, n);
    else this.perAddress.delete(address);
    this.total--;
  }
}
