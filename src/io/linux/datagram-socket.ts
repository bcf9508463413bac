/**
 * The shared engine of the Linux raw IP sockets and UDP endpoints: a non-blocking socket watched by the
 * event loop's epoll (`fd-poller.ts`), drained with recvmmsg(2) into a pooled batch, written with
 * sendmmsg(2) straight from the caller's buffers.
 *
 * UDP GRO (`udpGro`): the kernel may hand one recvmmsg entry holding several datagrams of one flow, all of one
 * size but the last, with the size in a UDP_GRO control message. Each such entry is split into its datagrams
 * as views over the pooled buffer (no copy) in a second batch of references, `#views`, which is delivered
 * whenever it fills and at the end of each round; its `shared` flags tell the receiver which slots must not
 * write outside their own bytes.
 */
import { createDatagramBatch } from '../batch.js';
import { writeAddress } from '../ip-address.js';
import type { DatagramKind } from '../types.js';
import {
  ADDRESS_SLOT_BYTES,
  errnoName,
  IoError,
  newIoStats,
  type DatagramBatch,
  type IpFamily,
  type IoStats,
} from '../types.js';
import { pollReadable, type FdPoller } from './fd-poller.js';
import {
  AF_INET,
  AF_INET6,
  EAGAIN,
  EINTR,
  errno,
  IP_PKTINFO,
  IP_RECVTOS,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_RECVPKTINFO,
  IPV6_RECVTCLASS,
  IPV6_V6ONLY,
  MMSGHDR_BYTES,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  MSG_TRUNC,
  setIntOption,
  SO_MARK,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_REUSEADDR,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCKADDR_FAMILY_OFFSET,
  SOCKADDR_IN6_ADDR_OFFSET,
  SOCKADDR_IN6_BYTES,
  SOCKADDR_IN_ADDR_OFFSET,
  SOCKADDR_IN_BYTES,
  SOCKADDR_PORT_OFFSET,
  SOL_SOCKET,
  SOL_UDP,
  sys,
  UDP_GRO,
  UDP_MAX_SEGMENTS,
} from './libc.js';
import { MmsgTable } from './mmsg-table.js';
import { GRO_VIEW_SLOTS, splitGroEntry, viewBatch, type UdpGroState } from './udp-gro.js';
import { withNetns } from './netns.js';

/** IPv4 header fields used to strip the header a raw IPv4 socket delivers (RFC 791 3.1). */
export const IPV4_VERSION = 4;
export const IPV4_MIN_HEADER_BYTES = 20;
export const IPV4_DST_OFFSET = 16;
export const IPV4_TOS_OFFSET = 1;
/** IPv4 header field checked before a received header is kept (RFC 791 3.1). */
export const IPV4_TOTAL_LENGTH_OFFSET = 2;
/** IPPROTO_IP option: the sender supplies the whole IPv4 header (raw(7), ip(7)). Not in libc.ts. */
export const IP_HDRINCL = 3;

/**
 * Socket buffers, each way, unless the caller sets them: room for a burst of a few thousand ESP packets (a TCP
 * window arriving at once from a peer that sends with GSO), so bursts queue instead of overflowing the Linux
 * default of about 200 KB. Set with SO_RCVBUFFORCE/SO_SNDBUFFORCE (CAP_NET_ADMIN, above net.core.rmem_max),
 * else SO_RCVBUF/SO_SNDBUF.
 */
export const DEFAULT_SOCKET_BUFFER_BYTES = 4 << 20;

/** recvmmsg rounds per readable event before yielding to the event loop (fairness with IKE and timers). */
export const MAX_RECEIVE_ROUNDS = 4;

