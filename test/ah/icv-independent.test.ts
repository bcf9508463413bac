/**
 * No published AH packet vectors exist, so every sealed packet here is compared byte for byte with one the
 * test lays out itself: the expected ICV is computed with node:crypto directly (reference.ts) over a copy of
 * the packet built with the RFC 4302 3.3.3 rules applied by hand (mutable fields written as zero, mutable
 * IPv4 options and mutable IPv6 option data as zeros, the routed destination as the final one, the whole
 * ICV field zero, ESN high bits appended). Any byte of layout, lengths, checksum, header order or ICV input
 * that differs fails the comparison.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DST4,
  DST6,
  HOP4A,
  HOP4B,
  HOP6A,
  HOP6B,
  REF_ALGOS,
  SRC4,
  SRC6,
  ahBytes,
  be32,
  be64,
  ipv4Header,
  ipv6Header,
  ipv6OptionsHeader,
  pattern,
  routingType0,
  udpDatagram,
} from './reference.js';
import type { Ipv6Option, RefAlgo } from './reference.js';
import { ipv4Udp, ipv6Udp } from './packets.js';
import { SPI, saPair, sealOk, openCopy } from './sa-helpers.js';
import type { AhInboundSa } from '../../src/ah/index.js';

const TWO_32 = 0x1_0000_0000;
const PROTO_AH = 51;
const PROTO_UDP = 17;

/** Sequence number of the packet under test: past 2^32 with ESN so the high bits are non-zero. */
function seqFor(esn: boolean): number {
  return esn ? 3 * TWO_32 + 5 : 7;
}

function ahLen(algo: RefAlgo, v: 4 | 6): number {
  const raw = 12 + algo.ivLength + algo.icvLength;
  const a = v === 6 ? 8 : 4;
  return Math.ceil(raw / a) * a;
}

/** The AH ICV field as sent: IV (GMAC: the 64-bit sequence number), ICV, zero padding. */
function icvField(algo: RefAlgo, len: number, seq: number, icv: Buffer): Buffer {
  const iv = algo.ivLength > 0 ? be64(seq) : Buffer.alloc(0);
  return Buffer.concat([iv, icv, Buffer.alloc(len - 12 - iv.length - icv.length)]);
}

/** ICV over the hand-zeroed packet (zeroed headers || AH with zero ICV field || rest || ESN high bits). */
function expectedIcv(
  algo: RefAlgo,
  key: Buffer,
  zeroedHead: Buffer,
  ah0: Buffer,
  rest: Buffer,
  seq: number,
  esn: boolean,
) {
  const hi = esn ? be32(Math.floor(seq / TWO_32)) : Buffer.alloc(0);
  const iv = algo.ivLength > 0 ? be64(seq) : Buffer.alloc(0);
  return algo.mac(key, Buffer.concat([zeroedHead, ah0, rest, hi]), iv);
}

/**
 * Open on a fresh receiver: without ESN the packet comes back as it was; with ESN the receiver infers high
 * bits 0 for a first packet (RFC 4303 A2), while the sender used 3, so the ICV must fail: proof that the
 * high bits are in the ICV.
 */
function checkOpen(inb: AhInboundSa, sealed: Buffer, original: Buffer, esn: boolean): void {
  const { r, bytes } = openCopy(inb, sealed);
  if (esn) {
    assert.equal(r, 'icv');
    return;
  }
  assert.equal(r, 'ok');
  assert.deepEqual(bytes, original);
}

// IPv4 options: Router Alert (immutable), Time Stamp (mutable), Security (immutable), End of Option List.
const ROUTER_ALERT = Buffer.from([0x94, 0x04, 0x00, 0x00]);
const TIMESTAMP = Buffer.concat([Buffer.from([0x44, 0x0c, 0x05, 0x00]), pattern(8, 2)]);
const SECURITY = Buffer.concat([Buffer.from([0x82, 0x0b]), pattern(9, 3)]);
const EOOL = Buffer.from([0x00]);
const V4_OPTIONS = Buffer.concat([ROUTER_ALERT, TIMESTAMP, SECURITY, EOOL]);
const V4_OPTIONS_ZEROED = Buffer.concat([ROUTER_ALERT, Buffer.alloc(TIMESTAMP.length), SECURITY, EOOL]);

