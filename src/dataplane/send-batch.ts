/**
 * A datagram batch for sending whose slots point at buffers owned by someone else (the TUN's read batch,
 * the trap queue's pool): sealing happened in place, so sending needs no copy. Filled during one batch of
 * processing and flushed before those buffers are reused.
 */

import { ADDRESS_SLOT_BYTES, DatagramKind } from '../io/types.js';
import type { DatagramBatch, IpFamily } from '../io/types.js';

const EMPTY = Buffer.alloc(0);

export class SendBatch {
  readonly batch: DatagramBatch;
  readonly size: number;

  constructor(family: IpFamily, size: number, kind: DatagramKind = DatagramKind.ESP) {
    this.size = size;
    this.batch = {
      bufs: new Array<Buffer>(size).fill(EMPTY),
      offsets: new Int32Array(size),
      lengths: new Int32Array(size),
      count: 0,
      family,
      kinds: new Uint8Array(size).fill(kind),
      remoteAddrs: new Uint8Array(size * ADDRESS_SLOT_BYTES),
      remotePorts: new Uint16Array(size),
      localAddrs: new Uint8Array(size * ADDRESS_SLOT_BYTES),
      localPorts: new Uint16Array(size),
      tos: new Uint8Array(size),
    };
  }

  /** Add a slot (with the outer TOS / Traffic Class, 0 = the socket's); true when the batch is full and must be flushed. */
  push(buf: Buffer, off: number, len: number, remoteSlot: Uint8Array, remotePort: number, tos = 0): boolean {
    const b = this.batch;
    const i = b.count++;
    if (b.tos !== undefined) b.tos[i] = tos;
    b.bufs[i] = buf;
    b.offsets[i] = off;
    b.lengths[i] = len;
    b.remoteAddrs.set(remoteSlot, i * ADDRESS_SLOT_BYTES);
    b.remotePorts[i] = remotePort;
    return b.count === this.size;
  }

  /**
   * Choose the source address of the slot last pushed: the `n` bytes at buf[off] (IPV6_PKTINFO on Linux).
   * Every slot of a batch that uses it must set it, since `clear` leaves the addresses.
   */
  setLastSource(buf: Uint8Array, off: number, n: number): void {
    const b = this.batch;
    const a = (b.count - 1) * ADDRESS_SLOT_BYTES;
    b.localAddrs.fill(0, a, a + ADDRESS_SLOT_BYTES);
    b.localAddrs.set(buf.subarray(off, off + n), a);
  }

  /** Forget the slots (and the buffers they pointed at). */
  clear(): void {
    const b = this.batch;
    for (let i = 0; i < b.count; i++) b.bufs[i] = EMPTY;
    b.count = 0;
  }
}
