/**
 * A native array of `struct mmsghdr` for recvmmsg(2)/sendmmsg(2), with one iovec, one socket address and one
 * control area per slot, allocated once. Receiving points each slot's iovec into the batch's pooled buffer;
 * sending points it at the caller's buffer and fills the destination address. Nothing is allocated per call.
 * A UDP GSO send (UDP_SEGMENT) makes one message of several consecutive slots: its iovecs are the next free
 * ones of the table, and a UDP_SEGMENT control message gives the segment size. A UDP GRO receive (several
 * datagrams of one flow in one entry) says its segment size in a UDP_GRO control message, read with the
 * destination.
 */
import { ADDRESS_SLOT_BYTES, type DatagramBatch, type IpFamily, type PacketBatch } from '../types.js';
import {
  addressOf,
  AF_INET,
  AF_INET6,
  CMSG_HEADER_BYTES,
  CMSG_LEN_OFFSET,
  CMSG_LEVEL_OFFSET,
  CMSG_TYPE_OFFSET,
  IN6_PKTINFO_ADDR_OFFSET,
  IN_PKTINFO_ADDR_OFFSET,
  IN_PKTINFO_BYTES,
  IN_PKTINFO_SPEC_DST_OFFSET,
  IN6_PKTINFO_BYTES,
  IOV_BASE_OFFSET,
  IOV_LEN_OFFSET,
  IOVEC_BYTES,
  IP_PKTINFO,
  IP_TOS,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_PKTINFO,
  IPV6_TCLASS,
  MMSGHDR_BYTES,
  MSG_CONTROL_OFFSET,
  MSG_CONTROLLEN_OFFSET,
  MSG_FLAGS_OFFSET,
  MSG_IOV_OFFSET,
  MSG_IOVLEN_OFFSET,
  MSG_LEN_OFFSET,
  MSG_NAME_OFFSET,
  MSG_NAMELEN_OFFSET,
  SOL_UDP,
  SOCKADDR_FAMILY_OFFSET,
  SOCKADDR_IN6_ADDR_OFFSET,
  SOCKADDR_IN6_BYTES,
  SOCKADDR_IN_ADDR_OFFSET,
  SOCKADDR_IN_BYTES,
  SOCKADDR_PORT_OFFSET,
  UDP_GRO,
  UDP_SEGMENT,
  writeU64,
} from './libc.js';

/** Room per slot for a sockaddr_in6, rounded to 8. */
const NAME_SLOT_BYTES = 32;
/** CMSG_SPACE(sizeof(int)): a TOS / Traffic Class control message (one byte for IP_TOS on receive: the same). */
const TOS_CMSG_SPACE = CMSG_HEADER_BYTES + 8;
/** CMSG_SPACE(sizeof(uint16_t)): a UDP_SEGMENT control message. */
const UDP_SEGMENT_CMSG_SPACE = CMSG_HEADER_BYTES + 8;
/** CMSG_SPACE(sizeof(int)): a UDP_GRO control message on receive. */
const UDP_GRO_CMSG_SPACE = CMSG_HEADER_BYTES + 8;
/** CMSG_SPACE(sizeof(struct in6_pktinfo)), the larger of the two PKTINFOs. */
const PKTINFO_CMSG_SPACE = CMSG_HEADER_BYTES + ((IN6_PKTINFO_BYTES + 7) & ~7);
/**
 * Room per slot for every control message a slot carries: on receive a PKTINFO, a TOS / Traffic Class and a
 * UDP_GRO segment size (88 bytes for IPv6); on send a PKTINFO, a TOS and a UDP_SEGMENT. Rounded up to 128 so a
 * kernel that adds one more (say, a timestamp) sets MSG_CTRUNC rather than dropping the segment size.
 */
export const CONTROL_SLOT_BYTES = 128;
if (PKTINFO_CMSG_SPACE + TOS_CMSG_SPACE + Math.max(UDP_GRO_CMSG_SPACE, UDP_SEGMENT_CMSG_SPACE) > CONTROL_SLOT_BYTES) {
  throw new Error('CONTROL_SLOT_BYTES is too small for the control messages of one slot');
}

