/**
 * In-memory twins of the raw IP sockets and UDP endpoints: sockets attached to one `MemoryNetwork` reach
 * each other by address, with copies of the bytes (as a wire would), in send order, delivered in batches on a
 * later event-loop turn. No root, no kernel. Model: the bind test double of wireguard-go's conn package.
 */
import {
  IPV4_FLAG_DF,
  IPV4_FLAGS_FRAGMENT_OFFSET,
  IPV4_ID_OFFSET,
  IPV4_MIN_HEADER_LENGTH,
  IPV4_SRC_OFFSET,
  IPV4_TOTAL_LENGTH_OFFSET,
  IpProto,
  ipv4HeaderLength,
  readU16,
  setIpv4HeaderChecksum,
  writeOuterIpv4,
  writeU16,
} from '../common/ip.js';
import { createDatagramBatch, DEFAULT_BATCH_SIZE } from './batch.js';
import { canonicalAddress, readAddressSlot, writeAddressSlot } from './ip-address.js';
import { NAT_KEEPALIVE_BYTE, NAT_T_PORT, NON_ESP_MARKER_LENGTH } from '../common/nat-t.js';
import { dispatchUdpBatch } from './udp-demux.js';
import {
  ADDRESS_SLOT_BYTES,
  DatagramKind,
  IoError,
  newIoStats,
  type DatagramBatch,
  type IpFamily,
  type IoStats,
  type PacketSocket,
  type UdpAddress,
  type UdpEndpoint,
  type UdpReceivers,
} from './types.js';

/** Largest datagram a memory socket accepts (an IPv4 total length minus the smallest header). */
const MAX_DATAGRAM_BYTES = 65535;
/** Datagrams a socket queues before it drops, like a full receive buffer. */
const RECEIVE_QUEUE_LIMIT = 4096;
/** Protocol key used for UDP in the network's binding table. */
const UDP_PROTOCOL = IpProto.UDP;

/** A datagram in flight on a memory network. */
export interface WirePacket {
  bytes: Buffer;
  family: IpFamily;
  srcAddr: string;
  srcPort: number;
  dstAddr: string;
  dstPort: number;
  /** IPv4 raw only: `bytes` is the whole IPv4 packet (sent by a `headerIncluded` socket). */
  ipv4Header?: boolean;
  /** The outer IPv4 TOS / IPv6 Traffic Class (0 when the sender left it to the socket). */
  tos?: number;
}

/** Options of a memory raw socket (the twin of the Linux `RawSocketOptions` that matter here). */
export interface MemoryRawOptions {
  /**
   * IPv4 only, like IP_HDRINCL: slots are whole IPv4 packets on send and on receive. As Linux does, the
   * total length and checksum are filled in on send, and an Identification of 0 with DF clear is replaced.
   */
  readonly headerIncluded?: boolean;
}

/** The shared medium. `drop` may be set by a test to lose selected packets. */
export class MemoryNetwork {
  readonly #bindings = new Map<string, MemoryPort>();
  /** Return true to lose a packet in transit. */
  drop: ((packet: Readonly<WirePacket>, protocol: number) => boolean) | undefined;
  /** May be set by a test to change packets in transit (a router's TTL decrement, an attacker's edit). */
  alter: ((packet: WirePacket, protocol: number) => void) | undefined;
  /** Packets that found no socket at their destination. */
  undeliverable = 0;

  /** A raw socket for `protocol` (50 or 51) on `address`. */
  raw(
    family: IpFamily,
    address: string,
    protocol: number,
    batchSize = DEFAULT_BATCH_SIZE,
    options: MemoryRawOptions = {},
  ): MemoryPacketSocket {
    return new MemoryPacketSocket(this, family, address, protocol, batchSize, options);
  }

  /** A UDP endpoint on `address:port`; NAT-T demultiplexing on port 4500 unless `natT` says otherwise. */
  udp(
    family: IpFamily,
    address: string,
    port: number,
    options: { natT?: boolean; batchSize?: number } = {},
  ): MemoryUdpEndpoint {
    return new MemoryUdpEndpoint(this, family, address, port, options.natT ?? port === NAT_T_PORT, options.batchSize);
  }