for (const algo of REF_ALGOS) {
  for (const esn of [false, true]) {
    const tag = `${algo.name}${esn ? ' ESN' : ''}`;

    test(`AH ${tag}: IPv4 transport with options matches the hand-built packet and ICV`, () => {
      const seq = seqFor(esn);
      const { out, inb, key } = saPair(algo, { mode: 'transport', esn, initialSeq: seq });
      const payload = udpDatagram(pattern(37, 5));
      const base = { id: 0x04d2, src: SRC4, dst: DST4, options: V4_OPTIONS };
      const hl = 20 + V4_OPTIONS.length;
      const orig = Buffer.concat([
        ipv4Header({
          ...base,
          tos: 0xb9,
          totalLength: hl + payload.length,
          flagsFragment: 0x4000,
          ttl: 61,
          protocol: PROTO_UDP,
        }),
        payload,
      ]);
      const sealed = sealOk(out, orig);

      const len = ahLen(algo, 4);
      const total = hl + len + payload.length;
      const zeroedHead = ipv4Header({
        ...base,
        options: V4_OPTIONS_ZEROED,
        tos: 0,
        totalLength: total,
        flagsFragment: 0,
        ttl: 0,
        protocol: PROTO_AH,
        checksum: 0,
      });
      const ah0 = ahBytes(PROTO_UDP, SPI, seq, Buffer.alloc(len - 12));
      const icv = expectedIcv(algo, key, zeroedHead, ah0, payload, seq, esn);
      const expected = Buffer.concat([
        ipv4Header({ ...base, tos: 0xb9, totalLength: total, flagsFragment: 0x4000, ttl: 61, protocol: PROTO_AH }),
        ahBytes(PROTO_UDP, SPI, seq, icvField(algo, len, seq, icv)),
        payload,
      ]);
      assert.equal(sealed.toString('hex'), expected.toString('hex'));

      checkOpen(inb, sealed, orig, esn);
    });

    test(`AH ${tag}: IPv4 transport with a loose source route uses the final destination`, () => {
      const seq = seqFor(esn);
      const { out, key } = saPair(algo, { mode: 'transport', esn, initialSeq: seq });
      const payload = udpDatagram(pattern(20, 6));
      // LSRR, pointer 4 (nothing visited yet): HOP4B then DST4; the packet goes to HOP4A first.
      const lsrr = Buffer.concat([Buffer.from([0x83, 0x0b, 0x04]), HOP4B, DST4, Buffer.from([0x01])]);
      const hl = 20 + lsrr.length;
      const base = { id: 7, src: SRC4, options: lsrr, protocol: PROTO_UDP };
      const orig = Buffer.concat([
        ipv4Header({ ...base, dst: HOP4A, tos: 0, totalLength: hl + payload.length, flagsFragment: 0, ttl: 64 }),
        payload,
      ]);
      const sealed = sealOk(out, orig);
      const len = ahLen(algo, 4);
      const total = hl + len + payload.length;
      const zeroedHead = ipv4Header({
        ...base,
        dst: DST4,
        options: Buffer.concat([Buffer.alloc(11), Buffer.from([0x01])]),
        tos: 0,
        totalLength: total,
        flagsFragment: 0,
        ttl: 0,
        protocol: PROTO_AH,
        checksum: 0,
      });
      const icv = expectedIcv(
        algo,
        key,
        zeroedHead,
        ahBytes(PROTO_UDP, SPI, seq, Buffer.alloc(len - 12)),
        payload,
        seq,
        esn,
      );
      const expected = Buffer.concat([
        ipv4Header({ ...base, dst: HOP4A, tos: 0, totalLength: total, flagsFragment: 0, ttl: 64, protocol: PROTO_AH }),
        ahBytes(PROTO_UDP, SPI, seq, icvField(algo, len, seq, icv)),
        payload,
      ]);
      assert.equal(sealed.toString('hex'), expected.toString('hex'));
    });

    test(`AH ${tag}: IPv6 transport with hop-by-hop, destination options and a type 0 routing header`, () => {
      const seq = seqFor(esn);
      const { out, inb, key } = saPair(algo, { mode: 'transport', esn, initialSeq: seq });
      const payload = udpDatagram(pattern(29, 7));
      // 0x05 Router Alert (immutable), 0x3e and 0x3f have the "may change en route" bit 0x20.
      const hbhOpts: Ipv6Option[] = [
        { type: 0x05, data: Buffer.from([0, 0]) },
        { type: 0x3e, data: pattern(6, 8) },
      ];
      const dst1Opts: Ipv6Option[] = [
        { type: 0x1e, data: pattern(3, 9) },
        { type: 0x3f, data: pattern(5, 10) },
      ];
      const dst2Opts: Ipv6Option[] = [{ type: 0x3e, data: pattern(4, 11) }];
      const hbh = ipv6OptionsHeader(60, hbhOpts);
      const dst1 = ipv6OptionsHeader(43, dst1Opts);
      const dst2 = ipv6OptionsHeader(PROTO_UDP, dst2Opts);
      const rest = Buffer.concat([dst2, payload]);
      const before = hbh.length + dst1.length + 8 + 32;
      const v6base = { src: SRC6, nextHeader: 0 };
      const orig = Buffer.concat([
        ipv6Header({
          ...v6base,
          dst: HOP6A,
          trafficClass: 0xb8,
          flowLabel: 0x12345,
          hopLimit: 64,
          payloadLength: before + rest.length,
        }),
        hbh,
        dst1,
        routingType0(60, 2, [HOP6B, DST6]),
        rest,
      ]);
      const sealed = sealOk(out, orig);

      const len = ahLen(algo, 6);
      const payloadLength = before + len + rest.length;
      // At the final destination: destination DST6, addresses HOP6A, HOP6B, segments left 0.
      const zeroedHead = Buffer.concat([
        ipv6Header({ ...v6base, dst: DST6, trafficClass: 0, flowLabel: 0, hopLimit: 0, payloadLength }),
        ipv6OptionsHeader(60, hbhOpts, true),
        ipv6OptionsHeader(43, dst1Opts, true),
        routingType0(PROTO_AH, 0, [HOP6A, HOP6B]),
      ]);
      const icv = expectedIcv(algo, key, zeroedHead, ahBytes(60, SPI, seq, Buffer.alloc(len - 12)), rest, seq, esn);
      const expected = Buffer.concat([
        ipv6Header({ ...v6base, dst: HOP6A, trafficClass: 0xb8, flowLabel: 0x12345, hopLimit: 64, payloadLength }),
        hbh,
        dst1,
        routingType0(PROTO_AH, 2, [HOP6B, DST6]),
        ahBytes(60, SPI, seq, icvField(algo, len, seq, icv)),
        rest,
      ]);
      assert.equal(sealed.toString('hex'), expected.toString('hex'));
      // The prediction is the same wherever it is made: the packet as sent verifies too (and after routing:
      // mutable-fields.test.ts).
      checkOpen(inb, sealed, orig, esn);
    });

    test(`AH ${tag}: IPv6 transport puts AH between hop-by-hop and end-to-end destination options`, () => {
      const seq = seqFor(esn);
      const { out, inb, key } = saPair(algo, { mode: 'transport', esn, initialSeq: seq });
      const payload = udpDatagram(pattern(50, 12));
      const hbhOpts: Ipv6Option[] = [{ type: 0x3e, data: pattern(4, 13) }];
      const hbh = ipv6OptionsHeader(60, hbhOpts);
      const rest = Buffer.concat([ipv6OptionsHeader(PROTO_UDP, [{ type: 0x3e, data: pattern(2, 14) }]), payload]);
      const base = { src: SRC6, dst: DST6, nextHeader: 0 };
      const orig = Buffer.concat([
        ipv6Header({
          ...base,
          trafficClass: 0x0a,
          flowLabel: 0xfffff,
          hopLimit: 3,
          payloadLength: hbh.length + rest.length,
        }),
        hbh,
        rest,
      ]);
      const sealed = sealOk(out, orig);
      const len = ahLen(algo, 6);
      const payloadLength = hbh.length + len + rest.length;
      const zeroedHead = Buffer.concat([
        ipv6Header({ ...base, trafficClass: 0, flowLabel: 0, hopLimit: 0, payloadLength }),
        ipv6OptionsHeader(PROTO_AH, hbhOpts, true),
      ]);
      const icv = expectedIcv(algo, key, zeroedHead, ahBytes(60, SPI, seq, Buffer.alloc(len - 12)), rest, seq, esn);
      const expected = Buffer.concat([
        ipv6Header({ ...base, trafficClass: 0x0a, flowLabel: 0xfffff, hopLimit: 3, payloadLength }),
        ipv6OptionsHeader(PROTO_AH, hbhOpts),
        ahBytes(60, SPI, seq, icvField(algo, len, seq, icv)),
        rest,
      ]);
      assert.equal(sealed.toString('hex'), expected.toString('hex'));
      checkOpen(inb, sealed, orig, esn);
    });

    test(`AH ${tag}: tunnel mode IPv4 in IPv4 and IPv6 in IPv6 outer headers`, () => {
      const seq = seqFor(esn);
      // IPv4 outer, IPv4 inner with DSCP/ECN 0x2e<<2|1 and DF: copied to the outer header.
      {
        const { out, inb, key } = saPair(algo, {
          mode: 'tunnel',
          esn,
          initialSeq: seq,
          tunnel: { src: HOP4A, dst: HOP4B },
        });
        const payload = udpDatagram(pattern(33, 15));
        const inner = ipv4Udp(payload, { tos: 0xb9, id: 99, flagsFragment: 0x4000, ttl: 17 });
        const sealed = sealOk(out, inner);
        const len = ahLen(algo, 4);
        const total = 20 + len + inner.length;
        const outer = {
          totalLength: total,
          id: 0,
          protocol: PROTO_AH,
          src: HOP4A,
          dst: HOP4B,
          options: Buffer.alloc(0),
        };
        const zeroed = ipv4Header({ ...outer, tos: 0, flagsFragment: 0, ttl: 0, checksum: 0 });
        const icv = expectedIcv(algo, key, zeroed, ahBytes(4, SPI, seq, Buffer.alloc(len - 12)), inner, seq, esn);
        const expected = Buffer.concat([
          ipv4Header({ ...outer, tos: 0xb9, flagsFragment: 0x4000, ttl: 64 }),
          ahBytes(4, SPI, seq, icvField(algo, len, seq, icv)),
          inner,
        ]);
        assert.equal(sealed.toString('hex'), expected.toString('hex'));
        checkOpen(inb, sealed, inner, esn);
      }
      // IPv6 outer, IPv6 inner with traffic class 0x5a: copied; flow label 0 and hop limit 64 outside.
      {
        const { out, inb, key } = saPair(algo, {
          mode: 'tunnel',
          esn,
          initialSeq: seq,
          tunnel: { src: HOP6A, dst: HOP6B },
        });
        const payload = udpDatagram(pattern(41, 16));
        const inner = ipv6Udp(payload, { trafficClass: 0x5a, flowLabel: 0xabcde, hopLimit: 9 });
        const sealed = sealOk(out, inner);
        const len = ahLen(algo, 6);
        const outer = { payloadLength: len + inner.length, nextHeader: PROTO_AH, src: HOP6A, dst: HOP6B, flowLabel: 0 };
        const zeroed = ipv6Header({ ...outer, trafficClass: 0, hopLimit: 0 });
        const icv = expectedIcv(algo, key, zeroed, ahBytes(41, SPI, seq, Buffer.alloc(len - 12)), inner, seq, esn);
        const expected = Buffer.concat([
          ipv6Header({ ...outer, trafficClass: 0x5a, hopLimit: 64 }),
          ahBytes(41, SPI, seq, icvField(algo, len, seq, icv)),
          inner,
        ]);
        assert.equal(sealed.toString('hex'), expected.toString('hex'));
        checkOpen(inb, sealed, inner, esn);
      }
    });
  }
}
