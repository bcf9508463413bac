/**
 * Hostile input through EspInboundSa.open: well over 100,000 deterministically mutated, truncated and
 * extended packets (seeded PRNG), plus packets that authenticate but carry nonsense (an attacker who holds
 * the keys: bad padding, bad inner headers, bad lengths). `open` must never throw and never return
 * 'internal'; a mutated packet must never be accepted; every outcome is a counted drop reason.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DROP_REASONS, totalDrops } from '../../src/common/drop.js';
import type { DropReason } from '../../src/common/drop.js';
import { EncrId, IntegId, createCipher, createIntegrity } from '../../src/crypto/index.js';
import { EspInboundSa } from '../../src/esp/index.js';
import type { OpenResult } from '../../src/esp/index.js';
import { writeU32 } from '../../src/common/ip.js';
import { packetFrom } from '../../src/common/packet-buffer.js';
import { bytesOf, ipv4Udp, ipv6Udp, saPair, transformOf, V4_A, V4_B, V6_A, V6_B } from './helpers.js';

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASES = [
  { name: 'aes128gcm16', make: transformOf(EncrId.ENCR_AES_GCM_16, 20, IntegId.NONE, 0) },
  { name: 'chacha20poly1305', make: transformOf(EncrId.ENCR_CHACHA20_POLY1305, 36, IntegId.NONE, 0) },
  { name: 'aes128gmac', make: transformOf(EncrId.ENCR_NULL_AUTH_AES_GMAC, 20, IntegId.NONE, 0) },
  { name: 'aes128ccm8', make: transformOf(EncrId.ENCR_AES_CCM_8, 19, IntegId.NONE, 0) },
  { name: 'aes128-sha256', make: transformOf(EncrId.ENCR_AES_CBC, 16, IntegId.AUTH_HMAC_SHA2_256_128, 32) },
  { name: 'aes128ctr-xcbc', make: transformOf(EncrId.ENCR_AES_CTR, 20, IntegId.AUTH_AES_XCBC_96, 16) },
  { name: 'null-sha1', make: transformOf(EncrId.ENCR_NULL, 0, IntegId.AUTH_HMAC_SHA1_96, 20) },
];

const SHAPES = [
  { mode: 'tunnel' as const, output: 'esp' as const, make: () => ipv4Udp(48) },
  { mode: 'tunnel' as const, output: 'ip' as const, make: () => ipv6Udp(300) },
  { mode: 'transport' as const, output: 'ip' as const, make: () => ipv4Udp(17) },
  { mode: 'transport' as const, output: 'ip' as const, make: () => ipv6Udp(64, 2, true) },
];

function tally(counts: Map<string, number>, r: OpenResult): void {
  counts.set(r, (counts.get(r) ?? 0) + 1);
}

test('100,000+ mutated or truncated packets through open give only drop reasons', (t) => {
  const rnd = prng(0x5eed);
  const counts = new Map<string, number>();
  let total = 0;
  for (const base of BASES) {
    for (const shape of SHAPES) {
      for (const esn of [false, true]) {
        const tunnel = shape.make()[0] === 0x45 ? { src: V4_A, dst: V4_B } : { src: V6_A, dst: V6_B };
        const { out, inb } = saPair(base.make, { mode: shape.mode, output: shape.output, esn, tunnel });
        const pkt = packetFrom(shape.make());
        assert.equal(out.seal(pkt), 'ok');
        const wire = bytesOf(pkt);
        // ESP header offset in the sealed datagram: after IPv4 (20), IPv6 (40), or IPv6 + hop-by-hop (48).
        let espOff = 0;
        if (shape.output === 'ip') espOff = wire[0] === 0x45 ? 20 : shape.mode === 'tunnel' ? 40 : 48;
        for (let i = 0; i < 1800; i++) {
          const m = Buffer.from(wire);
          let len = m.length;
          let off = espOff;
          const kind = Math.floor(rnd() * 6);
          if (kind === 0) {
            // One to four flipped bits anywhere.
            // One to four flipped bits in the ESP packet (the outer header is not ESP's to protect).
            const flips = 1 + Math.floor(rnd() * 4);
            for (let f = 0; f < flips; f++) {
              const at = espOff + Math.floor(rnd() * (len - espOff));
              m[at] = (m[at] ?? 0) ^ (1 << Math.floor(rnd() * 8));
            }
            if (m.equals(wire)) m[len - 1] = (m[len - 1] ?? 0) ^ 1; // two flips cancelled out
          } else if (kind === 1) {
            len = Math.floor(rnd() * len); // truncated
          } else if (kind === 2) {
            const at = espOff + Math.floor(rnd() * (len - espOff));
            const n = Math.min(len - at, 1 + Math.floor(rnd() * 16));
            for (let k = 0; k < n; k++) m[at + k] = Math.floor(rnd() * 256); // overwritten range
            if (m.equals(wire)) m[at] = (m[at] ?? 0) ^ 1;
          } else if (kind === 3) {
            off = 1 + Math.floor(rnd() * (len - 1)); // wrong ESP offset
            if (off === espOff) off = 0;
          } else if (kind === 4) {
            const s = espOff + 4 + Math.floor(rnd() * 4);
            m[s] = (m[s] ?? 0) ^ (1 + Math.floor(rnd() * 255)); // sequence number
            if (rnd() < 0.5) m[espOff + 1] = (m[espOff + 1] ?? 0) ^ 0x10; // SPI
          } else {
            // Extended: random bytes appended (a longer ICV position).
            const extra = 1 + Math.floor(rnd() * 40);
            const big = Buffer.alloc(len + extra);
            m.copy(big);
            for (let k = len; k < big.length; k++) big[k] = Math.floor(rnd() * 256);
            const r = inb.open(packetFrom(big), 128 + off);
            tally(counts, r);
            assert.notEqual(r, 'ok', `${base.name} extended packet accepted`);
            total++;
            continue;
          }
          const p = packetFrom(m.subarray(0, len));
          const r = inb.open(p, p.off + off);
          tally(counts, r);
          assert.ok(r !== 'ok' && r !== 'internal', `${base.name} ${shape.mode} kind ${kind}: ${r}`);
          total++;
        }
        assert.equal(inb.counters.packets, 0);
        assert.equal(totalDrops(inb.counters.drops), 1800);
        // The unmodified packet still opens afterwards: no mutation moved the window.
        const ok = packetFrom(wire);
        assert.equal(inb.open(ok, ok.off + espOff), 'ok', `${base.name} ${shape.mode} ${shape.output} original`);
      }
    }
  }
  assert.ok(total >= 100_000, `${total} packets`);
  t.diagnostic(`${total} packets: ${JSON.stringify(Object.fromEntries(counts))}`);
  for (const k of counts.keys()) assert.ok((DROP_REASONS as readonly string[]).includes(k), k);
  for (const r of ['short', 'noSa', 'replay', 'icv', 'malformed'] as DropReason[]) {
    assert.ok((counts.get(r) ?? 0) > 0, `no ${r} drops seen: ${JSON.stringify([...counts])}`);
  }
});

test('authenticated nonsense (the sender holds the keys): bad padding and inner headers are dropped', (t) => {
  const rnd = prng(0xbad);
  const integKey = Buffer.alloc(32, 7);
  const spi = 0x4242;
  const counts = new Map<string, number>();
  let total = 0;
  for (const mode of ['tunnel', 'transport'] as const) {
    const inb = new EspInboundSa({
      spi,
      mode,
      esn: false,
      replayWindow: 0,
      transform: {
        cipher: createCipher(EncrId.ENCR_NULL, Buffer.alloc(0)),
        integrity: createIntegrity(IntegId.AUTH_HMAC_SHA2_256_128, integKey),
      },
    });
    const mac = createIntegrity(IntegId.AUTH_HMAC_SHA2_256_128, integKey);
    for (let i = 0; i < 6000; i++) {
      // Optional IPv4/IPv6 header in front (transport mode), then SPI, seq, body, pad length, next header, ICV.
      const withIp = mode === 'transport' && rnd() < 0.5;
      const hdr = withIp ? (rnd() < 0.5 ? ipv4Udp(0).subarray(0, 20) : ipv6Udp(0).subarray(0, 40)) : Buffer.alloc(0);
      const bodyLen = Math.floor(rnd() * 80);
      const esp = Buffer.alloc(8 + bodyLen + 2 + 16);
      writeU32(esp, 0, spi);
      writeU32(esp, 4, 1 + i);
      for (let k = 8; k < 8 + bodyLen + 2; k++) esp[k] = Math.floor(rnd() * 256);
      if (rnd() < 0.5) esp[8] = rnd() < 0.5 ? 0x45 : 0x60; // something like an IP header
      const nh = [4, 41, 59, 17, 6, 0, 255][Math.floor(rnd() * 7)] ?? 4;
      esp[8 + bodyLen + 1] = nh;
      if (rnd() < 0.5) esp[8 + bodyLen] = Math.floor(rnd() * 8);
      mac.compute([esp.subarray(0, 8 + bodyLen + 2)], esp, 8 + bodyLen + 2);
      if (withIp) {
        if (hdr[0] === 0x45) hdr[9] = 50;
        else hdr[6] = 50;
      }
      const p = packetFrom(Buffer.concat([hdr, esp]));
      const r = inb.open(p, p.off + hdr.length);
      tally(counts, r);
      assert.notEqual(r, 'internal');
      if (r === 'ok') assert.ok(p.len >= 0 && p.off >= 0 && p.off + p.len <= p.buf.length);
      total++;
    }
  }
  assert.equal(total, 12000);
  t.diagnostic(`${total} packets: ${JSON.stringify(Object.fromEntries(counts))}`);
  for (const r of ['padding', 'malformed', 'dummy', 'ok']) {
    assert.ok((counts.get(r) ?? 0) > 0, `no ${r}: ${JSON.stringify([...counts])}`);
  }
});
