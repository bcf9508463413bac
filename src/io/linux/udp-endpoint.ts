/**
 * UDP endpoints for IKE on Linux: port 500, and the NAT-T port 4500 carrying IKE behind the non-ESP marker,
 * ESP-in-UDP and NAT-keepalives (RFC 3948 2). Built on the same recvmmsg/sendmmsg engine as the raw sockets
 * rather than node:dgram, for three things dgram cannot do: the destination address of each datagram
 * (IP_PKTINFO / IPV6_PKTINFO, needed for NAT detection, RFC 7296 2.23, on a wildcard bind), SO_MARK, and
 * batched ESP-in-UDP.
 *
 * Routing loops: when a peer's address is inside the remote traffic selector (transport mode, or a tunnel
 * covering the peer), the route that sends that selector into the TUN would also capture our own IKE and ESP
 * packets. The plan, as strongSwan's kernel-libipsec documentation describes: every socket of the daemon
 * carries a mark (`mark` here and in `raw-socket.ts`), selector routes go into a separate table (with the
 * local address as `src`, so transport-mode packets keep it), and one rule sends only unmarked traffic to that
 * table (`ip rule add not fwmark M table T`), so the daemon's marked packets use the main table and reach the
 * wire. `iproute.ts` has the commands; test/io/linux-routing.test.ts shows the whole arrangement working.
 */
import { DEFAULT_BATCH_SIZE, createDatagramBatch } from '../batch.js';
import { writeAddressSlot } from '../ip-address.js';
import { IpProto } from '../../common/ip.js';
import { NAT_KEEPALIVE_BYTE, NAT_KEEPALIVE_LENGTH, NAT_T_PORT, NON_ESP_MARKER_LENGTH } from '../../common/nat-t.js';
import { dispatchUdpBatch } from '../udp-demux.js';
import {
  DatagramKind,
  type DatagramBatch,
  type IoStats,
  type IpFamily,
  type UdpAddress,
  type UdpGroInfo,
  type UdpGsoInfo,
  type UdpEndpoint,
  type UdpReceivers,
} from '../types.js';
import { DatagramSocketCore, type UdpGsoState } from './datagram-socket.js';
import type { UdpGroState } from './udp-gro.js';
import { SOCK_DGRAM } from './libc.js';

/** Receive buffer per slot: the largest UDP payload. */
export const UDP_BUFFER_BYTES = 65535;
const IPPROTO_UDP = IpProto.UDP;

export interface UdpEndpointOptions {
  readonly family: IpFamily;
  readonly port: number;
  /** Local address; the wildcard when absent (destinations still come from PKTINFO). */
  readonly bindAddress?: string;
  /** Demultiplex with the non-ESP marker; defaults to `port === 4500`. */
  readonly natT?: boolean;
  /** SO_REUSEADDR, default true (a restarted daemon rebinds at once). */
  readonly reuseAddr?: boolean;
  readonly mark?: number;
  readonly batchSize?: number;
  /**
   * ESP-in-UDP runs to one peer as UDP GSO sends (UDP_SEGMENT): default true, off again at the first refusal;
   * false, or the reason as a string, sends datagram by datagram.
   */
  readonly udpGso?: boolean | string;
  /**
   * UDP GRO receives on a NAT-T port (coalesced ESP-in-UDP split back into datagrams here): default true; false,
   * or the reason as a string, keeps receives plain. The kernel may refuse it; `gro.fallback` then says why.
   */
  readonly udpGro?: boolean | string;
  readonly receiveBufferBytes?: number;
  readonly sendBufferBytes?: number;
  readonly netns?: string;
}

export class LinuxUdpEndpoint implements UdpEndpoint {
  readonly family: IpFamily;
  readonly port: number;
  readonly natT: boolean;
  readonly #core: DatagramSocketCore;
  readonly #counters: { stats: IoStats; keepalives: number };
  /** One-slot batch for IKE messages and keepalives (low rate; copied behind the marker). */
  readonly #control: DatagramBatch;

