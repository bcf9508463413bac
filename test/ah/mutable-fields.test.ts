/**
 * Which bytes the ICV protects (RFC 4302 3.3.3.1): every immutable byte of a sealed packet is changed in
 * turn and the packet must be dropped; every mutable field (IPv4 TOS, DF/reserved flag, TTL, checksum,
 * mutable option data; IPv6 traffic class, flow label, hop limit, data of options with the 0x20 bit) is
 * changed and the packet must still open. Then packets are carried along a source route, hop by hop, the
 * way routers rewrite them, and must open at the final destination.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DROP_REASONS } from '../../src/common/drop.js';
import {
  DST4,
  DST6,
  HOP4A,
  HOP4B,
  HOP6A,
  HOP6B,
  REF_ALGOS,
  ipv4Checksum,
  ipv6OptionsHeader,
  pattern,
  routingType0,
  udpDatagram,
} from './reference.js';
import type { Ipv6Option, RefAlgo } from './reference.js';
import { ipv4Udp, ipv6Udp } from './packets.js';
import { inboundSa, openCopy, saPair, sealOk } from './sa-helpers.js';

const SHA256 = REF_ALGOS.find((a) => a.name === 'hmac-sha256-128')!;
const PROTO_UDP = 17;

/** Offsets (inside an options header built by ipv6OptionsHeader) of the data of options with the 0x20 bit. */
function mutableDataOffsets(options: readonly Ipv6Option[]): number[] {
  const r: number[] = [];
  let q = 2;
  for (const o of options) {
    if ((o.type & 0x20) !== 0) for (let i = 0; i < o.data.length; i++) r.push(q + 2 + i);
    q += 2 + o.data.length;
  }
  return r;
}

/** Per byte of a sealed packet: the bits a router may change (mask), or null for bytes not asserted on. */
type Masks = (number | null)[];

function flipEveryByte(algo: RefAlgo, sealed: Buffer, masks: Masks, mode: 'tunnel' | 'transport'): void {
  const inb = inboundSa(algo, { mode, esn: false, replayWindow: 0 });
  assert.equal(openCopy(inb, sealed).r, 'ok');
  let icvDrops = 0;
  let mutableOk = 0;
  for (let i = 0; i < sealed.length; i++) {
    const mask = masks[i] ?? 0;
    if (masks[i] === null) continue;
    for (const bits of [0x01, 0x10, 0x80, 0xff]) {
      const m = Buffer.from(sealed);
      m[i]! ^= bits;
      const { r } = openCopy(inb, m);
      if ((bits & ~mask) === 0) {
        assert.equal(r, 'ok', `byte ${i} ^ ${bits.toString(16)} is mutable and must not matter`);
        mutableOk++;
      } else {
        assert.notEqual(r, 'ok', `byte ${i} ^ ${bits.toString(16)} is protected`);
        assert.ok((DROP_REASONS as readonly string[]).includes(r), r);
        if (r === 'icv') icvDrops++;
      }
    }
  }
  assert.ok(mutableOk > 0);
  assert.ok(icvDrops > sealed.length, `${icvDrops} ICV drops`);
}

test('IPv4 transport: immutable bytes are protected, TOS/flags/TTL/checksum/mutable options are not', () => {
  const { out } = saPair(SHA256, { mode: 'transport', esn: false });
  const options = Buffer.concat([
    Buffer.from([0x94, 0x04, 0x00, 0x00]), // Router Alert, immutable
    Buffer.from([0x44, 0x0c, 0x05, 0x00]), // Time Stamp, mutable
    pattern(8, 2),
    Buffer.from([0x07, 0x07, 0x04]), // Record Route, mutable
    pattern(4, 3),
    Buffer.from([0x01]), // NOP
  ]);
  const payload = udpDatagram(pattern(24, 4));
  const orig = ipv4Udp(payload, { tos: 0x28, id: 1, flagsFragment: 0x4000, options });
  const sealed = sealOk(out, orig);
  const masks: Masks = new Array<number | null>(sealed.length).fill(0);
  masks[1] = 0xff; // TOS
  masks[6] = 0xc0; // reserved flag and DF (MF and the offset make it a fragment: dropped as such)
  masks[8] = 0xff; // TTL
  masks[10] = 0xff; // checksum
  masks[11] = 0xff;
  // Time Stamp at 24 and Record Route at 36: their type and length bytes change how options parse.
  masks[24] = null;
  masks[25] = null;
  for (let i = 26; i < 36; i++) masks[i] = 0xff;
  masks[36] = null;
  masks[37] = null;
  for (let i = 38; i < 43; i++) masks[i] = 0xff;
  flipEveryByte(SHA256, sealed, masks, 'transport');
});

