/**
 * IKE between the UDP sockets and the engine: one endpoint per family on port 500 and on the NAT-T port
 * (where ESP-in-UDP arrives too). The sockets frame and strip the non-ESP marker; what passes here are plain
 * IKE messages both ways, and the local port a message arrived on tells the engine which socket answers.
 */
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';
import { IKE_PORT, NAT_T_PORT } from '../common/nat-t.js';
import type { Endpoint, OutgoingDatagram } from '../ike/events.js';
import type { DatagramBatch, IpFamily, UdpEndpoint } from '../io/types.js';
import type { DaemonIo } from './daemon-io.js';

export type IkeReceiver = (message: Buffer, from: Endpoint, to: Endpoint) => void;

export class IkeTransport {
  readonly #endpoints = new Map<string, UdpEndpoint>();
  readonly #log: Logger;
  /** IKE messages received and sent, for `tsipsec stats`. */
  readonly counters = { ikeIn: 0, ikeOut: 0 };

  /** Opens what the system allows; a missing family or port is logged, not fatal. */
  constructor(io: DaemonIo, log: Logger) {
    this.#log = log;
    for (const family of [4, 6] as const)
      for (const port of [IKE_PORT, NAT_T_PORT]) {
        try {
          this.#endpoints.set(key(family, port), io.openUdp(family, port));
        } catch (e) {
          log.log('net', LogLevel.CONTROL, `no IPv${family} UDP ${port}: ${(e as Error).message}`);
        }
      }
  }

  /** The NAT-T endpoints, which also carry ESP-in-UDP for the data plane. */
  natTEndpoints(): Partial<Record<IpFamily, UdpEndpoint>> {
    const out: Partial<Record<IpFamily, UdpEndpoint>> = {};
    for (const family of [4, 6] as const) {
      const ep = this.#endpoints.get(key(family, NAT_T_PORT));
      if (ep !== undefined) out[family] = ep;
    }
    return out;
  }

  start(ike: IkeReceiver, esp: (batch: DatagramBatch) => void): void {
    for (const ep of this.#endpoints.values()) {
      ep.start({
        ike: (message, remote, local) => {
          this.counters.ikeIn++;
          ike(message, { address: remote.address, port: remote.port }, { address: local.address, port: ep.port });
        },
        esp,
      });
    }
  }

  send(datagrams: readonly OutgoingDatagram[]): void {
    for (const d of datagrams) {
      const family: IpFamily = d.to.address.includes(':') ? 6 : 4;
      const ep = this.#endpoints.get(key(family, d.from.port));
      if (ep === undefined) {
        this.#log.log('net', LogLevel.CONTROL, `no socket for ${d.from.address}[${d.from.port}], message dropped`);
        continue;
      }
      ep.sendIke(d.bytes, { address: d.to.address, port: d.to.port });
      this.counters.ikeOut++;
    }
  }

  /** A NAT-keepalive from our NAT-T endpoint of `from`'s family to `to`. */
  sendKeepalive(from: Endpoint, to: Endpoint): void {
    const family: IpFamily = to.address.includes(':') ? 6 : 4;
    this.#endpoints.get(key(family, from.port))?.sendKeepalive({ address: to.address, port: to.port });
  }

  async close(): Promise<void> {
    for (const ep of this.#endpoints.values()) await ep.close();
  }
}

function key(family: IpFamily, port: number): string {
  return `${family}/${port}`;
}
