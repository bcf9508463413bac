/**
 * In-memory twin of the TUN device. `inject()` plays the kernel routing a packet into the device (it shows up
 * on the next read batch); packets the daemon writes arrive at `onWrite` (or collect in `written`).
 * Model: the channel TUN of wireguard-go's tuntest package.
 */
import { createPacketBatch, DEFAULT_BATCH_SIZE } from './batch.js';
import { IoError, newIoStats, type IoStats, type PacketBatch, type TunDevice } from './types.js';

export interface MemoryTunOptions {
  name?: string;
  mtu?: number;
  headroom?: number;
  tailroom?: number;
  batchSize?: number;
}

/** Packets injected but not yet read before further injections are dropped. */
const INJECT_QUEUE_LIMIT = 4096;

export class MemoryTun implements TunDevice {
  readonly name: string;
  readonly mtu: number;
  readonly headroom: number;
  readonly stats: IoStats = newIoStats();
  /** Packets written by the daemon, oldest first, when no `onWrite` is set. */
  readonly written: Buffer[] = [];
  /** Called with a copy of each packet written by the daemon. */
  onWrite: ((packet: Buffer) => void) | undefined;
  readonly #batch: PacketBatch;
  readonly #queue: Buffer[] = [];
  #receiver: ((batch: PacketBatch) => void) | undefined;
  #scheduled = false;
  #closed = false;

  constructor(options: MemoryTunOptions = {}) {
    this.name = options.name ?? 'mtun0';
    this.mtu = options.mtu ?? 1400;
    this.headroom = options.headroom ?? 64;
    this.#batch = createPacketBatch({
      size: options.batchSize ?? DEFAULT_BATCH_SIZE,
      bufferBytes: this.headroom + this.mtu + (options.tailroom ?? 64),
    });
  }

  /** Queue a packet as if the kernel routed it into the device. Returns false if it is dropped. */
  inject(packet: Uint8Array): boolean {
    if (this.#closed || packet.length === 0 || packet.length > this.mtu || this.#queue.length >= INJECT_QUEUE_LIMIT) {
      this.stats.rxDrops++;
      return false;
    }
    this.#queue.push(Buffer.from(packet));
    this.#schedule();
    return true;
  }

  start(receiver: (batch: PacketBatch) => void): void {
    if (this.#receiver !== undefined) throw new IoError('start() called twice', 0);
    this.#receiver = receiver;
    this.#schedule();
  }

  write(batch: PacketBatch): number {
    if (this.#closed) return 0;
    let n = 0;
    for (let i = 0; i < batch.count; i++) {
      const buf = batch.bufs[i];
      const off = batch.offsets[i] ?? 0;
      const len = batch.lengths[i] ?? 0;
      if (buf === undefined || len <= 0 || off < 0 || off + len > buf.length) {
        this.stats.txErrors++;
        continue;
      }
      const copy = Buffer.from(buf.subarray(off, off + len));
      this.stats.txPackets++;
      this.stats.txBytes += len;
      n++;
      if (this.onWrite !== undefined) this.onWrite(copy);
      else this.written.push(copy);
    }
    return n;
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    return Promise.resolve();
  }

  #schedule(): void {
    if (this.#scheduled || this.#receiver === undefined || this.#closed || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#drain();
    });
  }

  #drain(): void {
    const b = this.#batch;
    while (!this.#closed && this.#queue.length > 0 && this.#receiver !== undefined) {
      this.stats.rxWakeups++;
      let n = 0;
      while (n < b.bufs.length && this.#queue.length > 0) {
        const p = this.#queue.shift();
        const buf = b.bufs[n];
        if (p === undefined || buf === undefined) break;
        p.copy(buf, this.headroom);
        b.offsets[n] = this.headroom;
        b.lengths[n] = p.length;
        this.stats.rxPackets++;
        this.stats.rxBytes += p.length;
        n++;
      }
      b.count = n;
      this.#receiver(b);
    }
  }
}