  /** @internal */
  bind(protocol: number, address: string, port: number, target: MemoryPort): void {
    const key = bindingKey(protocol, address, port);
    if (this.#bindings.has(key)) throw new IoError(`memory network: ${address} port ${port} already bound`, 98);
    this.#bindings.set(key, target);
  }

  /** @internal */
  unbind(protocol: number, address: string, port: number, target: MemoryPort): void {
    const key = bindingKey(protocol, address, port);
    if (this.#bindings.get(key) === target) this.#bindings.delete(key);
  }

  /** @internal */
  transmit(protocol: number, packet: WirePacket): boolean {
    this.alter?.(packet, protocol);
    if (this.drop?.(packet, protocol) === true) return true;
    const target = this.#bindings.get(bindingKey(protocol, packet.dstAddr, packet.dstPort));
    if (target === undefined) {
      this.undeliverable++;
      return true;
    }
    target.enqueue(packet);
    return true;
  }
}

/** The 4 bytes at `off` of `bytes` as the first bytes of an address slot. */
function padSlot(bytes: Uint8Array, off: number): Uint8Array {
  const slot = new Uint8Array(ADDRESS_SLOT_BYTES);
  slot.set(bytes.subarray(off, off + 4));
  return slot;
}

function slotIsZero(table: Uint8Array, slot: number): boolean {
  for (let b = slot * ADDRESS_SLOT_BYTES; b < (slot + 1) * ADDRESS_SLOT_BYTES; b++) if (table[b] !== 0) return false;
  return true;
}

function mustCanonical(address: string, family: IpFamily): string {
  const text = canonicalAddress(address, family);
  if (text === undefined) throw new IoError(`memory network: ${address} is not an IPv${family} address`, 22);
  return text;
}

function bindingKey(protocol: number, address: string, port: number): string {
  return `${protocol}|${address}|${port}`;
}

/** Receive queue and batch delivery shared by both memory socket kinds. */
abstract class MemoryPort {
  readonly stats: IoStats = newIoStats();
  protected readonly network: MemoryNetwork;
  protected readonly batch: DatagramBatch;
  protected closed = false;
  readonly #queue: WirePacket[] = [];
  #scheduled = false;
  #started = false;

  constructor(network: MemoryNetwork, family: IpFamily, batchSize: number) {
    this.network = network;
    this.batch = createDatagramBatch({ size: batchSize, bufferBytes: MAX_DATAGRAM_BYTES }, family);
  }

  enqueue(packet: WirePacket): void {
    if (this.closed) return;
    if (this.#queue.length >= RECEIVE_QUEUE_LIMIT) {
      this.stats.rxDrops++;
      return;
    }
    this.#queue.push(packet);
    this.#schedule();
  }

  protected markStarted(): void {
    if (this.#started) throw new IoError('start() called twice', 0);
    this.#started = true;
    this.#schedule();
  }

  protected abstract deliver(batch: DatagramBatch): void;
  protected abstract kindOf(): DatagramKind;

  #schedule(): void {
    if (this.#scheduled || !this.#started || this.closed || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#drain();
    });
  }

  #drain(): void {
    const b = this.batch;
    while (!this.closed && this.#queue.length > 0) {
      this.stats.rxWakeups++;
      let n = 0;
      while (n < b.bufs.length && this.#queue.length > 0) {
        const p = this.#queue.shift();
        const buf = b.bufs[n];
        if (p === undefined || buf === undefined) break;
        const len = this.place(p, buf, b.family);
        if (len < 0) {
          this.stats.rxDrops++;
          continue;
        }
        b.offsets[n] = 0;
        b.lengths[n] = len;
        b.kinds[n] = this.kindOf();
        writeAddressSlot(p.srcAddr, b.family, b.remoteAddrs, n);
        writeAddressSlot(p.dstAddr, b.family, b.localAddrs, n);
        b.remotePorts[n] = p.srcPort;
        b.localPorts[n] = p.dstPort;
        if (b.tos !== undefined) b.tos[n] = p.tos ?? 0;
        this.stats.rxPackets++;
        this.stats.rxBytes += len;
        n++;
      }
      b.count = n;
      if (n > 0) this.deliver(b);
    }
  }

  /** Copy a received packet into a slot buffer at 0; returns its length, or -1 to drop it. */
  protected place(p: WirePacket, buf: Buffer, _family: IpFamily): number {
    return p.bytes.copy(buf, 0);
  }

