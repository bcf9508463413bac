/**
 * Raw IP sockets for ESP (protocol 50, RFC 4303) and AH (protocol 51, RFC 4302) on Linux, for a machine
 * without kernel ESP/AH: the kernel hands every packet of the protocol to the socket.
 *
 * Receive: IPv4 raw sockets get the IP header (raw(7)); it is stripped here and its destination address
 * kept, so on both families a slot's payload starts at the ESP SPI or the AH Next Header byte. IPv6 raw
 * sockets never get the header; the destination comes from IPV6_PKTINFO.
 * Send: the kernel builds the IP header (no IP_HDRINCL); the source is the bound address or the route's.
 *
 * `headerIncluded` (IPv4 only, for AH: RFC 4302 3.3.3.1.1.1 puts the Identification field under the ICV, so
 * the header must be ours, not the kernel's): sends set IP_HDRINCL and each slot is a whole IPv4 packet; the
 * kernel still fills in the header checksum and total length, and an Identification of 0 when DF is clear
 * (raw(7)). Received slots keep the IPv4 header, options included, starting at the version byte.
 */
import { IpProto } from '../../common/ip.js';
import { DEFAULT_BATCH_SIZE } from '../batch.js';
import { DatagramKind, type DatagramBatch, type IoStats, type IpFamily, type PacketSocket } from '../types.js';
import { DatagramSocketCore } from './datagram-socket.js';
import { SOCK_RAW } from './libc.js';

/** Receive buffer per slot: the largest IPv4 datagram (an IPv6 jumbogram is not expected on ESP). */
export const RAW_BUFFER_BYTES = 65535;

export interface RawSocketOptions {
  readonly family: IpFamily;
  /** `IpProto.ESP` (50) or `IpProto.AH` (51). */
  readonly protocol: number;
  /** Receive only packets addressed to this local address (bind(2)); all when absent. */
  readonly bindAddress?: string;
  /** SO_MARK for sent packets: lets policy routing keep them off the TUN (see README, transport mode). */
  readonly mark?: number;
  readonly batchSize?: number;
  readonly receiveBufferBytes?: number;
  readonly sendBufferBytes?: number;
  readonly netns?: string;
  /** IPv4 only: IP_HDRINCL on send, received IPv4 header kept (see the file comment). Default false. */
  readonly headerIncluded?: boolean;
}

export class LinuxPacketSocket implements PacketSocket {
  readonly family: IpFamily;
  readonly protocol: number;
  /** Slots carry the whole IPv4 packet, header included, both ways. */
  readonly headerIncluded: boolean;
  readonly #core: DatagramSocketCore;

  constructor(options: RawSocketOptions) {
    this.family = options.family;
    this.protocol = options.protocol;
    this.headerIncluded = options.headerIncluded === true;
    this.#core = new DatagramSocketCore({
      family: options.family,
      type: SOCK_RAW,
      protocol: options.protocol,
      batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
      bufferBytes: RAW_BUFFER_BYTES,
      kind: options.protocol === IpProto.AH ? DatagramKind.AH : DatagramKind.ESP,
      ...(options.bindAddress !== undefined ? { bindAddress: options.bindAddress } : {}),
      ...(options.mark !== undefined ? { mark: options.mark } : {}),
      ...(options.receiveBufferBytes !== undefined ? { receiveBufferBytes: options.receiveBufferBytes } : {}),
      ...(options.sendBufferBytes !== undefined ? { sendBufferBytes: options.sendBufferBytes } : {}),
      ...(options.netns !== undefined ? { netns: options.netns } : {}),
      ...(this.headerIncluded ? { headerIncluded: true } : {}),
    });
  }

  get stats(): IoStats {
    return this.#core.stats;
  }

  start(receiver: (batch: DatagramBatch) => void): void {
    this.#core.start(receiver);
  }

  send(batch: DatagramBatch): number {
    return this.#core.send(batch);
  }

  close(): Promise<void> {
    this.#core.close();
    return Promise.resolve();
  }
}
