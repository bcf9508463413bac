/**
 * What the daemon needs from the operating system, behind one small interface: the Linux implementation
 * (koffi TUN, raw sockets, UDP, iproute2) for real use, memory twins for tests without root.
 */
import type { Clock, IpFamily, PacketSocket, TunDevice, UdpEndpoint } from '../io/types.js';
import { LinuxTun } from '../io/linux/tun.js';
import { LinuxPacketSocket } from '../io/linux/raw-socket.js';
import { LinuxUdpEndpoint } from '../io/linux/udp-endpoint.js';
import { addRoute, deleteRoute } from '../io/linux/iproute.js';
import { SystemClock } from '../io/clock.js';

export interface DaemonIo {
  readonly clock: Clock;
  /** The TUN device plaintext enters and leaves through. */
  openTun(): TunDevice;
  /** UDP on 500 (IKE) or 4500 (IKE behind the non-ESP marker, and ESP-in-UDP). */
  openUdp(family: IpFamily, port: number): UdpEndpoint;
  /** Raw IP sockets for ESP (50) and AH (51). */
  openRaw(family: IpFamily, protocol: number): PacketSocket;
  /** Route `prefix` into the TUN (with a preferred source address when the local selector is one host). */
  addRoute(prefix: string, dev: string, src?: string): Promise<void>;
  delRoute(prefix: string, dev: string): Promise<void>;
}

export interface LinuxIoOptions {
  /** TUN name or pattern (default `tsi%d`). */
  readonly tunName?: string;
  readonly mtu?: number;
}

export function linuxIo(options: LinuxIoOptions = {}): DaemonIo {
  return {
    clock: new SystemClock(),
    openTun: () => new LinuxTun({ name: options.tunName ?? 'tsi%d', mtu: options.mtu ?? 1400 }),
    openUdp: (family, port) => new LinuxUdpEndpoint({ family, port }),
    openRaw: (family, protocol) => new LinuxPacketSocket({ family, protocol }),
    addRoute: async (prefix, dev, src) => {
      await addRoute(prefix, dev, src !== undefined ? { src } : {});
    },
    delRoute: async (prefix, dev) => {
      await deleteRoute(prefix, dev);
    },
  };
}
