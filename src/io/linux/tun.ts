/**
 * A Linux TUN device (`IFF_TUN | IFF_NO_PI`: bare IPv4/IPv6 packets, no 4-byte packet-information prefix).
 *
 * The fd is non-blocking and watched by the event loop's epoll (`fd-poller.ts`). On each readable event the
 * device reads (one packet per read(2), the TUN rule) into its pooled batch at `headroom`, up to the batch
 * size, hands the batch over, and repeats for at most `MAX_READ_ROUNDS` batches before yielding to the loop.
 * MTU and the up flag are set with ioctls on creation; addresses and routes are the caller's (`iproute.ts`).
 *
 * Offloads (default on, as wireguard-go does): the device is opened with IFF_VNET_HDR and TUNSETOFFLOAD
 * (checksum, TSO4/TSO6, and USO4/USO6 where the kernel has them), so one read can carry a GSO super-packet of
 * up to 64 KB that is split here into MTU-sized packets (`tun-offload.ts`) before ESP, and writes coalesce
 * consecutive TCP segments of a flow into one super-packet (GRO) with its virtio-net header. When the kernel
 * refuses, the device falls back to plain packets and `offloads.fallback` says why.
 */
import { PACKET_HEADROOM, PACKET_TAILROOM } from '../../common/packet-buffer.js';
import { createPacketBatch, DEFAULT_BATCH_SIZE } from '../batch.js';
import { IoError, newIoStats, type IoStats, type OffloadInfo, type PacketBatch, type TunDevice } from '../types.js';
import { LonePacketPolicy } from '../lone-packet.js';
import { pollReadable, type FdPoller } from './fd-poller.js';
import {
  buildSuperPacket,
  completeChecksum,
  decodeVnetHeader,
  GsoType,
  MAX_SUPER_PACKET,
  newVnetHeader,
  planCoalesce,
  splitGso,
  VIRTIO_NET_HDR_LENGTH,
  VNET_F_NEEDS_CSUM,
  type SegmentSink,
} from '../tun-offload.js';
import {
  addressOf,
  AF_INET,
  EAGAIN,
  EINTR,
  errno,
  IFF_NO_PI,
  IFF_TUN,
  IFF_UP,
  IFF_VNET_HDR,
  IFNAMSIZ,
  IOV_BASE_OFFSET,
  IOV_LEN_OFFSET,
  IOVEC_BYTES,
  IFREQ_BYTES,
  IFREQ_UNION_OFFSET,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  SIOCGIFFLAGS,
  SIOCSIFFLAGS,
  SIOCSIFMTU,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  sys,
  TUN_F_CSUM,
  TUN_F_TSO4,
  TUN_F_TSO6,
  TUN_F_USO4,
  TUN_F_USO6,
  TUNSETIFF,
  TUNSETOFFLOAD,
  writeU64,
} from './libc.js';
import { withNetns } from './netns.js';

export const TUN_CLONE_DEVICE = '/dev/net/tun';
/** Room in front of each read packet for the outer headers: the data plane's packet headroom. */
export const DEFAULT_TUN_HEADROOM = PACKET_HEADROOM;
/** Room behind it for the ESP trailer and ICV: the data plane's packet tailroom. */
export const DEFAULT_TUN_TAILROOM = PACKET_TAILROOM;
export const DEFAULT_TUN_MTU = 1400;
/** Read batches per readable event before yielding to the event loop. */
export const MAX_READ_ROUNDS = 4;

export interface TunOptions {
  /** Interface name, or a pattern such as `tsi%d` for the kernel to number. Default `tsi%d`. */
  readonly name?: string;
  readonly mtu?: number;
  readonly headroom?: number;
  readonly tailroom?: number;
  readonly batchSize?: number;
  /** Named network namespace (/run/netns/NAME) to create the device in. */
  readonly netns?: string;
  /** Set the interface up (default true). */
  readonly up?: boolean;
  /** Ask for TSO/USO and checksum offload (IFF_VNET_HDR, default true); false for plain packets. */
  readonly offload?: boolean;
  /** With offloads, coalesce written TCP segments into super-packets (default true). */
  readonly gro?: boolean;
}

