/**
 * NAT detection (RFC 7296 2.23): NAT_DETECTION_*_IP data = SHA-1(SPIi | SPIr | IP address | port).
 * In the IKE_SA_INIT request SPIr is zero.
 */
import { createHash } from 'node:crypto';
import type { Endpoint } from './events.js';
import { parseAddress } from './traffic-selectors.js';

export function natHash(spiI: Uint8Array, spiR: Uint8Array, ep: Endpoint): Buffer {
  const addr = parseAddress(ep.address);
  if (addr === undefined) throw new Error(`not an IP address: ${ep.address}`);
  const port = Buffer.alloc(2);
  port.writeUInt16BE(ep.port, 0);
  return createHash('sha1').update(spiI).update(spiR).update(addr).update(port).digest();
}

/**
 * From the received notifies, who is behind a NAT: `local` when the peer's DESTINATION hash does not
 * match our address as we know it, `remote` when none of its SOURCE hashes match where the packet came from.
 * Undefined when the peer sent no NAT detection notifies.
 */
export function detectNat(
  spiI: Uint8Array,
  spiR: Uint8Array,
  sourceHashes: readonly Uint8Array[],
  destinationHash: Uint8Array | undefined,
  local: Endpoint,
  remote: Endpoint,
): { local: boolean; remote: boolean } | undefined {
  if (sourceHashes.length === 0 || destinationHash === undefined) return undefined;
  const localOk = Buffer.compare(Buffer.from(destinationHash), natHash(spiI, spiR, local)) === 0;
  const src = natHash(spiI, spiR, remote);
  const remoteOk = sourceHashes.some((h) => Buffer.compare(Buffer.from(h), src) === 0);
  return { local: !localOk, remote: !remoteOk };
}