/** A little-endian 32-bit store without a Buffer method call. */
function storeU32(mem: Buffer, at: number, v: number): void {
  mem[at] = v & 0xff;
  mem[at + 1] = (v >>> 8) & 0xff;
  mem[at + 2] = (v >>> 16) & 0xff;
  mem[at + 3] = v >>> 24;
}

export class MmsgTable {
  readonly size: number;
  readonly family: IpFamily;
  readonly mem: Buffer;
  /** Native address of the first mmsghdr. */
  readonly address: number;
  readonly #iovOff: number;
  readonly #nameOff: number;
  readonly #controlOff: number;
  readonly #nameLen: number;
  /**
   * Segment size of the UDP_GRO control message found by the last `readDestination`, or 0 without one: the
   * slot then holds that many bytes per datagram (the last may be shorter).
   */
  segmentSize = 0;
  /**
   * Receive slots from 0 that the kernel may have written since the last `prepareReceive` (msg_namelen,
   * msg_controllen, msg_flags): only these and slots whose buffer changed are set up again, so a wake-up for one
   * packet does not rewrite all the table's headers.
   */
  #receiveDirty: number;
  /** The buffer and start each receive slot was last pointed at. */
  readonly #preparedBufs: (Buffer | undefined)[];
  #preparedStart = -1;