/** What the device negotiated with the kernel at creation. */
export interface TunOffloads {
  /** A virtio-net header leads every read and write (IFF_VNET_HDR). */
  readonly vnetHdr: boolean;
  /** TCP super-packets are read and split here (TUN_F_TSO4 | TUN_F_TSO6). */
  readonly tso: boolean;
  /** UDP super-packets are read and split here (TUN_F_USO4 | TUN_F_USO6, Linux 6.2 and later). */
  readonly uso: boolean;
  /** TCP segments written together are coalesced into super-packets. */
  readonly gro: boolean;
  /** Why offloads are off, when they were asked for and refused. */
  readonly fallback?: string;
}

/** Counters of the offload paths. */
export interface TunOffloadStats {
  /** Super-packets read, and the packets they were split into. */
  gsoReads: number;
  gsoSegments: number;
  /** Super-packets written, and the packets coalesced into them. */
  groWrites: number;
  groSegments: number;
}

export class LinuxTun implements TunDevice {
  readonly name: string;
  readonly mtu: number;
  readonly headroom: number;
  readonly stats: IoStats = newIoStats();
  readonly offloads: TunOffloads;
  readonly offloadStats: TunOffloadStats = { gsoReads: 0, gsoSegments: 0, groWrites: 0, groSegments: 0 };
  readonly #batch: PacketBatch;
  /** Native addresses of the batch buffers at `headroom`, refreshed if a receiver swaps buffers. */
  readonly #readAddrs: Float64Array;
  readonly #readBufs: (Buffer | undefined)[];
  readonly #readCapacity: number;
  #fd: number;
  #poller: FdPoller | undefined;
  /** With offloads: the read buffer for one super-packet and its header, the write buffer for one, an iovec pair. */
  readonly #vnet: VnetBuffers | undefined;
  /** With offloads: slots filled in the batch being built. */
  #filled = 0;
  /** Hands a lone packet over before the read that would find nothing more (`lone-packet.ts`). */
  readonly #lone = new LonePacketPolicy();

  constructor(options: TunOptions = {}) {
    this.mtu = options.mtu ?? DEFAULT_TUN_MTU;
    this.headroom = options.headroom ?? DEFAULT_TUN_HEADROOM;
    const tailroom = options.tailroom ?? DEFAULT_TUN_TAILROOM;
    const size = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.#batch = createPacketBatch({ size, bufferBytes: this.headroom + this.mtu + tailroom });
    this.#readCapacity = this.mtu + tailroom;
    this.#readAddrs = new Float64Array(size);
    this.#readBufs = new Array<Buffer | undefined>(size).fill(undefined);
    const requested = options.name ?? 'tsi%d';
    if (requested.length === 0 || requested.length >= IFNAMSIZ) {
      throw new IoError(`TUN name "${requested}" must be 1..${IFNAMSIZ - 1} bytes`, 0);
    }
    const opened = withNetns(options.netns, () =>
      openTun(requested, this.mtu, options.up ?? true, options.offload ?? true),
    );
    this.#fd = opened.fd;
    this.name = opened.name;
    this.offloads = { ...opened.offloads, gro: opened.offloads.vnetHdr && (options.gro ?? true) };
    this.#vnet = opened.offloads.vnetHdr ? newVnetBuffers() : undefined;
  }

  readonly offloadInfo = (): OffloadInfo => ({ ...this.offloads, ...this.offloadStats });

