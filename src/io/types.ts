/**
 * The narrow operating-system boundary of the daemon: a TUN device, raw IP sockets for ESP (50) and AH (51),
 * UDP endpoints for IKE (500) and NAT traversal (4500), and a clock. Each has an in-memory twin
 * (`memory-tun.ts`, `memory-network.ts`, `clock.ts`) so two complete peers can exchange packets in a test
 * without root, and a Linux implementation under `linux/`.
 *
 * Packets travel in batches. A batch is a fixed set of pooled buffers with a per-slot offset and length; the
 * receiving side lends its batch to the receiver for the duration of one callback and reuses it afterwards, so
 * the hot path allocates nothing. A receiver that needs a packet later (a trap queue, say) copies it.
 */

/** Address family of a socket and of every address in its batches. */
export type IpFamily = 4 | 6;

/** Bytes reserved per address slot in a batch: an IPv6 address; IPv4 uses the first 4. */
export const ADDRESS_SLOT_BYTES = 16;

/**
 * A set of packet slots. Slot `i` holds a packet in `bufs[i]` from `offsets[i]` for `lengths[i]` bytes;
 * only slots `0 .. count-1` are meaningful.
 */
export interface PacketBatch {
  readonly bufs: Buffer[];
  readonly offsets: Int32Array;
  readonly lengths: Int32Array;
  count: number;
}

/** What a datagram slot carries. Raw sockets mark their protocol; UDP 4500 is demultiplexed (RFC 3948 2.2). */
export const DatagramKind = {
  /** ESP: raw protocol 50, or ESP-in-UDP (first 4 bytes non-zero). */
  ESP: 1,
  /** AH: raw protocol 51. */
  AH: 2,
  /** IKE: any datagram on port 500, or one behind the 4-byte non-ESP marker on port 4500. */
  IKE: 3,
  /** NAT-keepalive: a single 0xFF byte on port 4500 (RFC 3948 2.3). */
  KEEPALIVE: 4,
  /** Too short to classify; counted and ignored. */
  INVALID: 5,
} as const;
export type DatagramKind = (typeof DatagramKind)[keyof typeof DatagramKind];

/**
 * A batch of datagrams with their addresses. On receive, `remote*` is the sender and `local*` the destination
 * the packet was addressed to. On send, `remote*` is the destination; a non-zero `localAddrs` slot is the
 * source address to use (IP_PKTINFO / IPV6_PKTINFO on Linux), an all-zero one lets the kernel choose from the
 * routing table or the bound address; `localPorts` is ignored (the socket's port). Ports are 0 on raw sockets.
 */
export interface DatagramBatch extends PacketBatch {
  readonly family: IpFamily;
  readonly kinds: Uint8Array;
  /** `ADDRESS_SLOT_BYTES` per slot, network byte order. */
  readonly remoteAddrs: Uint8Array;
  readonly remotePorts: Uint16Array;
  readonly localAddrs: Uint8Array;
  readonly localPorts: Uint16Array;
  /**
   * IPv4 TOS / IPv6 Traffic Class (DSCP and ECN) per slot, when the batch has it: on send the outer header's
   * (0 leaves it to the socket), on receive the arriving outer header's (0 when the socket does not say).
   */
  readonly tos?: Uint8Array;
  /**
   * Per received slot, when the batch has it: 1 when the slot is one datagram of a UDP GRO receive, a view into
   * a buffer that holds its neighbours too. Bytes outside the slot's delivered `offsets .. offsets + lengths`
   * are then not the receiver's to write (0: the whole buffer is the slot's).
   */
  readonly shared?: Uint8Array;
}

/** Counters every device and socket keeps; receive-side drops never throw. */
export interface IoStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  /** Slots whose send failed (buffer full, no route, ...); they are dropped, not retried. */
  txErrors: number;
  /** Received packets dropped before delivery (truncated, malformed header, unknown kind). */
  rxDrops: number;
  /** Number of receive wake-ups; `rxPackets / rxWakeups` is the average batch size. */
  rxWakeups: number;
}

export function newIoStats(): IoStats {
  return { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txErrors: 0, rxDrops: 0, rxWakeups: 0 };
}

/**
 * A layer-3 TUN device (no packet-information prefix): each slot is one IPv4 or IPv6 packet.
 * Model: the `Device` of wireguard-go's tun package, reshaped for a callback-driven event loop.
 */
export interface TunDevice {
  readonly name: string;
  readonly mtu: number;
  /** Bytes kept free before each received packet, for the outer headers the data plane writes in front. */
  readonly headroom: number;
  readonly stats: IoStats;
  /**
   * Start delivering received packets: each batch has packets at `offsets[i] === headroom`, in buffers of at
   * least `headroom + mtu + tailroom` bytes. The batch is lent for the call only. Call once.
   */
  start(receiver: (batch: PacketBatch) => void): void;
  /** Write slots `0 .. count-1` into the kernel. Returns how many were written; failures are counted. */
  write(batch: PacketBatch): number;
  /** Offloads negotiated with the kernel and what they did, where the device has any (Linux TUN). */
  readonly offloadInfo?: () => OffloadInfo;
  /** Stop receiving and release the device. Pending reads end without delivering; idempotent. */
  close(): Promise<void>;
}

