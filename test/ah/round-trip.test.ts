/**
 * Round trips for every integrity algorithm x mode x outer IP version (x inner IP version in tunnel mode)
 * x ESN: what comes out of open is byte for byte what went into seal. With ESN the sender starts just below
 * 2^32 so the stream crosses into the next 32-bit epoch (window 32, so a fresh receiver still places the
 * first number in epoch 0, RFC 4303 A2.2).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HOP4A, HOP4B, HOP6A, HOP6B, REF_ALGOS, ipv6OptionsHeader, pattern, udpDatagram } from './reference.js';
import { PROTO_UDP, ipv4Udp, ipv6Udp } from './packets.js';
import { openCopy, saPair, sealOk } from './sa-helpers.js';

const TWO_32 = 0x1_0000_0000;

function packet4(n: number): Buffer {
  const payload = udpDatagram(pattern(n, n));
  const options = n % 2 === 0 ? Buffer.from([0x94, 0x04, 0x00, 0x00]) : Buffer.alloc(0);
  return ipv4Udp(payload, { tos: n & 0xff, id: n, flagsFragment: n % 3 === 0 ? 0x4000 : 0, options });
}

function packet6(n: number): Buffer {
  const payload = udpDatagram(pattern(n, n + 1));
  const ext = n % 2 === 0 ? ipv6OptionsHeader(PROTO_UDP, [{ type: 0x3e, data: pattern(3, n) }]) : Buffer.alloc(0);
  return ipv6Udp(payload, { trafficClass: n & 0xff, flowLabel: n * 99, extensions: ext });
}

const SIZES = [0, 1, 7, 64, 513, 1400];

/** Where AH starts in a sealed packet built from packet4/packet6 (test layout knowledge). */
function ahOffset(sealed: Buffer, tunnel: boolean): number {
  if (sealed[0]! >> 4 === 4) return tunnel ? 20 : (sealed[0]! & 0x0f) * 4;
  if (tunnel || sealed[6] === 51) return 40;
  return 40 + (sealed[41]! + 1) * 8;
}

for (const algo of REF_ALGOS) {
  for (const esn of [false, true]) {
    const count = esn ? 70 : 8;
    const initialSeq = esn ? TWO_32 - 50 : 1;
    const cases: { name: string; mode: 'tunnel' | 'transport'; outer?: 4 | 6; inner: 4 | 6 }[] = [
      { name: 'transport IPv4', mode: 'transport', inner: 4 },
      { name: 'transport IPv6', mode: 'transport', inner: 6 },
      { name: 'tunnel IPv4 in IPv4', mode: 'tunnel', outer: 4, inner: 4 },
      { name: 'tunnel IPv6 in IPv4', mode: 'tunnel', outer: 4, inner: 6 },
      { name: 'tunnel IPv4 in IPv6', mode: 'tunnel', outer: 6, inner: 4 },
      { name: 'tunnel IPv6 in IPv6', mode: 'tunnel', outer: 6, inner: 6 },
    ];
    for (const c of cases) {
      test(`AH round trip ${algo.name}${esn ? ' ESN' : ''} ${c.name}`, () => {
        const tunnel =
          c.outer === 6 ? { src: HOP6A, dst: HOP6B } : c.outer === 4 ? { src: HOP4A, dst: HOP4B } : undefined;
        const { out, inb } = saPair(algo, {
          mode: c.mode,
          esn,
          initialSeq,
          replayWindow: 32,
          ...(tunnel !== undefined ? { tunnel } : {}),
        });
        const ivs = new Set<string>();
        let bytes = 0;
        for (let i = 0; i < count; i++) {
          const size = SIZES[i % SIZES.length]! + i;
          const orig = c.inner === 4 ? packet4(size) : packet6(size);
          const sealed = sealOk(out, orig);
          assert.equal(sealed[0]! >> 4, c.outer ?? c.inner);
          if (algo.ivLength > 0) {
            const ahOff = ahOffset(sealed, c.mode === 'tunnel');
            assert.equal(sealed[ahOff + 1], (12 + 8 + 16 + (sealed[0]! >> 4 === 6 ? 4 : 0)) / 4 - 2);
            ivs.add(sealed.subarray(ahOff + 12, ahOff + 20).toString('hex'));
          }
          const r = openCopy(inb, sealed);
          assert.equal(r.r, 'ok', `packet ${i}`);
          assert.deepEqual(r.bytes, orig, `packet ${i}`);
          bytes += c.mode === 'tunnel' ? orig.length : orig.length - (c.inner === 4 ? 20 : 40);
        }
        assert.equal(out.lastSeq, initialSeq + count - 1);
        assert.equal(inb.window.highest, initialSeq + count - 1);
        assert.equal(inb.counters.packets, count);
        assert.equal(out.counters.packets, count);
        if (c.mode === 'tunnel') {
          assert.equal(inb.counters.bytes, bytes);
          assert.equal(out.counters.bytes, bytes);
        }
        if (algo.ivLength > 0) assert.equal(ivs.size, count, 'GMAC IVs are unique');
      });
    }
  }
}
