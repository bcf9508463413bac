/** Shared pieces of the ESP tests: SA construction from ids and keys, packet builders, mutation checks. */

import assert from 'node:assert/strict';
import type { IntegrityTransform } from '../../src/crypto/types.js';
import { createTestRng } from '../../src/crypto/index.js';
import { EspInboundSa, EspOutboundSa, createEspTransform } from '../../src/esp/index.js';
import type { EspSaParams, EspTransform } from '../../src/esp/index.js';
import { setIpv4HeaderChecksum, transportChecksum, writeU16 } from '../../src/common/ip.js';
import { packetFrom } from '../../src/common/packet-buffer.js';
import type { PacketBuffer } from '../../src/common/packet-buffer.js';

/**
 * An "integrity algorithm" that accepts every ICV of `icvLength` bytes: only for decrypting published
 * captures whose authentication keys were never published (test/vectors/README.md). Test-only.
 */
export function unverifiedIntegrity(icvLength: number): IntegrityTransform {
  return {
    name: `unverified-${icvLength}`,
    icvLength,
    ivLength: 0,
    compute(_chunks, out, outOff) {
      out.fill(0, outOff, outOff + icvLength);
    },
    verify() {
      return true;
    },
  };
}

export type SaShape = Omit<EspSaParams, 'transform' | 'spi'> & { spi?: number };

/** A matching outbound/inbound pair over the same transform description. */
export function saPair(makeTransform: () => EspTransform, shape: SaShape): { out: EspOutboundSa; inb: EspInboundSa } {
  const spi = shape.spi ?? 0xc0de0001;
  const rng = createTestRng('esp-tests');
  const out = new EspOutboundSa({ ...shape, spi, transform: makeTransform(), rng });
  const inb = new EspInboundSa({ ...shape, spi, transform: makeTransform() });
  return { out, inb };
}

/** Transform factory for ids, with deterministic keys derived from a label. */
export function transformOf(encrId: number, encKeyLength: number, integId: number, integKeyLength: number) {
  const rng = createTestRng(`keys-${encrId}-${encKeyLength}-${integId}`);
  const encKey = rng.bytes(encKeyLength);
  const integKey = rng.bytes(integKeyLength);
  return (): EspTransform => createEspTransform({ encrId, encKey, integId, integKey });
}

// Documentation addresses only (RFC 5737, RFC 3849).
export const V4_A = Buffer.from([192, 0, 2, 1]);
export const V4_B = Buffer.from([198, 51, 100, 2]);
export const V6_A = Buffer.from('20010db8000000000000000000000001', 'hex');
export const V6_B = Buffer.from('20010db8000000000000000000000002', 'hex');

/** An IPv4 UDP datagram with a deterministic payload of `payloadLength` bytes. */
export function ipv4Udp(payloadLength: number, seed = 1): Buffer {
  const total = 20 + 8 + payloadLength;
  const b = Buffer.alloc(total);
  b[0] = 0x45;
  b[1] = 0x10;
  writeU16(b, 2, total);
  writeU16(b, 4, 0x1234);
  b[8] = 64;
  b[9] = 17;
  V4_A.copy(b, 12);
  V4_B.copy(b, 16);
  writeU16(b, 20, 40000);
  writeU16(b, 22, 53);
  writeU16(b, 24, 8 + payloadLength);
  for (let i = 0; i < payloadLength; i++) b[28 + i] = (i * 7 + seed) & 0xff;
  b.writeUInt16BE(transportChecksum(b, 12, 16, 4, 17, 20, 8 + payloadLength), 26);
  setIpv4HeaderChecksum(b, 0, 20);
  return b;
}

/** An IPv6 UDP datagram, optionally with a hop-by-hop header and a destination options header. */
export function ipv6Udp(payloadLength: number, seed = 1, withExtensions = false): Buffer {
  const ext = withExtensions ? 16 : 0;
  const total = 40 + ext + 8 + payloadLength;
  const b = Buffer.alloc(total);
  b.writeUInt32BE((6 << 28) | (0x20 << 20) | 0x12345, 0);
  writeU16(b, 4, total - 40);
  b[6] = withExtensions ? 0 : 17;
  b[7] = 64;
  V6_A.copy(b, 8);
  V6_B.copy(b, 24);
  let p = 40;
  if (withExtensions) {
    // Hop-by-hop (8 bytes, PadN) then destination options (8 bytes, PadN) then UDP.
    b[p] = 60;
    b[p + 1] = 0;
    b[p + 2] = 1;
    b[p + 3] = 4;
    p += 8;
    b[p] = 17;
    b[p + 1] = 0;
    b[p + 2] = 1;
    b[p + 3] = 4;
    p += 8;
  }
  writeU16(b, p, 40000);
  writeU16(b, p + 2, 53);
  writeU16(b, p + 4, 8 + payloadLength);
  for (let i = 0; i < payloadLength; i++) b[p + 8 + i] = (i * 13 + seed) & 0xff;
  b.writeUInt16BE(transportChecksum(b, 8, 24, 16, 17, p, 8 + payloadLength), p + 6);
  return b;
}

export function bytesOf(p: PacketBuffer): Buffer {
  return Buffer.from(p.buf.subarray(p.off, p.off + p.len));
}

export { packetFrom };

/** Copy of `data` with byte `index` changed (xor 0x81: also changes DES keys, whose low bits are parity). */
export function flipByte(data: Buffer, index: number): Buffer {
  const c = Buffer.from(data);
  c[index] = (c[index] ?? 0) ^ 0x81;
  return c;
}

/**
 * Mutation check: `check` passes on the original inputs and throws an AssertionError when any one of the
 * named inputs has one byte changed (first, middle and last byte of each).
 */
export function assertSensitive<T extends Record<string, Buffer>>(inputs: T, check: (v: T) => void): number {
  check(inputs);
  let n = 0;
  for (const key of Object.keys(inputs) as (keyof T & string)[]) {
    const original = inputs[key];
    if (original === undefined || original.length === 0) continue;
    const positions = [...new Set([0, original.length >> 1, original.length - 1])];
    for (const pos of positions) {
      const mutated = { ...inputs, [key]: flipByte(original, pos) };
      assert.throws(() => check(mutated), assert.AssertionError, `changing ${key}[${pos}] went unnoticed`);
      n++;
    }
  }
  return n;
}