export interface DatagramSocketOptions {
  readonly family: IpFamily;
  /** SOCK_RAW or SOCK_DGRAM. */
  readonly type: number;
  readonly protocol: number;
  /** Local address to bind to; the wildcard when absent. */
  readonly bindAddress?: string;
  readonly port?: number;
  readonly reuseAddr?: boolean;
  /** SO_MARK on every packet sent (needs CAP_NET_ADMIN); see the routing-loop note in `udp-endpoint.ts`. */
  readonly mark?: number;
  readonly receiveBufferBytes?: number;
  readonly sendBufferBytes?: number;
  readonly batchSize: number;
  readonly bufferBytes: number;
  /** Kind stamped on each received slot. */
  readonly kind: DatagramKind;
  /** Named network namespace (/run/netns/NAME) to create the socket in. */
  readonly netns?: string;
  /**
   * IPv4 raw sockets only: send with IP_HDRINCL (each slot is a whole IPv4 packet, header included) and
   * deliver received packets with their IPv4 header (options included) instead of stripping it. Default off.
   */
  readonly headerIncluded?: boolean;
  /**
   * UDP only: send runs of same-sized datagrams to one peer as one UDP GSO message (UDP_SEGMENT), which the
   * kernel segments after one trip through the stack. Turned off for good at the first refusal. Default off.
   */
  readonly udpGso?: boolean;
  /**
   * UDP only: ask for UDP GRO receives (setsockopt UDP_GRO) and split each coalesced entry into its datagrams.
   * When the kernel refuses the option, receives stay plain and `gro.fallback` says why. Default off.
   */
  readonly udpGro?: boolean;
}

/** UDP GSO state of a socket: whether it is on, what it did, and why it went off. */
export interface UdpGsoState {
  enabled: boolean;
  /** GSO messages sent, and the datagrams they carried. */
  sends: number;
  segments: number;
  fallback?: string;
}

export class DatagramSocketCore {
  readonly family: IpFamily;
  readonly stats: IoStats = newIoStats();
  readonly batch: DatagramBatch;
  /** Bound port (host order), 0 on raw sockets. */
  readonly port: number;
  #fd: number;
  #poller: FdPoller | undefined;
  readonly #recvTable: MmsgTable;
  readonly #sendTable: MmsgTable;
  /** Received packets start with an IPv4 header (raw IPv4 sockets). */
  readonly #ipv4Header: boolean;
  /** ... and it is kept in the slot (headerIncluded) rather than stripped. */
  readonly #keepIpv4Header: boolean;
  readonly #kind: DatagramKind;
  readonly #sendSlotOf: Int32Array;
  /** Datagrams carried by each message of the send table (1, or a GSO run). */
  readonly #sendRunOf: Int32Array;
  readonly gso: UdpGsoState;
  readonly gro: UdpGroState;
  /** With UDP GRO on: the batch of views a receive round is split into (buffers referenced, never owned). */
  readonly #views: DatagramBatch | undefined;