  start(receiver: (batch: PacketBatch) => void): void {
    if (this.#poller !== undefined || this.#fd < 0) throw new IoError('start() on a started or closed TUN', 0);
    const v = this.#vnet;
    this.#poller = pollReadable(this.#fd, () => (v ? this.#drainVnet(v, receiver) : this.#drain(receiver)));
  }

  write(batch: PacketBatch): number {
    if (this.#fd < 0) return 0;
    if (this.#vnet !== undefined) return this.#writeVnet(this.#vnet, batch);
    let n = 0;
    for (let i = 0; i < batch.count; i++) {
      const buf = batch.bufs[i];
      const off = batch.offsets[i] ?? 0;
      const len = batch.lengths[i] ?? 0;
      if (buf === undefined || off < 0 || len <= 0 || off + len > buf.length) {
        this.stats.txErrors++;
        continue;
      }
      const r = sys.write(this.#fd, addressOf(buf) + off, len);
      if (r === len) {
        n++;
        this.stats.txBytes += len;
      } else {
        this.stats.txErrors++;
      }
    }
    this.stats.txPackets += n;
    return n;
  }

  close(): Promise<void> {
    this.#poller?.close();
    this.#poller = undefined;
    if (this.#fd >= 0) sys.close(this.#fd);
    this.#fd = -1;
    return Promise.resolve();
  }

  #drain(receiver: (batch: PacketBatch) => void): void {
    const b = this.#batch;
    const size = b.bufs.length;
    this.stats.rxWakeups++;
    const before = this.stats.rxPackets;
    this.#lone.begin();
    try {
      this.#drainRounds(b, size, receiver);
    } finally {
      this.#lone.end(this.stats.rxPackets - before);
    }
  }

  #drainRounds(b: PacketBatch, size: number, receiver: (batch: PacketBatch) => void): void {
    for (let round = 0; round < MAX_READ_ROUNDS; round++) {
      let n = 0;
      let more = true;
      while (n < size && this.#fd >= 0) {
        const r = sys.read(this.#fd, this.#slotAddress(n), this.#readCapacity);
        if (r <= 0) {
          const e = r < 0 ? errno() : 0;
          if (r < 0 && e !== EAGAIN && e !== EINTR) this.stats.rxDrops++;
          more = false;
          break;
        }
        b.offsets[n] = this.headroom;
        b.lengths[n] = r;
        this.stats.rxPackets++;
        this.stats.rxBytes += r;
        n++;
        if (this.#lone.packetRead(n)) break;
      }
      b.count = n;
      if (n > 0) receiver(b);
      if (!more || this.#fd < 0) return;
    }
  }

  /** Reads with a virtio-net header: plain packets are copied into the batch, super-packets split into it. */
  #drainVnet(v: VnetBuffers, receiver: (batch: PacketBatch) => void): void {
    const b = this.#batch;
    this.stats.rxWakeups++;
    this.#filled = 0;
    const before = this.stats.rxPackets;
    this.#lone.begin();
    let rounds = 0;
    const deliver = (): void => {
      b.count = this.#filled;
      if (this.#filled > 0) receiver(b);
      this.#filled = 0;
      rounds++;
    };
    const sink: SegmentSink = {
      next: (room) => {
        if (room > this.#readCapacity) return undefined;
        if (this.#filled === b.bufs.length) deliver();
        const buf = b.bufs[this.#filled];
        return buf === undefined ? undefined : { buf, off: this.headroom };
      },
      done: (len) => {
        b.offsets[this.#filled] = this.headroom;
        b.lengths[this.#filled] = len;
        this.#filled++;
        this.stats.rxPackets++;
        this.stats.rxBytes += len;
      },
    };
    const h = v.header;
    while (rounds < MAX_READ_ROUNDS && this.#fd >= 0) {
      const r = sys.read(this.#fd, v.rxAddr, v.rx.length);
      if (r <= 0) {
        const e = r < 0 ? errno() : 0;
        if (r < 0 && e !== EAGAIN && e !== EINTR) this.stats.rxDrops++;
        break;
      }
      const len = r - VIRTIO_NET_HDR_LENGTH;
      if (len <= 0) {
        this.stats.rxDrops++;
        continue;
      }
      decodeVnetHeader(v.rx, 0, h);
      if (h.gsoType === GsoType.NONE) {
        const slot = sink.next(len);
        if (slot === undefined) {
          this.stats.rxDrops++;
          continue;
        }
        slot.buf.set(v.rx.subarray(VIRTIO_NET_HDR_LENGTH, r), slot.off);
        if ((h.flags & VNET_F_NEEDS_CSUM) !== 0 && !completeChecksum(slot.buf, slot.off, len, h)) {
          this.stats.rxDrops++;
          continue;
        }
        sink.done(len);
        if (this.#lone.packetRead(this.#filled)) deliver();
        continue;
      }
      const before = this.stats.rxPackets;
      if (splitGso(v.rx, VIRTIO_NET_HDR_LENGTH, len, h, sink) !== 'ok') this.stats.rxDrops++;
      this.offloadStats.gsoReads++;
      this.offloadStats.gsoSegments += this.stats.rxPackets - before;
    }
    if (this.#filled > 0) deliver();
    this.#lone.end(this.stats.rxPackets - before);
  }

  /** Writes with a virtio-net header: runs of one TCP flow as one super-packet, the rest one by one. */
  #writeVnet(v: VnetBuffers, batch: PacketBatch): number {
    const runs = this.offloads.gro
      ? planCoalesce(batch.bufs, batch.offsets, batch.lengths, batch.count).runs
      : undefined;
    let n = 0;
    const count = runs?.length ?? batch.count;
    for (let k = 0; k < count; k++) {
      const members = runs?.[k]?.members;
      if (members !== undefined && members.length > 1) {
        const bytes = buildSuperPacket(
          batch.bufs,
          batch.offsets,
          batch.lengths,
          members,
          runs?.[k]?.gsoSize ?? 0,
          v.tx,
          0,
        );
        if (sys.write(this.#fd, v.txAddr, bytes) === bytes) {
          n += members.length;
          this.stats.txBytes += bytes - VIRTIO_NET_HDR_LENGTH;
          this.offloadStats.groWrites++;
          this.offloadStats.groSegments += members.length;
        } else {
          this.stats.txErrors += members.length;
        }
        continue;
      }
      const i = members?.[0] ?? k;
      const buf = batch.bufs[i];
      const off = batch.offsets[i] ?? 0;
      const len = batch.lengths[i] ?? 0;
      if (buf === undefined || off < 0 || len <= 0 || off + len > buf.length) {
        this.stats.txErrors++;
        continue;
      }
      writeU64(v.iov, IOVEC_BYTES + IOV_BASE_OFFSET, addressOf(buf) + off);
      writeU64(v.iov, IOVEC_BYTES + IOV_LEN_OFFSET, len);
      if (sys.writev(this.#fd, v.iovAddr, 2) === VIRTIO_NET_HDR_LENGTH + len) {
        n++;
        this.stats.txBytes += len;
      } else {
        this.stats.txErrors++;
      }
    }
    this.stats.txPackets += n;
    return n;
  }

  #slotAddress(i: number): number {
    const buf = this.#batch.bufs[i];
    if (buf === undefined) throw new IoError('TUN batch slot missing', 0);
    if (this.#readBufs[i] !== buf) {
      this.#readBufs[i] = buf;
      this.#readAddrs[i] = addressOf(buf) + this.headroom;
    }
    return this.#readAddrs[i] ?? 0;
  }
}

interface VnetBuffers {
  readonly header: ReturnType<typeof newVnetHeader>;
  readonly rx: Buffer;
  readonly rxAddr: number;
  readonly tx: Buffer;
  readonly txAddr: number;
  /** Two iovecs: `zero` (a virtio-net header asking for nothing), then the packet. */
  readonly iov: Buffer;
  readonly zero: Buffer;
  readonly iovAddr: number;
}

function newVnetBuffers(): VnetBuffers {
  const rx = Buffer.allocUnsafeSlow(VIRTIO_NET_HDR_LENGTH + MAX_SUPER_PACKET);
  const tx = Buffer.allocUnsafeSlow(VIRTIO_NET_HDR_LENGTH + MAX_SUPER_PACKET);
  const zero = Buffer.alloc(VIRTIO_NET_HDR_LENGTH);
  const iov = Buffer.alloc(2 * IOVEC_BYTES);
  writeU64(iov, IOV_BASE_OFFSET, addressOf(zero));
  writeU64(iov, IOV_LEN_OFFSET, VIRTIO_NET_HDR_LENGTH);
  return {
    header: newVnetHeader(),
    rx,
    rxAddr: addressOf(rx),
    tx,
    txAddr: addressOf(tx),
    iov,
    zero,
    iovAddr: addressOf(iov),
  };
}

const OFFLOAD_TRIES = [
  { flags: TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6, uso: true },
  { flags: TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, uso: false },
] as const;

/**
 * Open the clone device, attach an interface with TUNSETIFF, set its MTU and bring it up. With `offload`, ask
 * for IFF_VNET_HDR and TSO (and USO); when the kernel refuses, open again without them and say why.
 */
function openTun(
  requested: string,
  mtu: number,
  up: boolean,
  offload: boolean,
): { fd: number; name: string; offloads: Omit<TunOffloads, 'gro'> } {
  let fallback: string | undefined;
  if (offload) {
    const fd = attach(requested, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR);
    const tried: string[] = [];
    for (const t of OFFLOAD_TRIES) {
      if (sys.ioctlValue(fd.fd, TUNSETOFFLOAD, t.flags) === 0) {
        return withLink(fd, mtu, up, { vnetHdr: true, tso: true, uso: t.uso });
      }
      tried.push(`TUNSETOFFLOAD 0x${t.flags.toString(16)}: errno ${errno()}`);
    }
    sys.close(fd.fd);
    fallback = tried.join('; ');
  }
  const fd = attach(requested, IFF_TUN | IFF_NO_PI);
  const off = { vnetHdr: false, tso: false, uso: false };
  return withLink(fd, mtu, up, fallback === undefined ? off : { ...off, fallback });
}

function attach(requested: string, flags: number): { fd: number; name: string } {
  const fd = sys.open(TUN_CLONE_DEVICE, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw new IoError(`open ${TUN_CLONE_DEVICE}`, errno());
  try {
    const ifr = Buffer.alloc(IFREQ_BYTES);
    ifr.write(requested, 0, IFNAMSIZ - 1, 'latin1');
    ifr.writeUInt16LE(flags, IFREQ_UNION_OFFSET);
    if (sys.ioctl(fd, TUNSETIFF, ifr) !== 0) throw new IoError(`TUNSETIFF ${requested}`, errno());
    const end = ifr.indexOf(0);
    return { fd, name: ifr.toString('latin1', 0, end < 0 || end > IFNAMSIZ ? IFNAMSIZ : end) };
  } catch (e) {
    sys.close(fd);
    throw e;
  }
}

function withLink<T>(
  t: { fd: number; name: string },
  mtu: number,
  up: boolean,
  offloads: T,
): { fd: number; name: string; offloads: T } {
  try {
    configureLink(t.name, mtu, up);
    return { ...t, offloads };
  } catch (e) {
    sys.close(t.fd);
    throw e;
  }
}

/** SIOCSIFMTU and SIOCSIFFLAGS(IFF_UP) through an AF_INET control socket in the current namespace. */
function configureLink(name: string, mtu: number, up: boolean): void {
  const s = sys.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw new IoError('socket for interface ioctls', errno());
  try {
    const ifr = Buffer.alloc(IFREQ_BYTES);
    ifr.write(name, 0, IFNAMSIZ - 1, 'latin1');
    ifr.writeInt32LE(mtu, IFREQ_UNION_OFFSET);
    if (sys.ioctl(s, SIOCSIFMTU, ifr) !== 0) throw new IoError(`SIOCSIFMTU ${name} ${mtu}`, errno());
    if (!up) return;
    ifr.fill(0, IFREQ_UNION_OFFSET);
    if (sys.ioctl(s, SIOCGIFFLAGS, ifr) !== 0) throw new IoError(`SIOCGIFFLAGS ${name}`, errno());
    ifr.writeUInt16LE(ifr.readUInt16LE(IFREQ_UNION_OFFSET) | IFF_UP, IFREQ_UNION_OFFSET);
    if (sys.ioctl(s, SIOCSIFFLAGS, ifr) !== 0) throw new IoError(`SIOCSIFFLAGS ${name} up`, errno());
  } finally {
    sys.close(s);
  }
}