/** A raw IP socket for one protocol (ESP 50 or AH 51) and one family. */
export interface PacketSocket {
  readonly family: IpFamily;
  readonly protocol: number;
  readonly stats: IoStats;
  /**
   * Start delivering received datagrams. The payload starts after the IP header on both families: IPv4 raw
   * sockets receive the header and it is stripped here (its addresses go into the batch); IPv6 raw sockets
   * never receive it, and the destination comes from IPV6_PKTINFO. Call once.
   */
  start(receiver: (batch: DatagramBatch) => void): void;
  /** Send slots `0 .. count-1` to `remoteAddrs[i]`; the kernel adds the IP header. Returns the number sent. */
  send(batch: DatagramBatch): number;
  close(): Promise<void>;
}

/** Where a datagram came from or goes to, for the low-rate IKE path. */
export interface UdpAddress {
  readonly address: string;
  readonly port: number;
}

export interface UdpReceivers {
  /** One IKE message (the non-ESP marker already removed). `message` is a copy the receiver may keep. */
  ike(message: Buffer, remote: UdpAddress, local: UdpAddress): void;
  /**
   * A batch in which some slots are ESP-in-UDP (RFC 3948): process only slots with
   * `kinds[i] === DatagramKind.ESP`; payloads start at the SPI. Only on a NAT-T port.
   */
  esp?(batch: DatagramBatch): void;
  /** A NAT-keepalive arrived (RFC 3948 2.3); optional, they are also counted. */
  keepalive?(remote: UdpAddress): void;
}

/** A UDP socket for IKE; on the NAT-T port also ESP-in-UDP and keepalives (RFC 3948). */
export interface UdpEndpoint {
  readonly family: IpFamily;
  readonly port: number;
  /** True when the port carries the non-ESP marker (4500 or a configured NAT-T port). */
  readonly natT: boolean;
  readonly stats: IoStats;
  /** Keepalives received; IKE and ESP are in `stats`. */
  readonly keepalivesReceived: number;
  start(receivers: UdpReceivers): void;
  /**
   * Send one IKE message; on a NAT-T port the 4-byte non-ESP marker is put in front (RFC 3948 2.2).
   * `localAddress`, when given, is the source (a response leaves from the address its request arrived on).
   */
  sendIke(message: Uint8Array, remote: UdpAddress, localAddress?: string): boolean;
  /** Send ESP-in-UDP slots to `remoteAddrs[i]:remotePorts[i]`; only on a NAT-T port. */
  sendEsp(batch: DatagramBatch): number;
  /** UDP GSO for ESP-in-UDP sends, where the endpoint has it (Linux). */
  readonly gsoInfo?: () => UdpGsoInfo;
  /** UDP GRO for ESP-in-UDP receives, where the endpoint has it (Linux, NAT-T port). */
  readonly groInfo?: () => UdpGroInfo;
  /** Send a one-byte NAT-keepalive (RFC 3948 2.3). */
  sendKeepalive(remote: UdpAddress): boolean;
  close(): Promise<void>;
}

/**
 * Time and the single timer the sans-I/O engines need: they return their next deadline, the glue arms one
 * timer for it and calls `handleTimer(nowMs)` when it fires.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale (not wall-clock time). */
  nowMs(): number;
  /** Arm (or re-arm, replacing the previous one) the single timer for absolute `deadlineMs`. */
  setDeadline(deadlineMs: number | undefined, onFire: (nowMs: number) => void): void;
  /** Cancel the timer; idempotent. */
  cancel(): void;
}

/** Raised for set-up failures (open, bind, ioctl); never from a per-packet path. */
export class IoError extends Error {
  readonly errno: number;
  constructor(what: string, errno: number) {
    super(errno !== 0 ? `${what}: errno ${errno} (${errnoName(errno)})` : what);
    this.name = 'IoError';
    this.errno = errno;
  }
}

const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  9: 'EBADF',
  11: 'EAGAIN',
  13: 'EACCES',
  16: 'EBUSY',
  17: 'EEXIST',
  19: 'ENODEV',
  22: 'EINVAL',
  90: 'EMSGSIZE',
  93: 'EPROTONOSUPPORT',
  97: 'EAFNOSUPPORT',
  98: 'EADDRINUSE',
  99: 'EADDRNOTAVAIL',
  101: 'ENETUNREACH',
  110: 'ETIMEDOUT',
  113: 'EHOSTUNREACH',
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** A TUN device's offloads: what was negotiated at start (and why not, if refused) and what they did. */
export interface OffloadInfo {
  readonly vnetHdr: boolean;
  readonly tso: boolean;
  readonly uso: boolean;
  readonly gro: boolean;
  readonly fallback?: string;
  /** Super-packets read and the packets split from them; super-packets written and the packets coalesced. */
  readonly gsoReads: number;
  readonly gsoSegments: number;
  readonly groWrites: number;
  readonly groSegments: number;
}

/** UDP GSO of an endpoint: on, or off and why; sends made and the datagrams they carried. */
export interface UdpGsoInfo {
  readonly enabled: boolean;
  readonly sends: number;
  readonly segments: number;
  readonly fallback?: string;
}

/**
 * UDP GRO of an endpoint (chosen at start): on, or off and why; receives that carried more than one datagram
 * and the datagrams they carried.
 */
export interface UdpGroInfo {
  readonly enabled: boolean;
  readonly receives: number;
  readonly datagrams: number;
  readonly fallback?: string;
}
