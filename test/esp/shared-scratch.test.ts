/**
 * ESP SAs and the OpenSSL AEADs share their per-packet scratch (AAD, IV, nonce, tag) across SAs. Packets of
 * several SAs sealed and opened interleaved must come out byte for byte as each SA alone produces them: each
 * packet gets its own SA's salt, key, sequence number and ESN high bits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configureCryptoBackend, createTestRng } from '../../src/crypto/index.js';
import { EncrId, IntegId } from '../../src/crypto/ids.js';
import { EspInboundSa, EspOutboundSa, createEspTransform } from '../../src/esp/index.js';
import type { EspTransform } from '../../src/esp/index.js';
import { bytesOf, ipv4Udp, packetFrom } from './helpers.js';

const BACKENDS = ['node', 'auto'];
// [encrId, key bytes (with salt), integId, integrity key bytes]
const ALGORITHMS: [number, number, number, number][] = [
  [EncrId.ENCR_AES_GCM_16, 20, IntegId.NONE, 0],
  [EncrId.ENCR_AES_GCM_8, 36, IntegId.NONE, 0],
  [EncrId.ENCR_CHACHA20_POLY1305, 36, IntegId.NONE, 0],
  [EncrId.ENCR_NULL_AUTH_AES_GMAC, 20, IntegId.NONE, 0],
  [EncrId.ENCR_AES_CBC, 16, IntegId.AUTH_HMAC_SHA2_256_128, 32],
];
const SAS = 4;
const PACKETS = 6;

/** SA `i` of an algorithm: its own keys (and salt), ESN on every other one, its own first sequence number. */
function pair(alg: [number, number, number, number], i: number): { out: EspOutboundSa; inb: EspInboundSa } {
  const [encrId, encLen, integId, integLen] = alg;
  const keys = createTestRng(`scratch-${encrId}-${i}`);
  const encKey = keys.bytes(encLen);
  const integKey = keys.bytes(integLen);
  const transform = (): EspTransform => createEspTransform({ encrId, encKey, integId, integKey });
  const shape = {
    spi: 0x5ca70000 + i,
    mode: 'tunnel' as const,
    esn: i % 2 === 1,
    initialSeq: i % 2 === 1 ? 0x1_ffff_fff0 + i : 1 + i,
  };
  return {
    out: new EspOutboundSa({ ...shape, transform: transform(), rng: createTestRng(`iv-${i}`) }),
    inb: new EspInboundSa({ ...shape, initialSeq: shape.initialSeq - 1, transform: transform() }),
  };
}

const plain = (i: number, k: number): Buffer => ipv4Udp(40 + 13 * k + i, 16 * i + k);

for (const backend of BACKENDS)
  test(`packets of several SAs sealed and opened interleaved equal each SA's alone [${backend}]`, () => {
    configureCryptoBackend(backend);
    try {
      for (const alg of ALGORITHMS) {
        // Each SA alone: its packets one after the other.
        const alone: Buffer[][] = [];
        for (let i = 0; i < SAS; i++) {
          const { out } = pair(alg, i);
          alone.push(
            Array.from({ length: PACKETS }, (_, k) => {
              const pkt = packetFrom(plain(i, k));
              assert.equal(out.seal(pkt), 'ok');
              return bytesOf(pkt);
            }),
          );
        }
        // All SAs in turn, each seal followed by opening another SA's packet.
        const pairs = Array.from({ length: SAS }, (_, i) => pair(alg, i));
        const sealed: Buffer[][] = pairs.map(() => []);
        for (let k = 0; k < PACKETS; k++) {
          for (let i = 0; i < SAS; i++) {
            const pkt = packetFrom(plain(i, k));
            assert.equal(pairs[i]!.out.seal(pkt), 'ok');
            sealed[i]!.push(bytesOf(pkt));
            assert.deepEqual(sealed[i]![k], alone[i]![k], `algorithm ${alg[0]} SA ${i} packet ${k}`);
            const j = (i + 1) % SAS;
            if (k > 0 || j < i) {
              const kj = j < i ? k : k - 1;
              const back = packetFrom(sealed[j]![kj]!);
              assert.equal(pairs[j]!.inb.open(back), 'ok', `algorithm ${alg[0]} SA ${j} packet ${kj} opens`);
              assert.deepEqual(bytesOf(back), plain(j, kj));
            }
          }
        }
      }
    } finally {
      configureCryptoBackend('auto');
    }
  });