  constructor(options: UdpEndpointOptions) {
    this.family = options.family;
    this.natT = options.natT ?? options.port === NAT_T_PORT;
    this.#core = new DatagramSocketCore({
      family: options.family,
      type: SOCK_DGRAM,
      protocol: IPPROTO_UDP,
      port: options.port,
      reuseAddr: options.reuseAddr ?? true,
      batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
      bufferBytes: UDP_BUFFER_BYTES,
      kind: DatagramKind.INVALID,
      udpGso: (options.udpGso ?? true) === true,
      udpGro: this.natT && (options.udpGro ?? true) === true,
      ...(options.bindAddress !== undefined ? { bindAddress: options.bindAddress } : {}),
      ...(options.mark !== undefined ? { mark: options.mark } : {}),
      ...(options.receiveBufferBytes !== undefined ? { receiveBufferBytes: options.receiveBufferBytes } : {}),
      ...(options.sendBufferBytes !== undefined ? { sendBufferBytes: options.sendBufferBytes } : {}),
      ...(options.netns !== undefined ? { netns: options.netns } : {}),
    });
    this.port = this.#core.port;
    if (typeof options.udpGso === 'string') this.#core.gso.fallback = options.udpGso;
    const groOff = options.udpGro;
    if (!this.natT) this.#core.gro.fallback = 'not a NAT-T port (no ESP in UDP)';
    else if (groOff === false || typeof groOff === 'string') {
      this.#core.gro.fallback = typeof groOff === 'string' ? groOff : 'turned off';
    }
    this.#counters = { stats: this.#core.stats, keepalives: 0 };
    this.#control = createDatagramBatch({ size: 1, bufferBytes: UDP_BUFFER_BYTES }, options.family);
  }

  get stats(): IoStats {
    return this.#core.stats;
  }

  /** UDP GSO: on or off (and why), GSO sends and the datagrams they carried. */
  get gso(): Readonly<UdpGsoState> {
    return this.#core.gso;
  }

  readonly gsoInfo = (): UdpGsoInfo => ({ ...this.#core.gso });

  /** UDP GRO: on or off (and why), coalesced receives and the datagrams they carried. */
  get gro(): Readonly<UdpGroState> {
    return this.#core.gro;
  }

  readonly groInfo = (): UdpGroInfo => ({ ...this.#core.gro });

  get keepalivesReceived(): number {
    return this.#counters.keepalives;
  }

  start(receivers: UdpReceivers): void {
    const natT = this.natT;
    const counters = this.#counters;
    this.#core.start((batch) => dispatchUdpBatch(batch, natT, receivers, counters));
  }

  sendIke(message: Uint8Array, remote: UdpAddress, localAddress?: string): boolean {
    const prefix = this.natT ? NON_ESP_MARKER_LENGTH : 0;
    const c = this.#control;
    const buf = c.bufs[0];
    if (buf === undefined || prefix + message.length > buf.length) {
      this.#core.stats.txErrors++;
      return false;
    }
    buf.fill(0, 0, prefix);
    buf.set(message, prefix);
    return this.#sendControl(prefix + message.length, remote, localAddress);
  }

  sendKeepalive(remote: UdpAddress): boolean {
    const buf = this.#control.bufs[0];
    if (buf === undefined) return false;
    buf[0] = NAT_KEEPALIVE_BYTE;
    return this.#sendControl(NAT_KEEPALIVE_LENGTH, remote, undefined);
  }

  sendEsp(batch: DatagramBatch): number {
    if (!this.natT) {
      this.#core.stats.txErrors += batch.count;
      return 0;
    }
    return this.#core.send(batch);
  }

  close(): Promise<void> {
    this.#core.close();
    return Promise.resolve();
  }

  #sendControl(length: number, remote: UdpAddress, localAddress: string | undefined): boolean {
    const c = this.#control;
    if (localAddress === undefined) c.localAddrs.fill(0);
    else if (!writeAddressSlot(localAddress, this.family, c.localAddrs, 0)) {
      this.#core.stats.txErrors++;
      return false;
    }
    if (!writeAddressSlot(remote.address, this.family, c.remoteAddrs, 0)) {
      this.#core.stats.txErrors++;
      return false;
    }
    c.offsets[0] = 0;
    c.lengths[0] = length;
    c.remotePorts[0] = remote.port;
    c.count = 1;
    return this.#core.send(c) === 1;
  }
}
