/**
 * ESP seal/open throughput per packet at 64, 512 and 1400 bytes of inner IPv4 packet (tunnel mode), for
 * AES-GCM-128, AES-GCM-256, ChaCha20-Poly1305 and AES-CBC-128 + HMAC-SHA2-256-128, next to the cost of one
 * bare node:crypto createCipheriv (+ update + final) per packet of the same size and algorithm.
 *
 * Each seal copies the inner packet into a pooled buffer at the headroom (as a TUN read would) and seals in
 * place; each open copies a sealed packet into the buffer (as a socket read would) and opens it in place.
 * The receiving SA runs with the replay window off so the same sealed packets can be opened repeatedly.
 * Prints figures only; nothing is asserted. Run: node dist/bench/esp.js
 */

import { createCipheriv, createSecretKey, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { EncrId, IntegId, configureCryptoBackend, nodeRng } from '../src/crypto/index.js';
import { EspInboundSa, EspOutboundSa, createEspTransform } from '../src/esp/index.js';
import type { EspKeys } from '../src/esp/index.js';
import { PACKET_HEADROOM, PacketPool } from '../src/common/packet-buffer.js';
import { setIpv4HeaderChecksum, writeU16 } from '../src/common/ip.js';

const SIZES = [64, 512, 1400];
const MEASURE_MS = Number(process.env['BENCH_MS'] ?? 200);
const SEALED_SET = 256;

interface Algo {
  name: string;
  keys: EspKeys;
  /** node:crypto name and key/iv lengths for the bare per-packet baseline. */
  bare: { cipher: string; key: number; iv: number; aead: boolean };
}

const ALGOS: Algo[] = [
  {
    name: 'aes128gcm16',
    keys: { encrId: EncrId.ENCR_AES_GCM_16, encKey: randomBytes(20), integId: IntegId.NONE, integKey: Buffer.alloc(0) },
    bare: { cipher: 'aes-128-gcm', key: 16, iv: 12, aead: true },
  },
  {
    name: 'aes256gcm16',
    keys: { encrId: EncrId.ENCR_AES_GCM_16, encKey: randomBytes(36), integId: IntegId.NONE, integKey: Buffer.alloc(0) },
    bare: { cipher: 'aes-256-gcm', key: 32, iv: 12, aead: true },
  },
  {
    name: 'chacha20poly1305',
    keys: {
      encrId: EncrId.ENCR_CHACHA20_POLY1305,
      encKey: randomBytes(36),
      integId: IntegId.NONE,
      integKey: Buffer.alloc(0),
    },
    bare: { cipher: 'chacha20-poly1305', key: 32, iv: 12, aead: true },
  },
  {
    name: 'aes128-sha256',
    keys: {
      encrId: EncrId.ENCR_AES_CBC,
      encKey: randomBytes(16),
      integId: IntegId.AUTH_HMAC_SHA2_256_128,
      integKey: randomBytes(32),
    },
    bare: { cipher: 'aes-128-cbc', key: 16, iv: 16, aead: false },
  },
];

/** An IPv4/UDP packet of `size` bytes, 192.0.2.1 -> 198.51.100.2. */
function innerPacket(size: number): Buffer {
  const b = Buffer.alloc(size);
  b[0] = 0x45;
  writeU16(b, 2, size);
  b[8] = 64;
  b[9] = 17;
  b.set([192, 0, 2, 1], 12);
  b.set([198, 51, 100, 2], 16);
  writeU16(b, 24, size - 20);
  setIpv4HeaderChecksum(b, 0, 20);
  return b;
}

/**
 * Run `fn` in batches for MEASURE_MS of wall time; returns CPU nanoseconds (user + system of this process)
 * per call, so other load on a shared machine inflates the figures less than wall time would.
 */
function measure(fn: () => void): number {
  for (let i = 0; i < 3000; i++) fn(); // warm up
  let n = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  while (performance.now() - t0 < MEASURE_MS) {
    for (let i = 0; i < 256; i++) fn();
    n += 256;
  }
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / n;
}

/** One bare createCipheriv + update + final (+ tag) of `data`. */
function bareOnce(algo: Algo, key: Buffer | KeyObject, iv: Buffer, data: Buffer): void {
  if (algo.bare.aead) {
    const c = createCipheriv(algo.bare.cipher as 'aes-128-gcm', key, iv, { authTagLength: 16 });
    c.update(data);
    c.final();
    c.getAuthTag();
  } else {
    const c = createCipheriv(algo.bare.cipher, key, iv).setAutoPadding(false);
    c.update(data);
    c.final();
  }
}

function row(cells: (string | number)[], widths: number[]): string {
  return cells.map((c, i) => String(c).padStart(widths[i] ?? 10)).join(' ');
}

const widths = [18, 6, 11, 9, 8, 11, 9, 8, 8, 10];
console.log(
  `ESP tunnel mode, inner IPv4, CPU time per packet on one core, ~${MEASURE_MS} ms per figure (node ${process.version})`,
);
console.log(
  row(
    [
      'transform',
      'bytes',
      'seal pkt/s',
      'seal Gb/s',
      'seal us',
      'open pkt/s',
      'open Gb/s',
      'open us',
      'bare us',
      'bare+KO us',
    ],
    widths,
  ),
);
const pool = new PacketPool(SEALED_SET + 1, 2048);
const work = pool.acquire();
if (work === undefined) throw new Error('pool empty');
const backends: string[] = [];
try {
  configureCryptoBackend('openssl');
  backends.push('openssl');
} catch {
  // OpenSSL through koffi unavailable here: node:crypto only.
}
backends.push('node');
const bareDone = new Map<string, [number, number]>();
for (const backend of backends) {
  const chain = configureCryptoBackend(backend);
  console.log(`-- crypto backend chain: ${chain.join(' -> ')}`);
  for (const algo of ALGOS) {
    for (const size of SIZES) {
      const rng = nodeRng;
      const out = new EspOutboundSa({
        spi: 0x1001,
        mode: 'tunnel',
        esn: true,
        transform: createEspTransform(algo.keys),
        rng,
      });
      const inb = new EspInboundSa({
        spi: 0x1001,
        mode: 'tunnel',
        esn: true,
        replayWindow: 0,
        transform: createEspTransform(algo.keys),
      });
      const inner = innerPacket(size);
      const sealNs = measure(() => {
        inner.copy(work.buf, PACKET_HEADROOM);
        work.off = PACKET_HEADROOM;
        work.len = size;
        if (out.seal(work) !== 'ok') throw new Error('seal failed');
      });
      // A set of distinct sealed packets to open.
      const sealed: Buffer[] = [];
      for (let i = 0; i < SEALED_SET; i++) {
        inner.copy(work.buf, PACKET_HEADROOM);
        work.off = PACKET_HEADROOM;
        work.len = size;
        out.seal(work);
        sealed.push(Buffer.from(work.buf.subarray(work.off, work.off + work.len)));
      }
      let k = 0;
      const openNs = measure(() => {
        const s = sealed[k++ & (SEALED_SET - 1)] ?? sealed[0];
        if (s === undefined) return;
        s.copy(work.buf, PACKET_HEADROOM);
        work.off = PACKET_HEADROOM;
        work.len = s.length;
        if (inb.open(work) !== 'ok') throw new Error('open failed');
      });
      const key = randomBytes(algo.bare.key);
      const iv = randomBytes(algo.bare.iv);
      const data = Buffer.alloc(algo.bare.aead ? size : Math.ceil(size / 16) * 16);
      const bareKey = `${algo.name}/${size}`;
      let bare = bareDone.get(bareKey);
      if (bare === undefined) {
        const keyObject = createSecretKey(key);
        bare = [measure(() => bareOnce(algo, key, iv, data)), measure(() => bareOnce(algo, keyObject, iv, data))];
        bareDone.set(bareKey, bare);
      }
      const [bareNs, bareKeyObjectNs] = bare;
      const gbps = (ns: number): string => ((size * 8) / ns).toFixed(2);
      const pps = (ns: number): string => Math.round(1e9 / ns).toLocaleString('en-US');
      console.log(
        row(
          [
            algo.name,
            size,
            pps(sealNs),
            gbps(sealNs),
            (sealNs / 1000).toFixed(2),
            pps(openNs),
            gbps(openNs),
            (openNs / 1000).toFixed(2),
            (bareNs / 1000).toFixed(2),
            (bareKeyObjectNs / 1000).toFixed(2),
          ],
          widths,
        ),
      );
    }
  }
}
console.log('Gb/s counts inner packet bytes. bare = one createCipheriv + update + final of the same size, Buffer key;');
console.log(
  'bare+KO = the same with a KeyObject made once (as the node:crypto transforms do). Open runs with the replay window off.',
);