test('IPv6 transport: immutable bytes are protected, traffic class/flow label/hop limit/mutable option data are not', () => {
  const { out } = saPair(SHA256, { mode: 'transport', esn: false });
  const hbhOpts: Ipv6Option[] = [
    { type: 0x05, data: Buffer.from([0, 0]) },
    { type: 0x3e, data: pattern(6, 5) },
  ];
  const dstOpts: Ipv6Option[] = [
    { type: 0x1e, data: pattern(3, 6) },
    { type: 0x3f, data: pattern(5, 7) },
  ];
  const hbh = ipv6OptionsHeader(60, hbhOpts);
  const dst1 = ipv6OptionsHeader(43, dstOpts);
  const rt = routingType0(PROTO_UDP, 0, [HOP6A]);
  const payload = udpDatagram(pattern(24, 8));
  const orig = ipv6Udp(payload, {
    trafficClass: 0x28,
    flowLabel: 0x54321,
    extensions: Buffer.concat([hbh, dst1, rt]),
  });
  const sealed = sealOk(out, orig);
  const masks: Masks = new Array<number | null>(sealed.length).fill(0);
  masks[0] = 0x0f;
  masks[1] = 0xff;
  masks[2] = 0xff;
  masks[3] = 0xff;
  masks[7] = 0xff;
  for (const o of mutableDataOffsets(hbhOpts)) masks[40 + o] = 0xff;
  for (const o of mutableDataOffsets(dstOpts)) masks[40 + hbh.length + o] = 0xff;
  flipEveryByte(SHA256, sealed, masks, 'transport');
});

test('tunnel mode: the outer header mutable fields do not matter, the inner packet is protected', () => {
  const payload = udpDatagram(pattern(30, 9));
  const inner4 = ipv4Udp(payload, { id: 5, ttl: 9 });
  // Outer IPv4: TOS, reserved flag/DF, TTL, checksum. Outer IPv6: traffic class, flow label, hop limit.
  const outers: { tunnel: { src: Buffer; dst: Buffer }; mutable: Readonly<Record<number, number>> }[] = [
    { tunnel: { src: HOP4A, dst: HOP4B }, mutable: { 1: 0xff, 6: 0xc0, 8: 0xff, 10: 0xff, 11: 0xff } },
    { tunnel: { src: HOP6A, dst: HOP6B }, mutable: { 0: 0x0f, 1: 0xff, 2: 0xff, 3: 0xff, 7: 0xff } },
  ];
  for (const o of outers) {
    const { out } = saPair(SHA256, { mode: 'tunnel', esn: false, tunnel: o.tunnel });
    const sealed = sealOk(out, inner4);
    const masks: Masks = new Array<number | null>(sealed.length).fill(0);
    for (const [offset, bits] of Object.entries(o.mutable)) masks[Number(offset)] = bits;
    flipEveryByte(SHA256, sealed, masks, 'tunnel');
  }
});

/** RFC 791 3.1: one router processing a loose source route and stamping a time stamp option. */
function routeIpv4(p: Buffer, hl: number, routerAddress: Buffer, stamp: number): void {
  const h = p.subarray(0, hl);
  let q = 20;
  while (q < hl) {
    const type = h[q]!;
    if (type === 0) break;
    if (type === 1) {
      q++;
      continue;
    }
    const len = h[q + 1]!;
    const ptr = h[q + 2]!;
    if (type === 0x83 && ptr <= len) {
      // Next address becomes the destination; this router's address is recorded in its place.
      h.copy(h, 16, q + ptr - 1, q + ptr + 3);
      routerAddress.copy(h, q + ptr - 1);
      h[q + 2] = ptr + 4;
    } else if (type === 0x44 && ptr <= len) {
      h.writeUInt32BE(stamp, q + ptr - 1);
      h[q + 2] = ptr + 4;
    }
    q += len;
  }
  h[8]! -= 1; // TTL
  h[1] = (h[1]! & 0xfc) | 0x03; // congestion experienced
  h.writeUInt16BE(0, 10);
  h.writeUInt16BE(ipv4Checksum(h), 10);
}

