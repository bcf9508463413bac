/** SA construction and packet plumbing shared by the AH tests. */

import { createIntegrity } from '../../src/crypto/index.js';
import { AhInboundSa, AhOutboundSa } from '../../src/ah/index.js';
import type { AhMode, AhTunnelEndpoints } from '../../src/ah/index.js';
import { packetFrom, packetBytes } from '../../src/common/packet-buffer.js';
import type { PacketBuffer } from '../../src/common/packet-buffer.js';
import { testKey } from './reference.js';
import type { RefAlgo } from './reference.js';

export const SPI = 0x0a0b0c0d;

export interface PairOptions {
  mode: AhMode;
  esn: boolean;
  tunnel?: AhTunnelEndpoints;
  initialSeq?: number;
  softSeqLimit?: number;
  replayWindow?: number;
  spi?: number;
}

/** An outbound and an inbound SA sharing a key (each with its own transform instance). */
export function saPair(algo: RefAlgo, o: PairOptions): { out: AhOutboundSa; inb: AhInboundSa; key: Buffer } {
  const key = testKey(algo);
  const spi = o.spi ?? SPI;
  const out = new AhOutboundSa({
    spi,
    mode: o.mode,
    integrity: createIntegrity(algo.id, key),
    esn: o.esn,
    ...(o.tunnel !== undefined ? { tunnel: o.tunnel } : {}),
    ...(o.initialSeq !== undefined ? { initialSeq: o.initialSeq } : {}),
    ...(o.softSeqLimit !== undefined ? { softSeqLimit: o.softSeqLimit } : {}),
  });
  const inb = new AhInboundSa({
    spi,
    mode: o.mode,
    integrity: createIntegrity(algo.id, key),
    esn: o.esn,
    replayWindow: o.replayWindow ?? 64,
  });
  return { out, inb, key };
}

/** Seal a copy of `packet`; throws (test failure) unless the result is 'ok'. Returns the sealed bytes. */
export function sealOk(out: AhOutboundSa, packet: Buffer): Buffer {
  const p = packetFrom(packet);
  const r = out.seal(p);
  if (r !== 'ok') throw new Error(`seal returned ${r}`);
  return Buffer.from(packetBytes(p));
}

/** Open a copy of `packet` with headroom; returns the result and the packet buffer. */
export function openCopy(inb: AhInboundSa, packet: Buffer): { r: string; p: PacketBuffer; bytes: Buffer } {
  const p = packetFrom(packet);
  const r = inb.open(p);
  return { r, p, bytes: Buffer.from(packetBytes(p)) };
}

/** An inbound SA alone (its key is the same testKey as saPair's). */
export function inboundSa(
  algo: RefAlgo,
  o: { mode: AhMode; esn: boolean; replayWindow?: number; spi?: number },
): AhInboundSa {
  return new AhInboundSa({
    spi: o.spi ?? SPI,
    mode: o.mode,
    integrity: createIntegrity(algo.id, testKey(algo)),
    esn: o.esn,
    replayWindow: o.replayWindow ?? 64,
  });
}