  protected closePort(): void {
    this.closed = true;
    this.#queue.length = 0;
  }
}

export class MemoryPacketSocket extends MemoryPort implements PacketSocket {
  readonly family: IpFamily;
  readonly protocol: number;
  readonly address: string;
  /** Slots carry the whole IPv4 packet, header included, both ways (see `MemoryRawOptions`). */
  readonly headerIncluded: boolean;
  #receiver: ((batch: DatagramBatch) => void) | undefined;
  /** Identification the "kernel" picks for a header-included packet sent with 0 and DF clear. */
  #nextId = 1;

  constructor(
    network: MemoryNetwork,
    family: IpFamily,
    address: string,
    protocol: number,
    batchSize: number,
    options: MemoryRawOptions = {},
  ) {
    super(network, family, batchSize);
    if (options.headerIncluded === true && family !== 4) {
      throw new IoError('memory network: headerIncluded is for IPv4 raw sockets only', 22);
    }
    this.family = family;
    this.protocol = protocol;
    this.headerIncluded = options.headerIncluded === true;
    this.address = mustCanonical(address, family);
    network.bind(protocol, this.address, 0, this);
  }

  start(receiver: (batch: DatagramBatch) => void): void {
    this.#receiver = receiver;
    this.markStarted();
  }

  send(batch: DatagramBatch): number {
    if (this.closed) return 0;
    let sent = 0;
    for (let i = 0; i < batch.count; i++) {
      const buf = batch.bufs[i];
      const off = batch.offsets[i] ?? 0;
      const len = batch.lengths[i] ?? 0;
      if (buf === undefined || len <= 0 || len > MAX_DATAGRAM_BYTES || batch.family !== this.family) {
        this.stats.txErrors++;
        continue;
      }
      const bytes = Buffer.from(buf.subarray(off, off + len));
      if (this.headerIncluded && !this.#completeHeader(bytes)) {
        this.stats.txErrors++;
        continue;
      }
      this.network.transmit(this.protocol, {
        bytes,
        family: this.family,
        srcAddr: this.headerIncluded
          ? readAddressSlot(padSlot(bytes, IPV4_SRC_OFFSET), 0, 4)
          : slotIsZero(batch.localAddrs, i)
            ? this.address
            : readAddressSlot(batch.localAddrs, i, this.family),
        srcPort: 0,
        dstAddr: readAddressSlot(batch.remoteAddrs, i, batch.family),
        dstPort: 0,
        ...(this.headerIncluded ? { ipv4Header: true } : {}),
        tos: this.headerIncluded ? (bytes[1] ?? 0) : (batch.tos?.[i] ?? 0),
      });
      this.stats.txPackets++;
      this.stats.txBytes += len;
      sent++;
    }
    return sent;
  }

  protected deliver(batch: DatagramBatch): void {
    this.#receiver?.(batch);
  }

  /** What the kernel does to an IP_HDRINCL packet (raw(7)): length, checksum, an Identification if 0. */
  #completeHeader(bytes: Buffer): boolean {
    const hl = ipv4HeaderLength(bytes, 0);
    if (hl < 0) return false;
    writeU16(bytes, IPV4_TOTAL_LENGTH_OFFSET, bytes.length);
    if (readU16(bytes, IPV4_ID_OFFSET) === 0 && (readU16(bytes, IPV4_FLAGS_FRAGMENT_OFFSET) & IPV4_FLAG_DF) === 0) {
      writeU16(bytes, IPV4_ID_OFFSET, this.#nextId);
      this.#nextId = (this.#nextId % 0xffff) + 1;
    }
    setIpv4HeaderChecksum(bytes, 0, hl);
    return true;
  }

  /** Raw IPv4 receive: keep or strip the header, or (header-included socket, header-less sender) add one. */
  protected override place(p: WirePacket, buf: Buffer, family: IpFamily): number {
    if (family !== 4 || p.ipv4Header === true) {
      if (this.headerIncluded || p.ipv4Header !== true) return p.bytes.copy(buf, 0);
      const hl = ipv4HeaderLength(p.bytes, 0);
      return hl < 0 ? -1 : p.bytes.copy(buf, 0, hl);
    }
    if (!this.headerIncluded) return p.bytes.copy(buf, 0);
    const total = IPV4_MIN_HEADER_LENGTH + p.bytes.length;
    if (total > buf.length) return -1;
    const src = new Uint8Array(ADDRESS_SLOT_BYTES);
    writeAddressSlot(p.srcAddr, 4, src, 0);
    const dst = new Uint8Array(ADDRESS_SLOT_BYTES);
    writeAddressSlot(p.dstAddr, 4, dst, 0);
    writeOuterIpv4(buf, 0, total, { src, dst, protocol: this.protocol });
    p.bytes.copy(buf, IPV4_MIN_HEADER_LENGTH);
    return total;
  }

