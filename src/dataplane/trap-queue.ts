/**
 * Packets waiting for an SA (RFC 4301 5.1 / 5.2 "trap" policies, strongSwan's `start_action = trap`): the
 * first packet of a flow that matches a PROTECT policy with no SA raises one acquire, and it and the next few
 * wait here, copied into pooled buffers, until the SA is installed. The queue is bounded per reqid and in
 * total; beyond that packets are dropped and counted. A queued packet is never sent in the clear.
 */

import { PacketPool } from '../common/packet-buffer.js';
import type { PacketBuffer } from '../common/packet-buffer.js';

export interface TrapQueueOptions {
  /** Packets kept per reqid (default 4, like the small larval queues of kernels). */
  readonly perReqid?: number;
  /** Packets kept in total (default 32). */
  readonly total?: number;
  /** Largest packet kept (default 9000). */
  readonly maxPacket?: number;
  /** An acquire for a reqid is raised again only after this long without an SA (default 10 s). */
  readonly acquireRetryMs?: number;
}

interface Pending {
  readonly packets: PacketBuffer[];
  lastAcquireMs: number;
}

export class TrapQueue {
  readonly perReqid: number;
  readonly acquireRetryMs: number;
  readonly maxPacket: number;
  private readonly pool: PacketPool;
  private readonly pending = new Map<number, Pending>();

  constructor(options: TrapQueueOptions = {}) {
    this.perReqid = options.perReqid ?? 4;
    this.acquireRetryMs = options.acquireRetryMs ?? 10_000;
    this.maxPacket = options.maxPacket ?? 9000;
    this.pool = new PacketPool(options.total ?? 32, this.maxPacket);
  }

  /**
   * Keep a copy of buf[off, off + len) for `reqid`. Returns whether it was kept and whether an acquire
   * should be raised now (first packet for the reqid, or the retry interval passed).
   */
  enqueue(
    reqid: number,
    buf: Uint8Array,
    off: number,
    len: number,
    nowMs: number,
  ): { kept: boolean; acquire: boolean } {
    let p = this.pending.get(reqid);
    let acquire = false;
    if (p === undefined) {
      p = { packets: [], lastAcquireMs: nowMs };
      this.pending.set(reqid, p);
      acquire = true;
    } else if (nowMs - p.lastAcquireMs >= this.acquireRetryMs) {
      p.lastAcquireMs = nowMs;
      acquire = true;
    }
    if (p.packets.length >= this.perReqid || len > this.maxPacket) {
      return { kept: false, acquire };
    }
    const slot = this.pool.acquire();
    if (slot === undefined) return { kept: false, acquire };
    slot.buf.set(buf.subarray(off, off + len), slot.off);
    slot.len = len;
    p.packets.push(slot);
    return { kept: true, acquire };
  }

  /** Number of packets waiting for a reqid. */
  queued(reqid: number): number {
    return this.pending.get(reqid)?.packets.length ?? 0;
  }

  /** True while an acquire for the reqid is outstanding. */
  isPending(reqid: number): boolean {
    return this.pending.has(reqid);
  }

  /**
   * Hand every packet queued for the reqid to `send` (in arrival order) and forget the reqid. Buffers go
   * back to the pool after `send` returns.
   */
  flush(reqid: number, send: (pkt: PacketBuffer) => void): number {
    const p = this.pending.get(reqid);
    if (p === undefined) return 0;
    this.pending.delete(reqid);
    for (const pkt of p.packets) {
      try {
        send(pkt);
      } finally {
        this.pool.release(pkt);
      }
    }
    return p.packets.length;
  }

  /** Drop everything queued for the reqid (its policy went away). Returns the number dropped. */
  discard(reqid: number): number {
    const p = this.pending.get(reqid);
    if (p === undefined) return 0;
    this.pending.delete(reqid);
    for (const pkt of p.packets) this.pool.release(pkt);
    return p.packets.length;
  }
}