/** RFC 2460 4.4: one router processing a type 0 routing header, and changing the mutable fields. */
function routeIpv6(p: Buffer, rtOff: number, hop: number, mutableOffsets: number[]): void {
  const n = p[rtOff + 1]! / 2;
  const left = p[rtOff + 3]!;
  const i = n - left;
  const a = rtOff + 8 + 16 * i;
  const tmp = Buffer.from(p.subarray(24, 40));
  p.copy(p, 24, a, a + 16);
  tmp.copy(p, a);
  p[rtOff + 3] = left - 1;
  p[7]! -= 1;
  p.writeUInt32BE(((6 << 28) | (0x2b << 20) | (0x11111 * hop)) >>> 0, 0);
  for (const o of mutableOffsets) p[o] = (p[o]! + 17 * hop) & 0xff;
}

for (const algo of REF_ALGOS) {
  test(`AH ${algo.name}: IPv4 packet with a loose source route and a time stamp opens after two routers`, () => {
    const { out, inb } = saPair(algo, { mode: 'transport', esn: false });
    const options = Buffer.concat([
      Buffer.from([0x83, 0x0b, 0x04]),
      HOP4B,
      DST4,
      Buffer.from([0x44, 0x0c, 0x05, 0x00]),
      Buffer.alloc(8),
      Buffer.from([0x01]),
    ]);
    const payload = udpDatagram(pattern(21, 10));
    const hl = 20 + options.length;
    const orig = ipv4Udp(payload, { tos: 0x02, id: 77, dst: HOP4A, options });
    const sealed = sealOk(out, orig);
    routeIpv4(sealed, hl, HOP4A, 1000);
    routeIpv4(sealed, hl, HOP4B, 2000);
    assert.deepEqual(sealed.subarray(16, 20), DST4);
    const { r, bytes } = openCopy(inb, sealed);
    assert.equal(r, 'ok');
    // What arrives is the routed header with AH removed: protocol and length restored, checksum valid.
    const header = Buffer.from(sealed.subarray(0, hl));
    header[9] = PROTO_UDP;
    header.writeUInt16BE(hl + payload.length, 2);
    header.writeUInt16BE(0, 10);
    header.writeUInt16BE(ipv4Checksum(header), 10);
    assert.deepEqual(bytes, Buffer.concat([header, payload]));
  });

  test(`AH ${algo.name}: IPv6 packet with a type 0 routing header and mutable options opens after two routers`, () => {
    const { out, inb } = saPair(algo, { mode: 'transport', esn: false });
    const hbhOpts: Ipv6Option[] = [{ type: 0x3e, data: pattern(6, 11) }];
    const hbh = ipv6OptionsHeader(43, hbhOpts);
    const rt = routingType0(PROTO_UDP, 2, [HOP6B, DST6]);
    const payload = udpDatagram(pattern(35, 12));
    const orig = ipv6Udp(payload, { dst: HOP6A, extensions: Buffer.concat([hbh, rt]) });
    const sealed = sealOk(out, orig);
    const rtOff = 40 + hbh.length;
    const mutable = mutableDataOffsets(hbhOpts).map((o) => 40 + o);
    routeIpv6(sealed, rtOff, 1, mutable);
    routeIpv6(sealed, rtOff, 2, mutable);
    assert.deepEqual(sealed.subarray(24, 40), DST6);
    assert.equal(sealed[rtOff + 3], 0);
    const { r, bytes } = openCopy(inb, sealed);
    assert.equal(r, 'ok');
    const len = sealed.length - orig.length;
    const header = Buffer.from(sealed.subarray(0, rtOff + rt.length));
    header[rtOff] = PROTO_UDP;
    header.writeUInt16BE(hbh.length + rt.length + payload.length, 4);
    assert.deepEqual(bytes, Buffer.concat([header, payload]));
    assert.equal(len % 8, 0);
  });
}
