/**
 * UDP GRO receives (udp(7) UDP_GRO): one recvmmsg entry may hold several datagrams of one flow, all
 * `segmentSize` bytes but the last, which may be shorter. They are split here into slots of a batch of views
 * that point into the entry's pooled buffer: nothing is copied, nothing allocated per datagram. Whoever
 * receives such a slot may write only inside its own bytes (`DatagramBatch.shared`).
 *
 * Size: the kernel stops coalescing before the packet, IP header included, reaches the device's gro_max_size
 * (65536 unless raised for BIG TCP), so an entry fits the 65535-byte receive slot of `udp-endpoint.ts`. One that
 * does not (MSG_TRUNC) is dropped whole and counted in rxDrops, as before.
 */
import { ADDRESS_SLOT_BYTES, type DatagramBatch } from '../types.js';

/** Slots of the batch a GRO receive is split into: one entry carries at most 64 datagrams (UDP_GRO_CNT_MAX). */
export const GRO_VIEW_SLOTS = 64;

/** UDP GRO state of a socket, chosen at start: on or off (and why), and what it did. */
export interface UdpGroState {
  enabled: boolean;
  /** Receives that carried more than one datagram, and the datagrams they carried. */
  receives: number;
  datagrams: number;
  fallback?: string;
}

/**
 * Append entry `i` of `from` (`from.lengths[i]` bytes at `from.offsets[i]`) to `out` as datagrams of
 * `segmentSize` bytes, the last one the rest: views into the entry's buffer with its addresses, ports, TOS and
 * kind, flagged `shared` when there are several. A segment size of 0, or not below the length, gives one
 * datagram. When `out` is full it goes to `flush` first and starts again empty. Returns the datagrams added.
 */
export function splitGroEntry(
  from: DatagramBatch,
  i: number,
  segmentSize: number,
  out: DatagramBatch,
  flush: (batch: DatagramBatch) => void,
): number {
  const buf = from.bufs[i];
  if (buf === undefined) return 0;
  const start = from.offsets[i] ?? 0;
  const length = from.lengths[i] ?? 0;
  const parts = segmentSize > 0 && segmentSize < length ? Math.ceil(length / segmentSize) : 1;
  const size = parts > 1 ? segmentSize : length;
  const a = i * ADDRESS_SLOT_BYTES;
  for (let p = 0; p < parts; p++) {
    if (out.count >= out.bufs.length) {
      flush(out);
      out.count = 0;
    }
    const k = out.count++;
    const off = p * size;
    out.bufs[k] = buf;
    out.offsets[k] = start + off;
    out.lengths[k] = Math.min(size, length - off);
    out.kinds[k] = from.kinds[i] ?? 0;
    out.remotePorts[k] = from.remotePorts[i] ?? 0;
    out.localPorts[k] = from.localPorts[i] ?? 0;
    if (out.tos !== undefined) out.tos[k] = from.tos?.[i] ?? 0;
    if (out.shared !== undefined) out.shared[k] = parts > 1 ? 1 : 0;
    const b = k * ADDRESS_SLOT_BYTES;
    for (let x = 0; x < ADDRESS_SLOT_BYTES; x++) {
      out.remoteAddrs[b + x] = from.remoteAddrs[a + x] ?? 0;
      out.localAddrs[b + x] = from.localAddrs[a + x] ?? 0;
    }
  }
  return parts;
}

/**
 * A batch of `size` slots that owns no buffers: its `bufs` are filled with references into `pool` (views of a
 * GRO split), and `shared` marks the slots that share a buffer.
 */
export function viewBatch(pool: DatagramBatch, size: number): DatagramBatch {
  const first = pool.bufs[0] ?? Buffer.alloc(0);
  return {
    family: pool.family,
    bufs: new Array<Buffer>(size).fill(first),
    offsets: new Int32Array(size),
    lengths: new Int32Array(size),
    count: 0,
    kinds: new Uint8Array(size),
    remoteAddrs: new Uint8Array(size * ADDRESS_SLOT_BYTES),
    remotePorts: new Uint16Array(size),
    localAddrs: new Uint8Array(size * ADDRESS_SLOT_BYTES),
    localPorts: new Uint16Array(size),
    tos: new Uint8Array(size),
    shared: new Uint8Array(size),
  };
}
