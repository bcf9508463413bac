/**
 * Counters of the data plane as a whole, beside the per-SA ones in the SAD. Per-packet failures never throw:
 * they land in one of these (STYLE.md "Per-packet failures never throw").
 */

/** Drops that happen before or outside an SA. */
export const DATAPLANE_DROP_REASONS = [
  /** A TUN packet whose IP header chain could not be read (src/spd/flow.ts). */
  'malformed',
  /** No outbound policy matched: RFC 4301 5.1 step 3 says discard. */
  'noPolicy',
  /** A DISCARD policy matched. */
  'discard',
  /**
   * A BYPASS policy matched a packet read from the TUN. Routes only send protected ranges into the TUN, so
   * such a packet is a routing mistake; writing it back to the network in the clear from here would need a
   * header-including raw socket and could loop into the TUN again. It is dropped and counted instead.
   */
  'bypassInTun',
  /** A PROTECT policy without an SA: the packet was queued (counted here, not dropped) ... */
  'trapQueued',
  /** ... or the trap queue was full and it was dropped (never sent in the clear). */
  'trapQueueFull',
  /** Queued packets dropped because their trap policy was deleted before an SA came. */
  'trapDiscarded',
  /** Inbound: no SA for the SPI. */
  'noSa',
  /**
   * A packet this data plane cannot carry: outbound AH over IPv6 whose inner packet keeps extension headers
   * in front of the AH (the raw socket's kernel-built header would not carry them, so the ICV would fail).
   */
  'unsupported',
  /** Outbound: no socket for the SA's address family or encapsulation. */
  'noSocket',
  /** The socket or TUN refused the packet. */
  'sendFailed',
] as const;
export type DataplaneDropReason = (typeof DATAPLANE_DROP_REASONS)[number];

export interface DataplaneStats {
  /** Packets read from the TUN and ESP / AH packets received. */
  tunRxPackets: number;
  netRxPackets: number;
  /** Packets sealed and handed to a socket; packets opened and written to the TUN. */
  netTxPackets: number;
  tunTxPackets: number;
  /** Acquire upcalls raised. */
  acquires: number;
  /** Mapping upcalls raised. */
  mappings: number;
  readonly drops: Record<DataplaneDropReason, number>;
}

export function newDataplaneStats(): DataplaneStats {
  const drops = {} as Record<DataplaneDropReason, number>;
  for (const r of DATAPLANE_DROP_REASONS) drops[r] = 0;
  return { tunRxPackets: 0, netRxPackets: 0, netTxPackets: 0, tunTxPackets: 0, acquires: 0, mappings: 0, drops };
}
