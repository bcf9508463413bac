/**
 * Sequence numbers, ESN and anti-replay for AH (RFC 4302 2.5, 3.3.2, 3.4.3): window checks before the ICV
 * and commits only after it, ESN epochs inferred across 2^32, no wrap without ESN, rekey signalling, and
 * the structural drops (SPI, fragments, mode, headroom).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AhOutboundSa } from '../../src/ah/index.js';
import { createIntegrity } from '../../src/crypto/index.js';
import { packetFrom } from '../../src/common/packet-buffer.js';
import { totalDrops } from '../../src/common/drop.js';
import { DST6, HOP4A, HOP4B, REF_ALGOS, SRC6, ipv6Header, pattern, testKey, udpDatagram } from './reference.js';
import { ipv4Udp } from './packets.js';
import { SPI, inboundSa, openCopy, saPair, sealOk } from './sa-helpers.js';

const TWO_32 = 0x1_0000_0000;
const SHA256 = REF_ALGOS.find((a) => a.name === 'hmac-sha256-128')!;
const GMAC = REF_ALGOS.find((a) => a.name === 'aes128-gmac')!;

function udp4(n: number, flagsFragment = 0): Buffer {
  const payload = udpDatagram(pattern(n, n));
  return ipv4Udp(payload, { id: n, flagsFragment });
}

function sealMany(out: AhOutboundSa, n: number): Buffer[] {
  const r: Buffer[] = [];
  for (let i = 0; i < n; i++) r.push(sealOk(out, udp4(10 + (i % 50))));
  return r;
}

test('duplicates and packets left of the window are replays; reordering inside the window is fine', () => {
  const { out, inb } = saPair(SHA256, { mode: 'transport', esn: false, replayWindow: 32 });
  const pkts = sealMany(out, 100); // seq 1..100 at index seq - 1
  const at = (seq: number): Buffer => pkts[seq - 1]!;
  assert.equal(openCopy(inb, at(50)).r, 'ok');
  assert.equal(openCopy(inb, at(40)).r, 'ok');
  assert.equal(openCopy(inb, at(40)).r, 'replay');
  assert.equal(openCopy(inb, at(18)).r, 'replay'); // 18 + 32 <= 50: left of the window
  assert.equal(openCopy(inb, at(19)).r, 'ok'); // the oldest number still inside
  assert.equal(openCopy(inb, at(50)).r, 'replay');
  assert.equal(openCopy(inb, at(100)).r, 'ok');
  assert.equal(openCopy(inb, at(68)).r, 'replay');
  assert.equal(openCopy(inb, at(69)).r, 'ok');
  assert.equal(inb.counters.drops.replay, 4);
  assert.equal(inb.counters.packets, 5);
  assert.equal(inb.window.highest, 100);
});

test('a packet failing the ICV does not move or mark the window', () => {
  const { out, inb } = saPair(SHA256, { mode: 'transport', esn: false, replayWindow: 32 });
  const pkts = sealMany(out, 100);
  const forged = Buffer.from(pkts[99]!);
  forged[forged.length - 1]! ^= 1;
  assert.equal(openCopy(inb, forged).r, 'icv');
  assert.equal(inb.window.highest, 0);
  assert.equal(openCopy(inb, pkts[59]!).r, 'ok'); // would be left of the window had seq 100 been committed
  const forged60 = Buffer.from(pkts[59]!);
  forged60[forged60.length - 1]! ^= 0x40;
  assert.equal(openCopy(inb, forged60).r, 'replay'); // replay is checked before the ICV
  const forged61 = Buffer.from(pkts[60]!);
  forged61[forged61.length - 1]! ^= 0x40;
  assert.equal(openCopy(inb, forged61).r, 'icv');
  assert.equal(openCopy(inb, pkts[60]!).r, 'ok');
  assert.equal(openCopy(inb, pkts[99]!).r, 'ok');
  assert.deepEqual([inb.counters.drops.icv, inb.counters.drops.replay], [2, 1]);
});

test('window size 0 turns replay protection off', () => {
  const { out, inb } = saPair(SHA256, { mode: 'transport', esn: false, replayWindow: 0 });
  const [p] = sealMany(out, 1);
  assert.equal(openCopy(inb, p!).r, 'ok');
  assert.equal(openCopy(inb, p!).r, 'ok');
});

for (const algo of [SHA256, GMAC]) {
  test(`ESN ${algo.name}: the stream crosses 2^32, late packets of the old epoch are placed right`, () => {
    const start = TWO_32 - 40;
    const { out, inb } = saPair(algo, {
      mode: 'tunnel',
      esn: true,
      initialSeq: start,
      replayWindow: 32,
      tunnel: { src: HOP4A, dst: HOP4B },
    });
    const pkts = sealMany(out, 80); // start .. start + 79 = 2^32 + 39
    const at = (seq: number): Buffer => pkts[seq - start]!;
    for (let s = start; s < TWO_32 - 2; s++) assert.equal(openCopy(inb, at(s)).r, 'ok', `seq ${s}`);
    // Hold back 2^32 - 2 and 2^32 - 1; deliver the new epoch's first packets first.
    for (let s = TWO_32; s < TWO_32 + 6; s++) assert.equal(openCopy(inb, at(s)).r, 'ok', `seq ${s}`);
    assert.equal(inb.window.highest, TWO_32 + 5);
    assert.equal(openCopy(inb, at(TWO_32 - 1)).r, 'ok'); // low 32 bits 0xffffffff: previous epoch
    assert.equal(openCopy(inb, at(TWO_32 - 2)).r, 'ok');
    assert.equal(openCopy(inb, at(TWO_32 - 1)).r, 'replay');
    for (let s = TWO_32 + 6; s < TWO_32 + 40; s++) assert.equal(openCopy(inb, at(s)).r, 'ok', `seq ${s}`);
    assert.equal(inb.window.highest, TWO_32 + 39);
    assert.equal(openCopy(inb, at(TWO_32 + 20)).r, 'replay');
    // Left of the window, low bits 3 read as the next epoch (RFC 4303 A2.2 case A): the ICV then fails.
    assert.equal(openCopy(inb, at(TWO_32 + 3)).r, 'icv');
    // The wire only carries the low 32 bits: seq 2^32 + 3 goes out as 3.
    assert.equal(at(TWO_32 + 3).readUInt32BE(20 + 8), 3);
    assert.equal(inb.counters.packets, 80);
  });
}

test('ESN: the high bits are in the ICV, so a receiver without ESN rejects packets past 2^32', () => {
  const { out } = saPair(SHA256, { mode: 'transport', esn: true, initialSeq: TWO_32 + 1 });
  const noEsn = inboundSa(SHA256, { mode: 'transport', esn: false });
  assert.equal(openCopy(noEsn, sealOk(out, udp4(20))).r, 'icv');
  const { out: low } = saPair(SHA256, { mode: 'transport', esn: true, initialSeq: 1 });
  // In epoch 0 the appended high bits are zero, but they are still appended: a non-ESN receiver fails too.
  assert.equal(openCopy(noEsn, sealOk(low, udp4(20))).r, 'icv');
});

test('without ESN the counter never wraps: seqExhausted after 2^32 - 1, rekeyDue before', () => {
  const { out, inb } = saPair(SHA256, { mode: 'transport', esn: false, initialSeq: TWO_32 - 2, replayWindow: 0 });
  assert.equal(out.rekeyDue, true); // past the default soft limit (90%)
  assert.equal(out.exhausted, false);
  const a = sealOk(out, udp4(10));
  const b = sealOk(out, udp4(11));
  assert.equal(out.lastSeq, TWO_32 - 1);
  assert.equal(out.exhausted, true);
  const p = packetFrom(udp4(12));
  assert.equal(out.seal(p), 'seqExhausted');
  assert.equal(out.seal(packetFrom(udp4(12))), 'seqExhausted');
  assert.equal(out.counters.drops.seqExhausted, 2);
  assert.equal(out.counters.packets, 2);
  assert.equal(openCopy(inb, a).r, 'ok');
  assert.equal(openCopy(inb, b).r, 'ok');
});

test('ESN: the counter stops at 2^53 - 1 (largest exact sequence number)', () => {
  const { out } = saPair(SHA256, { mode: 'transport', esn: true, initialSeq: Number.MAX_SAFE_INTEGER });
  sealOk(out, udp4(10));
  assert.equal(out.seal(packetFrom(udp4(10))), 'seqExhausted');
});

test('rekeyDue turns true once the soft sequence limit has been used', () => {
  const { out } = saPair(SHA256, { mode: 'transport', esn: false, softSeqLimit: 5 });
  for (let i = 0; i < 4; i++) sealOk(out, udp4(10));
  assert.equal(out.rekeyDue, false);
  sealOk(out, udp4(10));
  assert.equal(out.rekeyDue, true);
  assert.equal(out.exhausted, false);
});

test('structural drops: wrong SPI, fragments, wrong mode, truncation, no headroom', () => {
  const { out, inb } = saPair(SHA256, { mode: 'transport', esn: false });
  const sealed = sealOk(out, udp4(30));
  const other = inboundSa(SHA256, { mode: 'transport', esn: false, spi: SPI + 1 });
  assert.equal(openCopy(other, sealed).r, 'noSa');
  // A tunnel SA refuses a transport packet (next header 17 is not an IP packet).
  assert.equal(openCopy(inboundSa(SHA256, { mode: 'tunnel', esn: false }), sealed).r, 'malformed');
  // IPv4 fragments are refused before any crypto (RFC 4302 3.4.1).
  for (const ff of [0x2000, 0x0001]) {
    const frag = Buffer.from(sealed);
    frag.writeUInt16BE(ff, 6);
    assert.equal(openCopy(inb, frag).r, 'malformed');
  }
  // An IPv6 fragment header in front of AH is refused.
  const v6 = Buffer.concat([
    ipv6Header({
      trafficClass: 0,
      flowLabel: 0,
      payloadLength: 8 + 24 + 8,
      nextHeader: 44,
      hopLimit: 9,
      src: SRC6,
      dst: DST6,
    }),
    Buffer.from([51, 0, 0, 0, 0, 0, 0, 1]),
    Buffer.from([17, 4, 0, 0, 0x0a, 0x0b, 0x0c, 0x0d, 0, 0, 0, 1]),
    Buffer.alloc(12),
    udpDatagram(Buffer.alloc(0)),
  ]);
  assert.equal(openCopy(inb, v6).r, 'malformed');
  // Truncated anywhere: short or malformed, never ok.
  for (let n = 0; n < sealed.length; n++) {
    const r = openCopy(inb, sealed.subarray(0, n)).r;
    assert.ok(r === 'short' || r === 'malformed', `${n}: ${r}`);
  }
  // Outbound: fragments and packets whose length field disagrees are not sealed; no headroom is tooBig.
  assert.equal(out.seal(packetFrom(udp4(30, 0x2000))), 'malformed');
  assert.equal(out.seal(packetFrom(udp4(30).subarray(0, 40))), 'malformed');
  assert.equal(out.seal(packetFrom(udp4(30), 10)), 'tooBig');
  assert.equal(out.seal(packetFrom(Buffer.from([0x10, 1, 2, 3]))), 'malformed');
  assert.equal(out.seal({ buf: Buffer.alloc(10), off: 4, len: 7 }), 'malformed');
  assert.equal(out.counters.drops.tooBig, 1);
  assert.equal(out.counters.drops.malformed, 4);
  // A tunnel packet whose AH is the last thing in it carries no inner packet.
  {
    const t = saPair(SHA256, { mode: 'tunnel', esn: false, tunnel: { src: HOP4A, dst: HOP4B } });
    const s = sealOk(t.out, udp4(20));
    const cut = Buffer.from(s.subarray(0, 20 + 28));
    cut.writeUInt16BE(cut.length, 2);
    assert.equal(openCopy(t.inb, cut).r, 'malformed');
  }
  assert.equal(totalDrops(inb.counters.drops), inb.counters.drops.malformed + inb.counters.drops.short);
  assert.ok(inb.counters.drops.malformed >= 3);
  assert.equal(inb.counters.packets, 0);
});

test('tunnel outbound refuses a packet that is not IPv4/IPv6 and configuration errors throw at creation', () => {
  const integrity = createIntegrity(SHA256.id, testKey(SHA256));
  const out = new AhOutboundSa({ spi: SPI, mode: 'tunnel', integrity, esn: false, tunnel: { src: HOP4A, dst: HOP4B } });
  assert.equal(out.seal(packetFrom(Buffer.from([0x20, 0, 0, 0]))), 'malformed');
  assert.throws(() => new AhOutboundSa({ spi: 255, mode: 'transport', integrity, esn: false }), RangeError);
  assert.throws(() => new AhOutboundSa({ spi: SPI, mode: 'tunnel', integrity, esn: false }), RangeError);
  assert.throws(
    () => new AhOutboundSa({ spi: SPI, mode: 'tunnel', integrity, esn: false, tunnel: { src: HOP4A, dst: DST6 } }),
    RangeError,
  );
  assert.throws(
    () => new AhOutboundSa({ spi: SPI, mode: 'transport', integrity, esn: false, initialSeq: TWO_32 }),
    RangeError,
  );
});