  constructor(size: number, family: IpFamily) {
    this.size = size;
    this.family = family;
    this.#iovOff = size * MMSGHDR_BYTES;
    this.#nameOff = this.#iovOff + size * IOVEC_BYTES;
    this.#controlOff = this.#nameOff + size * NAME_SLOT_BYTES;
    this.#nameLen = family === 4 ? SOCKADDR_IN_BYTES : SOCKADDR_IN6_BYTES;
    this.mem = Buffer.alloc(this.#controlOff + size * CONTROL_SLOT_BYTES);
    this.#receiveDirty = size;
    this.#preparedBufs = new Array<Buffer | undefined>(size).fill(undefined);
    this.address = addressOf(this.mem);
    for (let i = 0; i < size; i++) {
      const h = i * MMSGHDR_BYTES;
      writeU64(this.mem, h + MSG_NAME_OFFSET, this.address + this.#nameOff + i * NAME_SLOT_BYTES);
      writeU64(this.mem, h + MSG_IOV_OFFSET, this.address + this.#iovOff + i * IOVEC_BYTES);
      writeU64(this.mem, h + MSG_IOVLEN_OFFSET, 1);
      writeU64(this.mem, h + MSG_CONTROL_OFFSET, this.address + this.#controlOff + i * CONTROL_SLOT_BYTES);
    }
  }

  /** Point slots `0 .. n-1` at `batch.bufs[i]` from `start` to the end of the buffer, ready for recvmmsg. */
  prepareReceive(batch: PacketBatch, n: number, start: number): void {
    const m = this.mem;
    const all = start !== this.#preparedStart;
    const dirty = this.#receiveDirty;
    const prepared = this.#preparedBufs;
    for (let i = 0; i < n; i++) {
      const buf = batch.bufs[i];
      if (buf === undefined) break;
      if (!all && i >= dirty && prepared[i] === buf) continue;
      prepared[i] = buf;
      const h = i * MMSGHDR_BYTES;
      const v = this.#iovOff + i * IOVEC_BYTES;
      writeU64(m, v + IOV_BASE_OFFSET, addressOf(buf) + start);
      writeU64(m, v + IOV_LEN_OFFSET, buf.length - start);
      m.writeUInt32LE(NAME_SLOT_BYTES, h + MSG_NAMELEN_OFFSET);
      writeU64(m, h + MSG_CONTROLLEN_OFFSET, CONTROL_SLOT_BYTES);
      m.writeInt32LE(0, h + MSG_FLAGS_OFFSET);
    }
    this.#preparedStart = start;
    this.#receiveDirty = 0;
  }

  /** recvmmsg filled slots `0 .. n-1`: their headers need setting up again before the next receive. */
  received(n: number): void {
    if (n > this.#receiveDirty) this.#receiveDirty = Math.min(n, this.size);
  }

  /** Slot `i`'s control area (what the kernel wrote on receive, up to the length it gave). */
  control(i: number): Buffer {
    const base = this.#controlOff + i * CONTROL_SLOT_BYTES;
    return this.mem.subarray(base, base + CONTROL_SLOT_BYTES);
  }

  /** Bytes received into slot `i`. */
  receivedLength(i: number): number {
    return this.mem.readUInt32LE(i * MMSGHDR_BYTES + MSG_LEN_OFFSET);
  }

  /** msg_flags the kernel returned for slot `i` (MSG_TRUNC, MSG_CTRUNC). */
  receivedFlags(i: number): number {
    return this.mem.readInt32LE(i * MMSGHDR_BYTES + MSG_FLAGS_OFFSET);
  }

  /** Copy table slot `i`'s source address and port into batch slot `k`. False for a foreign family. */
  readSource(i: number, batch: DatagramBatch, k: number): boolean {
    const m = this.mem;
    const n = this.#nameOff + i * NAME_SLOT_BYTES;
    const family = (m[n + SOCKADDR_FAMILY_OFFSET] ?? 0) | ((m[n + SOCKADDR_FAMILY_OFFSET + 1] ?? 0) << 8);
    const a = k * ADDRESS_SLOT_BYTES;
    const out = batch.remoteAddrs;
    if (family === AF_INET && this.family === 4) {
      for (let b = 0; b < 4; b++) out[a + b] = m[n + SOCKADDR_IN_ADDR_OFFSET + b] ?? 0;
      for (let b = 4; b < ADDRESS_SLOT_BYTES; b++) out[a + b] = 0;
    } else if (family === AF_INET6 && this.family === 6) {
      for (let b = 0; b < 16; b++) out[a + b] = m[n + SOCKADDR_IN6_ADDR_OFFSET + b] ?? 0;
    } else {
      return false;
    }
    batch.remotePorts[k] = ((m[n + SOCKADDR_PORT_OFFSET] ?? 0) << 8) | (m[n + SOCKADDR_PORT_OFFSET + 1] ?? 0);
    return true;
  }

  /**
   * Copy the destination from table slot `i`'s IP_PKTINFO / IPV6_PKTINFO into batch slot `k`'s local address,
   * and its IP_TOS / IPV6_TCLASS (if any) into the slot's TOS; a UDP_GRO segment size goes to `segmentSize`.
   * False without a PKTINFO.
   */
  readDestination(i: number, batch: DatagramBatch, k: number): boolean {
    const m = this.mem;
    const h = i * MMSGHDR_BYTES;
    // Lengths here are far below 2^32: the low word of each size_t is enough.
    const controlLen = m.readUInt32LE(h + MSG_CONTROLLEN_OFFSET);
    const base = this.#controlOff + i * CONTROL_SLOT_BYTES;
    const end = base + Math.min(controlLen, CONTROL_SLOT_BYTES);
    const a = k * ADDRESS_SLOT_BYTES;
    let found = false;
    this.segmentSize = 0;
    if (batch.tos !== undefined) batch.tos[k] = 0;
    let c = base;
    while (c + CMSG_HEADER_BYTES <= end) {
      const len = m.readUInt32LE(c + CMSG_LEN_OFFSET);
      if (len < CMSG_HEADER_BYTES || c + len > end) break;
      const level = m.readInt32LE(c + CMSG_LEVEL_OFFSET);
      const type = m.readInt32LE(c + CMSG_TYPE_OFFSET);
      const data = c + CMSG_HEADER_BYTES;
      const out = batch.localAddrs;
      if (this.family === 4 && level === IPPROTO_IP && type === IP_PKTINFO) {
        for (let b = 0; b < 4; b++) out[a + b] = m[data + IN_PKTINFO_ADDR_OFFSET + b] ?? 0;
        for (let b = 4; b < ADDRESS_SLOT_BYTES; b++) out[a + b] = 0;
        found = true;
      } else if (this.family === 6 && level === IPPROTO_IPV6 && type === IPV6_PKTINFO) {
        for (let b = 0; b < 16; b++) out[a + b] = m[data + IN6_PKTINFO_ADDR_OFFSET + b] ?? 0;
        found = true;
      } else if (batch.tos !== undefined && level === IPPROTO_IP && type === IP_TOS) {
        batch.tos[k] = m[data] ?? 0; // one byte on receive (ip(7))
      } else if (batch.tos !== undefined && level === IPPROTO_IPV6 && type === IPV6_TCLASS) {
        batch.tos[k] = m.readInt32LE(data) & 0xff;
      } else if (level === SOL_UDP && type === UDP_GRO && len >= CMSG_HEADER_BYTES + 4) {
        const size = m.readInt32LE(data);
        this.segmentSize = size > 0 ? size : 0;
      }
      c += (len + 7) & ~7;
    }
    return found;
  }

  /**
   * Point slot `i` at `batch` slot `j`'s bytes and its remote address and port, for sendmmsg. Returns false
   * (and leaves the slot unusable) when the packet does not fit its buffer.
   */
  prepareSendSlot(i: number, batch: DatagramBatch, j: number): boolean {
    return this.prepareSendGroup(i, i, batch, j, 1, 0);
  }

  /**
   * Make message `m` send batch slots `j .. j+k-1` to slot `j`'s remote (and from its local address) through
   * the table's iovecs `v .. v+k-1`; with `gsoSize` > 0 as one UDP GSO send of that segment size. Returns
   * false when a slot does not fit its buffer (the message is then unusable).
   */
  prepareSendGroup(m: number, v: number, batch: DatagramBatch, j: number, k: number, gsoSize: number): boolean {
    const mem = this.mem;
    for (let x = 0; x < k; x++) {
      const buf = batch.bufs[j + x];
      const off = batch.offsets[j + x] ?? 0;
      const len = batch.lengths[j + x] ?? 0;
      if (buf === undefined || off < 0 || len <= 0 || off + len > buf.length) return false;
      const iov = this.#iovOff + (v + x) * IOVEC_BYTES;
      writeU64(mem, iov + IOV_BASE_OFFSET, addressOf(buf) + off);
      writeU64(mem, iov + IOV_LEN_OFFSET, len);
    }
    const h = m * MMSGHDR_BYTES;
    writeU64(mem, h + MSG_IOV_OFFSET, this.address + this.#iovOff + v * IOVEC_BYTES);
    writeU64(mem, h + MSG_IOVLEN_OFFSET, k);
    const n = this.#nameOff + m * NAME_SLOT_BYTES;
    // Plain byte stores, no Buffer methods: a lone packet's send runs this cold, where each call into Node's
    // buffer code costs microseconds.
    for (let b = 0; b < NAME_SLOT_BYTES; b++) mem[n + b] = 0;
    const a = j * ADDRESS_SLOT_BYTES;
    const addrs = batch.remoteAddrs;
    const family = this.family === 4 ? AF_INET : AF_INET6;
    mem[n + SOCKADDR_FAMILY_OFFSET] = family & 0xff;
    mem[n + SOCKADDR_FAMILY_OFFSET + 1] = family >> 8;
    if (this.family === 4) {
      for (let b = 0; b < 4; b++) mem[n + SOCKADDR_IN_ADDR_OFFSET + b] = addrs[a + b] ?? 0;
    } else {
      for (let b = 0; b < 16; b++) mem[n + SOCKADDR_IN6_ADDR_OFFSET + b] = addrs[a + b] ?? 0;
    }
    const port = batch.remotePorts[j] ?? 0;
    mem[n + SOCKADDR_PORT_OFFSET] = port >> 8;
    mem[n + SOCKADDR_PORT_OFFSET + 1] = port & 0xff;
    storeU32(mem, h + MSG_NAMELEN_OFFSET, this.#nameLen);
    let control = this.#writeSourceControl(m, batch.localAddrs, a);
    control += this.#writeTosControl(m, control, batch.tos?.[j] ?? 0);
    if (gsoSize > 0) {
      const c = this.#controlOff + m * CONTROL_SLOT_BYTES + control;
      mem.fill(0, c, c + UDP_SEGMENT_CMSG_SPACE);
      writeU64(mem, c + CMSG_LEN_OFFSET, CMSG_HEADER_BYTES + 2);
      mem.writeInt32LE(SOL_UDP, c + CMSG_LEVEL_OFFSET);
      mem.writeInt32LE(UDP_SEGMENT, c + CMSG_TYPE_OFFSET);
      mem.writeUInt16LE(gsoSize, c + CMSG_HEADER_BYTES);
      control += UDP_SEGMENT_CMSG_SPACE;
    }
    writeU64(mem, h + MSG_CONTROLLEN_OFFSET, control);
    storeU32(mem, h + MSG_FLAGS_OFFSET, 0);
    return true;
  }

  /**
   * When `tos` is not 0, write an IP_TOS / IPV6_TCLASS control message (an int) at `at` bytes into slot `i`'s
   * control area, so this datagram's outer header carries it (DSCP and ECN copied from the inner packet, RFC
   * 6040); return its length, else 0.
   */
  #writeTosControl(i: number, at: number, tos: number): number {
    if (tos === 0) return 0;
    const m = this.mem;
    const c = this.#controlOff + i * CONTROL_SLOT_BYTES + at;
    for (let b = 0; b < TOS_CMSG_SPACE; b++) m[c + b] = 0;
    storeU32(m, c + CMSG_LEN_OFFSET, CMSG_HEADER_BYTES + 4);
    storeU32(m, c + CMSG_LEVEL_OFFSET, this.family === 4 ? IPPROTO_IP : IPPROTO_IPV6);
    storeU32(m, c + CMSG_TYPE_OFFSET, this.family === 4 ? IP_TOS : IPV6_TCLASS);
    storeU32(m, c + CMSG_HEADER_BYTES, tos);
    return TOS_CMSG_SPACE;
  }

  /**
   * When batch local address `a` is set (not all zero), write an IP_PKTINFO (ipi_spec_dst) or IPV6_PKTINFO
   * (ipi6_addr) control message choosing it as the source, and return the control length; else 0.
   */
  #writeSourceControl(i: number, addrs: Uint8Array, a: number): number {
    const addrBytes = this.family === 4 ? 4 : 16;
    let any = 0;
    for (let b = 0; b < addrBytes; b++) any |= addrs[a + b] ?? 0;
    if (any === 0) return 0;
    const m = this.mem;
    const c = this.#controlOff + i * CONTROL_SLOT_BYTES;
    const dataBytes = this.family === 4 ? IN_PKTINFO_BYTES : IN6_PKTINFO_BYTES;
    const space = CMSG_HEADER_BYTES + ((dataBytes + 7) & ~7);
    for (let b = 0; b < space; b++) m[c + b] = 0;
    storeU32(m, c + CMSG_LEN_OFFSET, CMSG_HEADER_BYTES + dataBytes);
    storeU32(m, c + CMSG_LEVEL_OFFSET, this.family === 4 ? IPPROTO_IP : IPPROTO_IPV6);
    storeU32(m, c + CMSG_TYPE_OFFSET, this.family === 4 ? IP_PKTINFO : IPV6_PKTINFO);
    const at = c + CMSG_HEADER_BYTES + (this.family === 4 ? IN_PKTINFO_SPEC_DST_OFFSET : IN6_PKTINFO_ADDR_OFFSET);
    for (let b = 0; b < addrBytes; b++) m[at + b] = addrs[a + b] ?? 0;
    // CMSG_SPACE: header plus data rounded up to 8 bytes.
    return space;
  }
}
