/**
 * Allocation of packet batches: done once per device or socket, never per packet.
 * Buffers are `allocUnsafeSlow` so each has its own stable backing store (the Linux side hands their
 * addresses to the kernel).
 */
import { ADDRESS_SLOT_BYTES, type DatagramBatch, type IpFamily, type PacketBatch } from './types.js';

/** Default number of slots per batch: packets read or written per system call or wake-up. */
export const DEFAULT_BATCH_SIZE = 32;

export interface BatchShape {
  /** Number of slots. */
  readonly size: number;
  /** Bytes per slot buffer. */
  readonly bufferBytes: number;
}

export function createPacketBatch(shape: BatchShape): PacketBatch {
  const bufs: Buffer[] = [];
  for (let i = 0; i < shape.size; i++) bufs.push(Buffer.allocUnsafeSlow(shape.bufferBytes));
  return { bufs, offsets: new Int32Array(shape.size), lengths: new Int32Array(shape.size), count: 0 };
}

export function createDatagramBatch(shape: BatchShape, family: IpFamily): DatagramBatch {
  const base = createPacketBatch(shape);
  return {
    ...base,
    family,
    kinds: new Uint8Array(shape.size),
    remoteAddrs: new Uint8Array(shape.size * ADDRESS_SLOT_BYTES),
    remotePorts: new Uint16Array(shape.size),
    localAddrs: new Uint8Array(shape.size * ADDRESS_SLOT_BYTES),
    localPorts: new Uint16Array(shape.size),
    tos: new Uint8Array(shape.size),
  };
}