  protected kindOf(): DatagramKind {
    return this.protocol === IpProto.AH ? DatagramKind.AH : DatagramKind.ESP;
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closePort();
      this.network.unbind(this.protocol, this.address, 0, this);
    }
    return Promise.resolve();
  }
}

export class MemoryUdpEndpoint extends MemoryPort implements UdpEndpoint {
  readonly family: IpFamily;
  readonly address: string;
  readonly port: number;
  readonly natT: boolean;
  readonly #counters: { stats: IoStats; keepalives: number };
  #receivers: UdpReceivers | undefined;

  constructor(
    network: MemoryNetwork,
    family: IpFamily,
    address: string,
    port: number,
    natT: boolean,
    batchSize = DEFAULT_BATCH_SIZE,
  ) {
    super(network, family, batchSize);
    this.family = family;
    this.address = mustCanonical(address, family);
    this.port = port;
    this.natT = natT;
    this.#counters = { stats: this.stats, keepalives: 0 };
    network.bind(UDP_PROTOCOL, this.address, port, this);
  }

  get keepalivesReceived(): number {
    return this.#counters.keepalives;
  }

  start(receivers: UdpReceivers): void {
    this.#receivers = receivers;
    this.markStarted();
  }

  sendIke(message: Uint8Array, remote: UdpAddress, localAddress?: string): boolean {
    const prefix = this.natT ? NON_ESP_MARKER_LENGTH : 0;
    const bytes = Buffer.alloc(prefix + message.length);
    bytes.set(message, prefix);
    return this.#transmit(bytes, remote, localAddress);
  }

  sendKeepalive(remote: UdpAddress): boolean {
    return this.#transmit(Buffer.from([NAT_KEEPALIVE_BYTE]), remote);
  }

  sendEsp(batch: DatagramBatch): number {
    if (!this.natT) {
      this.stats.txErrors += batch.count;
      return 0;
    }
    let sent = 0;
    for (let i = 0; i < batch.count; i++) {
      const buf = batch.bufs[i];
      const off = batch.offsets[i] ?? 0;
      const len = batch.lengths[i] ?? 0;
      if (buf === undefined || len <= 0) {
        this.stats.txErrors++;
        continue;
      }
      const remote = {
        address: readAddressSlot(batch.remoteAddrs, i, batch.family),
        port: batch.remotePorts[i] ?? 0,
      };
      const local = slotIsZero(batch.localAddrs, i) ? undefined : readAddressSlot(batch.localAddrs, i, this.family);
      if (this.#transmit(Buffer.from(buf.subarray(off, off + len)), remote, local, batch.tos?.[i] ?? 0)) sent++;
    }
    return sent;
  }

  #transmit(bytes: Buffer, remote: UdpAddress, localAddress?: string, tos = 0): boolean {
    const src = localAddress === undefined ? this.address : canonicalAddress(localAddress, this.family);
    if (this.closed || bytes.length > MAX_DATAGRAM_BYTES || src === undefined) {
      this.stats.txErrors++;
      return false;
    }
    this.network.transmit(UDP_PROTOCOL, {
      bytes,
      family: this.family,
      srcAddr: src,
      srcPort: this.port,
      dstAddr: remote.address,
      dstPort: remote.port,
      tos,
    });
    this.stats.txPackets++;
    this.stats.txBytes += bytes.length;
    return true;
  }

  protected deliver(batch: DatagramBatch): void {
    if (this.#receivers !== undefined) dispatchUdpBatch(batch, this.natT, this.#receivers, this.#counters);
  }

  protected kindOf(): DatagramKind {
    return DatagramKind.INVALID;
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closePort();
      this.network.unbind(UDP_PROTOCOL, this.address, this.port, this);
    }
    return Promise.resolve();
  }
}