  constructor(o: DatagramSocketOptions) {
    this.family = o.family;
    this.#kind = o.kind;
    const headerIncluded = o.headerIncluded === true;
    if (headerIncluded && (o.family !== 4 || o.type === SOCK_DGRAM)) {
      throw new IoError('headerIncluded (IP_HDRINCL) is for IPv4 raw sockets only', 0);
    }
    this.#ipv4Header = o.family === 4 && o.type !== SOCK_DGRAM;
    this.#keepIpv4Header = headerIncluded;
    this.batch = createDatagramBatch({ size: o.batchSize, bufferBytes: o.bufferBytes }, o.family);
    this.#recvTable = new MmsgTable(o.batchSize, o.family);
    this.#sendTable = new MmsgTable(o.batchSize, o.family);
    this.#sendSlotOf = new Int32Array(o.batchSize);
    this.#sendRunOf = new Int32Array(o.batchSize);
    this.gso = { enabled: o.udpGso === true && o.type === SOCK_DGRAM, sends: 0, segments: 0 };
    this.gro = { enabled: o.udpGro === true && o.type === SOCK_DGRAM, receives: 0, datagrams: 0 };
    const domain = o.family === 4 ? AF_INET : AF_INET6;
    this.#fd = withNetns(o.netns, () => {
      const fd = sys.socket(domain, o.type | SOCK_NONBLOCK | SOCK_CLOEXEC, o.protocol);
      if (fd < 0) throw new IoError(`socket(${o.family === 4 ? 'AF_INET' : 'AF_INET6'}, ${o.protocol})`, errno());
      return fd;
    });
    try {
      const opt = (level: number, name: number, value: number, what: string): void => {
        if (setIntOption(this.#fd, level, name, value) !== 0) throw new IoError(`setsockopt ${what}`, errno());
      };
      if (o.reuseAddr === true) opt(SOL_SOCKET, SO_REUSEADDR, 1, 'SO_REUSEADDR');
      if (headerIncluded) opt(IPPROTO_IP, IP_HDRINCL, 1, 'IP_HDRINCL');
      if (o.mark !== undefined) opt(SOL_SOCKET, SO_MARK, o.mark, 'SO_MARK');
      const buffer = (force: number, plain: number, bytes: number, what: string): void => {
        if (setIntOption(this.#fd, SOL_SOCKET, force, bytes) !== 0) opt(SOL_SOCKET, plain, bytes, what);
      };
      buffer(SO_RCVBUFFORCE, SO_RCVBUF, o.receiveBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES, 'SO_RCVBUF');
      buffer(SO_SNDBUFFORCE, SO_SNDBUF, o.sendBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES, 'SO_SNDBUF');
      if (o.family === 6) {
        opt(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, 'IPV6_RECVPKTINFO');
        // The arriving Traffic Class (DSCP, ECN) of each datagram, for RFC 6040 decapsulation.
        opt(IPPROTO_IPV6, IPV6_RECVTCLASS, 1, 'IPV6_RECVTCLASS');
        if (o.type === SOCK_DGRAM) opt(IPPROTO_IPV6, IPV6_V6ONLY, 1, 'IPV6_V6ONLY');
      } else if (o.type === SOCK_DGRAM) {
        opt(IPPROTO_IP, IP_PKTINFO, 1, 'IP_PKTINFO');
        opt(IPPROTO_IP, IP_RECVTOS, 1, 'IP_RECVTOS');
      }
      if (this.gro.enabled && setIntOption(this.#fd, SOL_UDP, UDP_GRO, 1) !== 0) {
        const e = errno();
        this.gro.enabled = false;
        this.gro.fallback = `setsockopt UDP_GRO refused: errno ${e} (${errnoName(e)})`;
      }
      if (o.type === SOCK_DGRAM || o.bindAddress !== undefined) this.#bind(o.bindAddress, o.port ?? 0);
      this.port = o.type === SOCK_DGRAM ? this.#boundPort() : 0;
      this.#views = this.gro.enabled ? viewBatch(this.batch, GRO_VIEW_SLOTS) : undefined;
    } catch (e) {
      sys.close(this.#fd);
      this.#fd = -1;
      throw e;
    }
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Start watching the socket; `deliver` gets each non-empty batch. */
  start(deliver: (batch: DatagramBatch) => void): void {
    if (this.#poller !== undefined || this.#fd < 0) throw new IoError('start() on a started or closed socket', 0);
    const views = this.#views;
    this.#poller = pollReadable(this.#fd, () =>
      views !== undefined ? this.#drainViews(views, deliver) : this.#drain(deliver),
    );
  }

  /**
   * sendmmsg slots `0 .. batch.count-1`; a failing slot is counted and skipped. Returns the number sent. With
   * UDP GSO on, each run of consecutive datagrams to one peer of one size (the last may be shorter) goes as one
   * message.
   */
  send(batch: DatagramBatch): number {
    if (this.#fd < 0) return 0;
    if (batch.family !== this.family) {
      this.stats.txErrors += batch.count;
      return 0;
    }
    const t = this.#sendTable;
    const slotOf = this.#sendSlotOf;
    const runOf = this.#sendRunOf;
    let sent = 0;
    let j = 0;
    while (j < batch.count) {
      let n = 0;
      let v = 0;
      while (j < batch.count && n < t.size && v < t.size) {
        const k = this.gso.enabled ? gsoRunLength(batch, j, t.size - v) : 1;
        const len = batch.lengths[j] ?? 0;
        if (t.prepareSendGroup(n, v, batch, j, k, k > 1 ? len : 0)) {
          slotOf[n] = j;
          runOf[n] = k;
          n++;
          v += k;
        } else {
          this.stats.txErrors += k;
        }
        j += k;
      }
      let done = 0;
      while (done < n) {
        const r = sys.sendmmsg(this.#fd, t.address + done * MMSGHDR_BYTES, n - done, MSG_DONTWAIT);
        const ok = r > 0 ? r : 0;
        for (let x = done; x < done + ok; x++) {
          const first = slotOf[x] ?? 0;
          const k = runOf[x] ?? 1;
          for (let y = first; y < first + k; y++) this.stats.txBytes += batch.lengths[y] ?? 0;
          sent += k;
          if (k > 1) {
            this.gso.sends++;
            this.gso.segments += k;
          }
        }
        done += ok;
        if (r > 0) continue;
        const e = r < 0 ? errno() : 0;
        const k = runOf[done] ?? 1;
        if (k > 1 && e !== EAGAIN) {
          // The kernel refused a GSO message (EINVAL, EIO: no checksum offload, a segment over the path MTU):
          // turn GSO off and send the run again datagram by datagram.
          this.gso.enabled = false;
          this.gso.fallback = `UDP_SEGMENT refused (errno ${e})`;
          const first = slotOf[done] ?? 0;
          sent += this.#sendEach(batch, first, k);
          done++;
        } else if (e === EAGAIN) {
          // Send buffer full: the rest of this chunk would fail the same way; drop it.
          for (let x = done; x < n; x++) this.stats.txErrors += runOf[x] ?? 1;
          done = n;
        } else {
          // The message at `done` failed on its own (EMSGSIZE, no route, ...): drop it, go on with the next.
          this.stats.txErrors += k;
          done++;
        }
      }
    }
    this.stats.txPackets += sent;
    return sent;
  }

  /** Send batch slots `first .. first+k-1` one message each (the GSO fallback); returns how many went. */
  #sendEach(batch: DatagramBatch, first: number, k: number): number {
    const t = this.#sendTable;
    let sent = 0;
    for (let y = first; y < first + k; y++) {
      if (!t.prepareSendSlot(0, batch, y)) {
        this.stats.txErrors++;
        continue;
      }
      if (sys.sendmmsg(this.#fd, t.address, 1, MSG_DONTWAIT) === 1) {
        sent++;
        this.stats.txBytes += batch.lengths[y] ?? 0;
      } else {
        this.stats.txErrors++;
      }
    }
    return sent;
  }

  close(): void {
    this.#poller?.close();
    this.#poller = undefined;
    if (this.#fd >= 0) sys.close(this.#fd);
    this.#fd = -1;
  }

  /** One recvmmsg into the pool batch's slots; the entries filled, or 0 when none (an error other than EAGAIN counts as a drop). */
  #receive(): number {
    const t = this.#recvTable;
    t.prepareReceive(this.batch, t.size, 0);
    const n = sys.recvmmsg(this.#fd, t.address, t.size, MSG_DONTWAIT, null);
    t.received(n);
    if (n > 0) return n;
    const e = n < 0 ? errno() : 0;
    if (n < 0 && e !== EAGAIN && e !== EINTR) this.stats.rxDrops++;
    return 0;
  }

  #drain(deliver: (batch: DatagramBatch) => void): void {
    const b = this.batch;
    const t = this.#recvTable;
    this.stats.rxWakeups++;
    for (let round = 0; round < MAX_RECEIVE_ROUNDS && this.#fd >= 0; round++) {
      const n = this.#receive();
      if (n <= 0) return;
      let k = 0;
      for (let i = 0; i < n; i++) {
        if (this.#accept(i, k)) k++;
        else this.stats.rxDrops++;
      }
      b.count = k;
      if (k > 0) deliver(b);
      if (n < t.size) return;
    }
  }

  /**
   * The UDP GRO receive loop: each valid entry stays in its pool slot and is split into `views` (one slot per
   * datagram, pointing into the entry's buffer), delivered when full and after each round.
   */
  #drainViews(views: DatagramBatch, deliver: (batch: DatagramBatch) => void): void {
    const b = this.batch;
    const t = this.#recvTable;
    this.stats.rxWakeups++;
    for (let round = 0; round < MAX_RECEIVE_ROUNDS && this.#fd >= 0; round++) {
      const n = this.#receive();
      if (n <= 0) return;
      views.count = 0;
      for (let i = 0; i < n; i++) {
        const segmentSize = this.#acceptEntry(i);
        if (segmentSize < 0) {
          this.stats.rxDrops++;
          continue;
        }
        const parts = splitGroEntry(b, i, segmentSize, views, deliver);
        this.stats.rxPackets += parts;
        this.stats.rxBytes += b.lengths[i] ?? 0;
        if (parts > 1) {
          this.gro.receives++;
          this.gro.datagrams += parts;
        }
      }
      if (views.count > 0) deliver(views);
      views.count = 0;
      if (n < t.size) return;
    }
  }

  /**
   * Validate UDP table slot `i` in place (pool batch slot `i`): its addresses, ports, TOS, length. Returns the
   * UDP_GRO segment size it came with (0 without one), or -1 to drop it (truncated, no destination).
   */
  #acceptEntry(i: number): number {
    const t = this.#recvTable;
    const b = this.batch;
    const flags = t.receivedFlags(i);
    if ((flags & (MSG_TRUNC | MSG_CTRUNC)) !== 0) return -1;
    if (!t.readSource(i, b, i) || !t.readDestination(i, b, i)) return -1;
    b.offsets[i] = 0;
    b.lengths[i] = t.receivedLength(i);
    b.kinds[i] = this.#kind;
    b.localPorts[i] = this.port;
    return t.segmentSize;
  }

  /** Validate table slot `i`; if good, make it batch slot `k` (swapping buffers to compact). */
  #accept(i: number, k: number): boolean {
    const t = this.#recvTable;
    const b = this.batch;
    const flags = t.receivedFlags(i);
    if ((flags & MSG_TRUNC) !== 0) return false;
    let len = t.receivedLength(i);
    let off = 0;
    if (k !== i) {
      const tmp = b.bufs[k];
      const bi = b.bufs[i];
      if (tmp === undefined || bi === undefined) return false;
      b.bufs[k] = bi;
      b.bufs[i] = tmp;
    }
    const buf = b.bufs[k];
    if (buf === undefined || !t.readSource(i, b, k)) return false;
    if (this.#ipv4Header) {
      // Raw IPv4 sockets receive the IP header (raw(7)); the payload starts after IHL * 4 bytes.
      const vihl = buf[0] ?? 0;
      const ihl = (vihl & 0x0f) * 4;
      if (vihl >> 4 !== IPV4_VERSION || ihl < IPV4_MIN_HEADER_BYTES || len < ihl) return false;
      const a = k * ADDRESS_SLOT_BYTES;
      b.localAddrs.fill(0, a, a + ADDRESS_SLOT_BYTES);
      for (let x = 0; x < 4; x++) b.localAddrs[a + x] = buf[IPV4_DST_OFFSET + x] ?? 0;
      if (b.tos !== undefined) b.tos[k] = buf[IPV4_TOS_OFFSET] ?? 0;
      if (this.#keepIpv4Header) {
        // The header stays; its total length must describe the bytes received (Linux delivers it as sent).
        const total = ((buf[IPV4_TOTAL_LENGTH_OFFSET] ?? 0) << 8) | (buf[IPV4_TOTAL_LENGTH_OFFSET + 1] ?? 0);
        if (total < ihl || total > len) return false;
        len = total;
      } else {
        off = ihl;
        len -= ihl;
      }
    } else if ((flags & MSG_CTRUNC) !== 0 || !t.readDestination(i, b, k)) {
      return false;
    }
    b.offsets[k] = off;
    b.lengths[k] = len;
    b.kinds[k] = this.#kind;
    b.localPorts[k] = this.port;
    this.stats.rxPackets++;
    this.stats.rxBytes += len;
    return true;
  }

  #bind(address: string | undefined, port: number): void {
    const sa = Buffer.alloc(SOCKADDR_IN6_BYTES);
    sa.writeUInt16LE(this.family === 4 ? AF_INET : AF_INET6, SOCKADDR_FAMILY_OFFSET);
    sa.writeUInt16BE(port, SOCKADDR_PORT_OFFSET);
    const addrOff = this.family === 4 ? SOCKADDR_IN_ADDR_OFFSET : SOCKADDR_IN6_ADDR_OFFSET;
    if (address !== undefined && !writeAddress(address, this.family, sa, addrOff)) {
      throw new IoError(`bind: ${address} is not an IPv${this.family} address`, 0);
    }
    const len = this.family === 4 ? SOCKADDR_IN_BYTES : SOCKADDR_IN6_BYTES;
    if (sys.bind(this.#fd, sa, len) !== 0) throw new IoError(`bind ${address ?? '*'} port ${port}`, errno());
  }

  #boundPort(): number {
    const sa = Buffer.alloc(SOCKADDR_IN6_BYTES);
    const len = new Uint32Array([SOCKADDR_IN6_BYTES]);
    if (sys.getsockname(this.#fd, sa, len) !== 0) throw new IoError('getsockname', errno());
    return sa.readUInt16BE(SOCKADDR_PORT_OFFSET);
  }
}

/**
 * How many datagrams from slot `j` can go as one UDP GSO message: same remote address, port, local address
 * and TOS, the same length as the first (the last may be shorter), at most `room` iovecs, UDP_MAX_SEGMENTS
 * segments and 64 KB in all.
 */
export function gsoRunLength(batch: DatagramBatch, j: number, room: number): number {
  const len = batch.lengths[j] ?? 0;
  const max = Math.min(room, UDP_MAX_SEGMENTS, batch.count - j);
  let k = 1;
  let total = len;
  while (k < max) {
    const y = j + k;
    const l = batch.lengths[y] ?? 0;
    if ((batch.lengths[y - 1] ?? 0) !== len || l > len || l <= 0 || total + l > UDP_GSO_MAX_BYTES) break;
    if (batch.remotePorts[y] !== batch.remotePorts[j] || !sameSlot(batch, j, y)) break;
    if ((batch.tos?.[y] ?? 0) !== (batch.tos?.[j] ?? 0)) break; // one TOS control message per send
    total += l;
    k++;
  }
  return k;
}

/** The UDP payload bytes one GSO send may carry (65,535 less the IPv6 and UDP headers, to be safe for both). */
const UDP_GSO_MAX_BYTES = 65535 - 40 - 8;

function sameSlot(batch: DatagramBatch, a: number, b: number): boolean {
  const x = a * ADDRESS_SLOT_BYTES;
  const y = b * ADDRESS_SLOT_BYTES;
  for (let i = 0; i < ADDRESS_SLOT_BYTES; i++) {
    if (batch.remoteAddrs[x + i] !== batch.remoteAddrs[y + i]) return false;
    if (batch.localAddrs[x + i] !== batch.localAddrs[y + i]) return false;
  }
  return true;
}
