/**
 * The I/O boundary without any operating-system dependency: the interfaces, batches, addresses, NAT-T
 * demultiplexing, clocks and the in-memory twins. The Linux implementations are in `./linux/index.js`
 * (importing them loads koffi).
 */
export * from './types.js';
export { createDatagramBatch, createPacketBatch, DEFAULT_BATCH_SIZE, type BatchShape } from './batch.js';
export {
  canonicalAddress,
  familyOf,
  formatAddress,
  readAddressSlot,
  writeAddress,
  writeAddressSlot,
  IPV4_ADDRESS_BYTES,
  IPV6_ADDRESS_BYTES,
} from './ip-address.js';
export { classifyNatTDatagram } from './non-esp-marker.js';
export { MemoryClock, SystemClock } from './clock.js';
export { MemoryTun, type MemoryTunOptions } from './memory-tun.js';
export { MemoryNetwork, MemoryPacketSocket, MemoryUdpEndpoint, type WirePacket } from './memory-network.js';
