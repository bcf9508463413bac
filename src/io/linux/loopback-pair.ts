/**
 * Two ESP-in-UDP endpoints on the IPv4 loopback address, on ports the kernel picks, for the data plane's
 * start-up warm-up (src/dataplane/warm-up.ts): datagrams sent from one reach the other through the same
 * sendmmsg/recvmmsg code as the tunnel's, and nothing leaves the host. Closed right after.
 */
import { LinuxUdpEndpoint } from './udp-endpoint.js';

export const LOOPBACK_ADDRESS = '127.0.0.1';

export interface LoopbackUdpPair {
  readonly a: LinuxUdpEndpoint;
  readonly b: LinuxUdpEndpoint;
  readonly address: string;
  /** One event-loop turn (its poll phase receives what was sent). */
  readonly yieldToLoop: () => Promise<void>;
  close(): Promise<void>;
}

/** Opens the pair; throws an IoError when the loopback address cannot be bound (no `lo` up in this namespace). */
export function openLoopbackUdpPair(batchSize?: number): LoopbackUdpPair {
  const open = (): LinuxUdpEndpoint =>
    new LinuxUdpEndpoint({
      family: 4,
      port: 0,
      bindAddress: LOOPBACK_ADDRESS,
      natT: true,
      reuseAddr: false,
      ...(batchSize !== undefined ? { batchSize } : {}),
    });
  const a = open();
  let b: LinuxUdpEndpoint;
  try {
    b = open();
  } catch (e) {
    void a.close();
    throw e;
  }
  return {
    a,
    b,
    address: LOOPBACK_ADDRESS,
    yieldToLoop: () => new Promise((resolve) => setImmediate(resolve)),
    close: async () => {
      await a.close();
      await b.close();
    },
  };
}
