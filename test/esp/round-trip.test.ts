/**
 * Round trips through EspOutboundSa.seal and EspInboundSa.open for every transform x mode x IP version x
 * ESN (x output form and ESP-in-UDP), checking the produced headers against the RFCs independently of the
 * engine: SPI and sequence number in place, 4-byte alignment (RFC 4303 2.4), outer header fields.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncrId, IntegId, configureCryptoBackend, createTestRng } from '../../src/crypto/index.js';
import type { EspTransform } from '../../src/esp/index.js';
import { EspInboundSa, EspOutboundSa, locateEsp, newEspLocation } from '../../src/esp/index.js';
import { IpProto, ipv4ChecksumValid, readU16, readU32, transportChecksum } from '../../src/common/ip.js';
import { bytesOf, ipv4Udp, ipv6Udp, packetFrom, saPair, transformOf, V4_A, V4_B, V6_A, V6_B } from './helpers.js';

interface TransformCase {
  name: string;
  make: () => EspTransform;
  ivLength: number;
  icvLength: number;
  block: number;
}

const INTEGS = [
  { id: IntegId.AUTH_HMAC_SHA2_256_128, key: 32, icv: 16, name: 'sha256' },
  { id: IntegId.AUTH_HMAC_SHA2_384_192, key: 48, icv: 24, name: 'sha384' },
  { id: IntegId.AUTH_HMAC_SHA2_512_256, key: 64, icv: 32, name: 'sha512' },
  { id: IntegId.AUTH_HMAC_SHA1_96, key: 20, icv: 12, name: 'sha1' },
  { id: IntegId.AUTH_AES_XCBC_96, key: 16, icv: 12, name: 'aesxcbc' },
  { id: IntegId.AUTH_AES_CMAC_96, key: 16, icv: 12, name: 'aescmac' },
];

const TRANSFORMS: TransformCase[] = [];
function aead(name: string, encrId: number, keymat: number, icv: number): void {
  TRANSFORMS.push({ name, make: transformOf(encrId, keymat, IntegId.NONE, 0), ivLength: 8, icvLength: icv, block: 4 });
}
for (const bits of [128, 192, 256]) {
  aead(`aes${bits}gcm16`, EncrId.ENCR_AES_GCM_16, bits / 8 + 4, 16);
  aead(`aes${bits}gcm12`, EncrId.ENCR_AES_GCM_12, bits / 8 + 4, 12);
  aead(`aes${bits}gcm8`, EncrId.ENCR_AES_GCM_8, bits / 8 + 4, 8);
  aead(`aes${bits}gmac`, EncrId.ENCR_NULL_AUTH_AES_GMAC, bits / 8 + 4, 16);
  aead(`aes${bits}ccm16`, EncrId.ENCR_AES_CCM_16, bits / 8 + 3, 16);
  aead(`aes${bits}ccm12`, EncrId.ENCR_AES_CCM_12, bits / 8 + 3, 12);
  aead(`aes${bits}ccm8`, EncrId.ENCR_AES_CCM_8, bits / 8 + 3, 8);
}
aead('chacha20poly1305', EncrId.ENCR_CHACHA20_POLY1305, 36, 16);
for (const integ of INTEGS) {
  for (const bits of [128, 192, 256]) {
    TRANSFORMS.push({
      name: `aes${bits}-${integ.name}`,
      make: transformOf(EncrId.ENCR_AES_CBC, bits / 8, integ.id, integ.key),
      ivLength: 16,
      icvLength: integ.icv,
      block: 16,
    });
    TRANSFORMS.push({
      name: `aes${bits}ctr-${integ.name}`,
      make: transformOf(EncrId.ENCR_AES_CTR, bits / 8 + 4, integ.id, integ.key),
      ivLength: 8,
      icvLength: integ.icv,
      block: 4,
    });
  }
  TRANSFORMS.push({
    name: `null-${integ.name}`,
    make: transformOf(EncrId.ENCR_NULL, 0, integ.id, integ.key),
    ivLength: 0,
    icvLength: integ.icv,
    block: 4,
  });
}

const SHAPES = [
  { name: 'tunnel/ipv4', mode: 'tunnel' as const, make: (n: number) => ipv4Udp(n) },
  { name: 'tunnel/ipv6', mode: 'tunnel' as const, make: (n: number) => ipv6Udp(n) },
  { name: 'transport/ipv4', mode: 'transport' as const, make: (n: number) => ipv4Udp(n) },
  { name: 'transport/ipv6', mode: 'transport' as const, make: (n: number) => ipv6Udp(n) },
  { name: 'transport/ipv6+ext', mode: 'transport' as const, make: (n: number) => ipv6Udp(n, 3, true) },
];

test('every transform x mode x IP version x ESN x output form round-trips', () => {
  let trips = 0;
  for (const t of TRANSFORMS) {
    for (const shape of SHAPES) {
      for (const esn of [false, true]) {
        for (const output of ['esp', 'ip'] as const) {
          const v6 = shape.name.includes('ipv6');
          const tunnel = v6 ? { src: V6_A, dst: V6_B } : { src: V4_A, dst: V4_B };
          const spi = 0x1000 + trips;
          const { out, inb } = saPair(t.make, { spi, mode: shape.mode, esn, output, tunnel, replayWindow: 64 });
          for (const size of [0, 1, 61, 1400]) {
            const original = shape.make(size);
            const pkt = packetFrom(original);
            assert.equal(out.seal(pkt), 'ok', `${t.name} ${shape.name} seal`);
            const wire = bytesOf(pkt);
            // Where is the ESP header? Checked against the IP header fields, not the engine's bookkeeping.
            let espOff = 0;
            if (output === 'ip') {
              const loc = newEspLocation();
              assert.ok(locateEsp(wire, 0, wire.length, loc), `${t.name} ${shape.name} locate`);
              espOff = loc.espOff;
              if (!v6) assert.ok(ipv4ChecksumValid(wire, 0, 20));
              if (!v6) assert.equal(readU16(wire, 2), wire.length);
              else assert.equal(readU16(wire, 4), wire.length - 40);
              if (shape.mode === 'tunnel') {
                assert.deepEqual(wire.subarray(v6 ? 8 : 12, v6 ? 24 : 16), tunnel.src);
                assert.equal(wire[v6 ? 6 : 9], IpProto.ESP);
              }
            }
            assert.equal(readU32(wire, espOff), spi);
            assert.equal(BigInt(readU32(wire, espOff + 4)), out.nextSequenceNumber - 1n);
            const encrypted = wire.length - espOff - 8 - t.ivLength - t.icvLength;
            assert.equal(encrypted % t.block, 0, `${t.name} alignment`);
            assert.ok(encrypted >= 2);
            const rx = packetFrom(wire);
            assert.equal(inb.open(rx, rx.off + espOff), 'ok', `${t.name} ${shape.name} esn=${esn} ${output} open`);
            const got = bytesOf(rx);
            if (shape.mode === 'tunnel' || output === 'ip') {
              assert.deepEqual(got, original, `${t.name} ${shape.name} ${output} result`);
            } else {
              // Transport mode from a bare ESP packet gives the protected payload and its protocol.
              const hdr = shape.name.endsWith('ext') ? 48 : v6 ? 40 : 20;
              assert.deepEqual(got, original.subarray(hdr));
              assert.equal(inb.lastNextHeader, shape.name.endsWith('ext') ? 60 : IpProto.UDP);
            }
            trips++;
          }
          assert.equal(inb.counters.packets, 4);
          assert.equal(out.counters.packets, 4);
        }
      }
    }
  }
  assert.equal(trips, TRANSFORMS.length * SHAPES.length * 2 * 2 * 4);
});

test('ESP-in-UDP (RFC 3948): outer UDP to port 4500, zero checksum over IPv4, valid checksum over IPv6', () => {
  const t = TRANSFORMS[0];
  assert.ok(t);
  for (const v6 of [false, true]) {
    for (const mode of ['tunnel', 'transport'] as const) {
      const tunnel = v6 ? { src: V6_A, dst: V6_B } : { src: V4_A, dst: V4_B };
      const encapsulation = { srcPort: 4500, dstPort: 4500 };
      const { out, inb } = saPair(t.make, { mode, esn: false, output: 'ip', tunnel, encapsulation });
      const original = v6 ? ipv6Udp(100) : ipv4Udp(100);
      const pkt = packetFrom(original);
      assert.equal(out.seal(pkt), 'ok');
      const wire = bytesOf(pkt);
      const hl = v6 ? 40 : 20;
      assert.equal(wire[v6 ? 6 : 9], IpProto.UDP);
      assert.equal(readU16(wire, hl + 2), 4500);
      assert.equal(readU16(wire, hl + 4), wire.length - hl);
      const sum = readU16(wire, hl + 6);
      if (v6) {
        const copy = Buffer.from(wire);
        copy.writeUInt16BE(0, hl + 6);
        assert.equal(sum, transportChecksum(copy, 8, 24, 16, IpProto.UDP, hl, wire.length - hl));
      } else {
        assert.equal(sum, 0);
      }
      const loc = newEspLocation();
      assert.ok(locateEsp(wire, 0, wire.length, loc));
      assert.equal(loc.udp, true);
      assert.equal(loc.espOff, hl + 8);
      const rx = packetFrom(wire);
      assert.equal(inb.open(rx, rx.off + loc.espOff), 'ok');
      assert.deepEqual(bytesOf(rx), original);
    }
  }
});

test('TFC padding (RFC 4303 2.7) hides the inner length and is removed on open', () => {
  const t = TRANSFORMS[0];
  assert.ok(t);
  const { out, inb } = saPair(t.make, { mode: 'tunnel', esn: false, tfcPadding: 300 });
  const lengths = new Set<number>();
  for (const n of [0, 10, 100, 200]) {
    const original = ipv4Udp(n);
    const pkt = packetFrom(original);
    assert.equal(out.seal(pkt), 'ok');
    lengths.add(pkt.len);
    assert.equal(inb.open(pkt), 'ok');
    assert.deepEqual(bytesOf(pkt), original);
  }
  assert.equal(lengths.size, 1, 'all sealed packets have the same length');
});

test('dummy packets (next header 59) are authenticated, dropped and counted', () => {
  const t = TRANSFORMS[0];
  assert.ok(t);
  const { out, inb } = saPair(t.make, { mode: 'tunnel', esn: true });
  const pkt = packetFrom(Buffer.alloc(0));
  assert.equal(out.sealDummy(pkt, 40), 'ok');
  const tampered = packetFrom(bytesOf(pkt));
  tampered.buf[tampered.off + 20] = (tampered.buf[tampered.off + 20] ?? 0) ^ 1;
  assert.equal(inb.open(tampered), 'icv');
  assert.equal(inb.open(pkt), 'dummy');
  assert.equal(inb.lastNextHeader, 59);
  assert.equal(inb.counters.drops.dummy, 1);
  assert.equal(inb.counters.drops.icv, 1);
  assert.equal(inb.counters.packets, 0);
});

test('sequence numbers: no wrap without ESN (seqExhausted, rekey due), ESN carries into the high half', () => {
  const t = TRANSFORMS[0];
  assert.ok(t);
  const plain = saPair(t.make, { mode: 'tunnel', esn: false, initialSeq: 0xfffffffe, softSeqLimit: 0xfffffff0 });
  assert.equal(plain.out.rekeyDue, true);
  for (let i = 0; i < 2; i++) assert.equal(plain.out.seal(packetFrom(ipv4Udp(10))), 'ok');
  assert.equal(plain.out.exhausted, true);
  assert.equal(plain.out.seal(packetFrom(ipv4Udp(10))), 'seqExhausted');
  assert.equal(plain.out.counters.drops.seqExhausted, 1);

  const fresh = saPair(t.make, { mode: 'tunnel', esn: false });
  assert.equal(fresh.out.rekeyDue, false);

  const esn = saPair(t.make, { mode: 'tunnel', esn: true, initialSeq: 0xfffffffe, replayWindow: 32 });
  // The receiver's window starts just below, as if it had seen the packets before.
  const rx = saPair(t.make, { mode: 'tunnel', esn: true, initialSeq: 0xfffffffd, replayWindow: 32 }).inb;
  for (let i = 0; i < 4; i++) {
    const pkt = packetFrom(ipv4Udp(20, i));
    assert.equal(esn.out.seal(pkt), 'ok');
    assert.equal(readU32(pkt.buf, pkt.off + 4), (0xfffffffe + i) % 2 ** 32);
    assert.equal(rx.open(pkt), 'ok');
    assert.equal(rx.lastSeqHigh, i < 2 ? 0 : 1);
  }
  assert.equal(esn.out.exhausted, false);
});

test('a replayed packet is dropped after the first copy, and open never moves the window on a bad ICV', () => {
  const t = TRANSFORMS[0];
  assert.ok(t);
  const { out, inb } = saPair(t.make, { mode: 'tunnel', esn: false, replayWindow: 32 });
  const pkt = packetFrom(ipv4Udp(50));
  assert.equal(out.seal(pkt), 'ok');
  const wire = bytesOf(pkt);
  const forged = Buffer.from(wire);
  forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 0x80;
  assert.equal(inb.open(packetFrom(forged)), 'icv');
  assert.equal(inb.replay.highest, 0);
  assert.equal(inb.open(packetFrom(wire)), 'ok');
  assert.equal(inb.open(packetFrom(wire)), 'replay');
  assert.deepEqual([inb.counters.drops.icv, inb.counters.drops.replay, inb.counters.packets], [1, 1, 1]);
});

test('ENCR_NULL without integrity is refused; 3DES-CBC opens but does not seal', () => {
  assert.throws(() => transformOf(EncrId.ENCR_NULL, 0, IntegId.NONE, 0)(), RangeError);
  const des3 = transformOf(EncrId.ENCR_3DES, 24, IntegId.AUTH_HMAC_SHA1_96, 20);
  assert.throws(
    () => new EspOutboundSa({ spi: 0x300, mode: 'tunnel', esn: false, transform: des3(), rng: createTestRng('3des') }),
    /decryption only/,
  );
  assert.ok(new EspInboundSa({ spi: 0x300, mode: 'tunnel', esn: false, transform: des3() }));
});

test('interoperation across crypto backends: sealed on the default chain, opened on node:crypto, and back', () => {
  let n = 0;
  for (const t of TRANSFORMS) {
    for (const [a, b] of [
      ['auto', 'node'],
      ['node', 'auto'],
    ] as const) {
      configureCryptoBackend(a);
      const out = new EspOutboundSa({
        spi: 0x77,
        mode: 'tunnel',
        esn: true,
        transform: t.make(),
        rng: createTestRng('x'),
      });
      configureCryptoBackend(b);
      const inb = new EspInboundSa({ spi: 0x77, mode: 'tunnel', esn: true, transform: t.make() });
      for (const original of [ipv4Udp(200), ipv6Udp(1000)]) {
        const pkt = packetFrom(original);
        assert.equal(out.seal(pkt), 'ok');
        assert.equal(inb.open(pkt), 'ok', `${t.name} ${a} -> ${b}`);
        assert.deepEqual(bytesOf(pkt), original);
        n++;
      }
    }
  }
  configureCryptoBackend('auto');
  assert.equal(n, TRANSFORMS.length * 4);
});
