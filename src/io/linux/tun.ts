/**
 * A Linux TUN device (`IFF_TUN | IFF_NO_PI`: bare IPv4/IPv6 packets, no 4-byte packet-information prefix).
 *
 * The fd is non-blocking and watched by the event loop's epoll (`fd-poller.ts`). On each readable event the
 * device reads (one packet per read(2), the TUN rule) into its pooled batch at `headroom`, up to the batch
 * size, hands the batch over, and repeats for at most `MAX_READ_ROUNDS` batches before yielding to the loop.
 * MTU and the up flag are set with ioctls on creation; addresses and routes are the caller's (`iproute.ts`).
 */
import { PACKET_HEADROOM, PACKET_TAILROOM } from '../../common/packet-buffer.js';
import { createPacketBatch, DEFAULT_BATCH_SIZE } from '../batch.js';
import { IoError, newIoStats, type IoStats, type PacketBatch, type TunDevice } from '../types.js';
import { pollReadable, type FdPoller } from './fd-poller.js';
import {
  addressOf,
  AF_INET,
  EAGAIN,
  EINTR,
  errno,
  IFF_NO_PI,
  IFF_TUN,
  IFF_UP,
  IFNAMSIZ,
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
  TUNSETIFF,
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
}

export class LinuxTun implements TunDevice {
  readonly name: string;
  readonly mtu: number;
  readonly headroom: number;
  readonly stats: IoStats = newIoStats();
  readonly #batch: PacketBatch;
  /** Native addresses of the batch buffers at `headroom`, refreshed if a receiver swaps buffers. */
  readonly #readAddrs: Float64Array;
  readonly #readBufs: (Buffer | undefined)[];
  readonly #readCapacity: number;
  #fd: number;
  #poller: FdPoller | undefined;

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
    const opened = withNetns(options.netns, () => openTun(requested, this.mtu, options.up ?? true));
    this.#fd = opened.fd;
    this.name = opened.name;
  }

  start(receiver: (batch: PacketBatch) => void): void {
    if (this.#poller !== undefined || this.#fd < 0) throw new IoError('start() on a started or closed TUN', 0);
    this.#poller = pollReadable(this.#fd, () => this.#drain(receiver));
  }

  write(batch: PacketBatch): number {
    if (this.#fd < 0) return 0;
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
      }
      b.count = n;
      if (n > 0) receiver(b);
      if (!more || this.#fd < 0) return;
    }
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

/** Open the clone device, attach an interface with TUNSETIFF, set its MTU and bring it up. */
function openTun(requested: string, mtu: number, up: boolean): { fd: number; name: string } {
  const fd = sys.open(TUN_CLONE_DEVICE, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw new IoError(`open ${TUN_CLONE_DEVICE}`, errno());
  try {
    const ifr = Buffer.alloc(IFREQ_BYTES);
    ifr.write(requested, 0, IFNAMSIZ - 1, 'latin1');
    ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI, IFREQ_UNION_OFFSET);
    if (sys.ioctl(fd, TUNSETIFF, ifr) !== 0) throw new IoError(`TUNSETIFF ${requested}`, errno());
    const end = ifr.indexOf(0);
    const name = ifr.toString('latin1', 0, end < 0 || end > IFNAMSIZ ? IFNAMSIZ : end);
    configureLink(name, mtu, up);
    return { fd, name };
  } catch (e) {
    sys.close(fd);
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
