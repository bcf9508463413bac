/**
 * When a reader should hand over a batch before it is full or the fd is drained.
 *
 * A device read loop reads until the read would block (EAGAIN) or the batch is full, then hands the batch
 * over. For a lone packet (a ping, an interactive keystroke) the read that finds nothing more costs a system
 * call and an errno look-up, both on the packet's way: measured in a tunnel carrying 5 packets/s, the TUN
 * wake-up to ESP send took about 0.2 ms, a fifth of it that empty read. So when the previous wake-up brought at
 * most one packet (the traffic is sparse), the first packet of this wake-up goes out at once and the reader
 * looks for more afterwards. When wake-ups bring several packets (bulk traffic), batches are built as before.
 */
export class LonePacketPolicy {
  /** Packets the previous wake-up read; sparse traffic when at most one. */
  #lastWake = 0;
  #thisWake = 0;
  /** Batches handed over early, for the stats. */
  early = 0;

  /** A wake-up begins. */
  begin(): void {
    this.#thisWake = 0;
  }

  /**
   * A packet was read into the batch being built, which now holds `filled` packets. True when the batch should
   * be handed over now, before reading on.
   */
  packetRead(filled: number): boolean {
    this.#thisWake++;
    const now = this.#thisWake === 1 && filled === 1 && this.#lastWake <= 1;
    if (now) this.early++;
    return now;
  }

  /** The wake-up ended (the read would block, or the round budget is spent) after reading `packets` packets in all. */
  end(packets: number): void {
    this.#lastWake = packets;
  }
}
