/** IPv4/IPv6 helpers: checksums (RFC 1071, RFC 791), header parsing, the IPv6 extension-header walk, outer headers. */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex, loadVectors } from '../helpers/vectors.js';
import {
  IpProto,
  formatIpAddress,
  ipv4ChecksumValid,
  ipv4HeaderChecksum,
  ipv4HeaderLength,
  ipVersion,
  newIpInfo,
  newIpv6Walk,
  onesComplementSum,
  parseIpHeader,
  transportChecksum,
  walkIpv6Headers,
  writeOuterIp,
} from '../../src/common/ip.js';

test("RFC 1071 4.1 example: the one's complement sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2", () => {
  assert.equal(onesComplementSum(hex('0001f203f4f5f6f7'), 0, 8), 0xddf2);
  // Odd length: the last byte is padded with zero on the right.
  assert.equal(onesComplementSum(hex('0001f203f4f5f6'), 0, 7), (0x0001 + 0xf203 + 0xf4f5 + 0xf600) % 0xffff);
});

test('IPv4 header checksum of the RFC 3602 case 5 headers (published, independently verified)', () => {
  const v = loadVectors<{ esp_cases: { original_ip_header?: string; esp_ip_header?: string }[] }>('rfc3602.json');
  const c = v.esp_cases[0];
  assert.ok(c?.original_ip_header && c.esp_ip_header);
  for (const h of [hex(c.original_ip_header), hex(c.esp_ip_header)]) {
    assert.ok(ipv4ChecksumValid(h, 0, 20));
    const stored = h.readUInt16BE(10);
    h.writeUInt16BE(0, 10);
    assert.equal(ipv4HeaderChecksum(h, 0, 20), stored);
    h[8] = (h[8] ?? 0) - 1; // TTL changed: the old checksum no longer fits
    h.writeUInt16BE(stored, 10);
    assert.equal(ipv4ChecksumValid(h, 0, 20), false);
  }
});

test('parseIpHeader: IPv4 and IPv6 fields, and refusal of truncated or inconsistent headers', () => {
  const v4 = hex('4500005408f200004001ed4fc0000203c0000264');
  const pkt = Buffer.concat([v4, Buffer.alloc(64)]);
  const info = newIpInfo();
  assert.ok(parseIpHeader(pkt, 0, pkt.length, info));
  assert.deepEqual([info.version, info.headerLength, info.totalLength, info.protocol], [4, 20, 84, IpProto.ICMP]);
  assert.equal(formatIpAddress(pkt, info.srcOffset, 4), '192.0.2.3');
  assert.equal(formatIpAddress(pkt, info.dstOffset, 4), '192.0.2.100');
  assert.equal(parseIpHeader(pkt, 0, pkt.length - 1, info), false, 'total length beyond the buffer');
  assert.equal(parseIpHeader(pkt, 0, 19, info), false);
  const badIhl = Buffer.from(pkt);
  badIhl[0] = 0x44;
  assert.equal(ipv4HeaderLength(badIhl, 0), -1);
  assert.equal(parseIpHeader(badIhl, 0, badIhl.length, info), false);
  assert.equal(ipVersion(Buffer.alloc(0), 0), -1);

  const v6 = Buffer.alloc(48);
  v6[0] = 0x60;
  v6.writeUInt16BE(8, 4);
  v6[6] = IpProto.UDP;
  v6.set(hex('20010db8000000000000000000000001'), 8);
  v6.set(hex('20010db800000000000000000000ff02'), 24);
  assert.ok(parseIpHeader(v6, 0, v6.length, info));
  assert.deepEqual([info.version, info.headerLength, info.totalLength, info.protocol], [6, 40, 48, 17]);
  assert.equal(formatIpAddress(v6, info.srcOffset, 16), '2001:db8::1');
  assert.equal(formatIpAddress(v6, info.dstOffset, 16), '2001:db8::ff02');
  assert.equal(parseIpHeader(v6, 0, 47, info), false);
});

/** IPv6 header with the given chain of extension headers (type, length in bytes), then `upper`. */
function ipv6With(exts: [number, number][], upper: number): Buffer {
  const extLen = exts.reduce((n, [, l]) => n + l, 0);
  const b = Buffer.alloc(40 + extLen + 8);
  b[0] = 0x60;
  b.writeUInt16BE(extLen + 8, 4);
  b[6] = exts[0]?.[0] ?? upper;
  let p = 40;
  exts.forEach(([type, len], i) => {
    b[p] = exts[i + 1]?.[0] ?? upper;
    if (type !== IpProto.IPV6_FRAG) b[p + 1] = len / 8 - 1;
    p += len;
  });
  return b;
}

test('IPv6 extension-header walk: where ESP/AH go in transport mode (RFC 4303 3.1.1, RFC 8200 4.1)', () => {
  const w = newIpv6Walk();
  // No extension headers.
  let b = ipv6With([], IpProto.TCP);
  assert.ok(walkIpv6Headers(b, 0, b.length, w));
  assert.deepEqual([w.insertOffset, w.nextHeaderFieldOffset, w.nextHeader, w.upperProtocol], [40, 6, 6, 6]);
  // Hop-by-hop (8) then routing (24) then fragment (8) then destination options (16): ESP goes before the last.
  b = ipv6With(
    [
      [IpProto.HOPOPT, 8],
      [IpProto.IPV6_ROUTE, 24],
      [IpProto.IPV6_FRAG, 8],
      [IpProto.IPV6_OPTS, 16],
    ],
    IpProto.UDP,
  );
  assert.ok(walkIpv6Headers(b, 0, b.length, w));
  assert.equal(w.insertOffset, 40 + 8 + 24 + 8);
  assert.equal(w.nextHeaderFieldOffset, 40 + 8 + 24); // the fragment header's next header byte
  assert.equal(w.nextHeader, IpProto.IPV6_OPTS);
  assert.equal(w.upperProtocol, IpProto.UDP);
  assert.equal(w.upperOffset, 40 + 8 + 24 + 8 + 16);
  assert.equal(w.upperNextHeaderFieldOffset, 40 + 8 + 24 + 8);
  assert.equal(w.fragment, true);
  // Destination options before a routing header stay in front of ESP.
  b = ipv6With(
    [
      [IpProto.IPV6_OPTS, 8],
      [IpProto.IPV6_ROUTE, 8],
    ],
    IpProto.ICMPV6,
  );
  assert.ok(walkIpv6Headers(b, 0, b.length, w));
  assert.deepEqual([w.insertOffset, w.nextHeader, w.fragment], [56, IpProto.ICMPV6, false]);
  // Truncated chain.
  assert.equal(walkIpv6Headers(b, 0, 50, w), false);
  const huge = ipv6With([[IpProto.HOPOPT, 8]], IpProto.UDP);
  huge[41] = 200; // claims 1608 bytes
  assert.equal(walkIpv6Headers(huge, 0, huge.length, w), false);
});

test('transport checksum: a UDP datagram with its checksum sums to ffff over pseudo-header and segment', () => {
  for (const v6 of [false, true]) {
    const al = v6 ? 16 : 4;
    const b = Buffer.alloc(2 * al + 8 + 13);
    b.set(v6 ? hex('20010db8000000000000000000000001') : hex('c0000201'), 0);
    b.set(v6 ? hex('20010db8000000000000000000000002') : hex('c6336402'), al);
    const u = 2 * al;
    b.writeUInt16BE(4500, u);
    b.writeUInt16BE(4500, u + 2);
    b.writeUInt16BE(21, u + 4);
    b.write('hello, world!', u + 8);
    const c = transportChecksum(b, 0, al, al, IpProto.UDP, u, 21);
    b.writeUInt16BE(c, u + 6);
    let sum = onesComplementSum(b, 0, 2 * al);
    sum = onesComplementSum(b, u, 21, sum + IpProto.UDP + 21);
    assert.equal(sum, 0xffff);
  }
});

test('writeOuterIp builds valid IPv4 and IPv6 headers', () => {
  const b = Buffer.alloc(100);
  const n4 = writeOuterIp(b, 10, 90, { src: hex('c0000201'), dst: hex('cb007101'), protocol: 50, tos: 0xb8, ttl: 7 });
  assert.equal(n4, 20);
  assert.ok(ipv4ChecksumValid(b, 10, 20));
  const info = newIpInfo();
  assert.ok(parseIpHeader(b, 10, 100, info));
  assert.deepEqual([info.totalLength, info.protocol, b[11], b[18]], [90, 50, 0xb8, 7]);
  assert.equal(formatIpAddress(b, 26, 4), '203.0.113.1');
  const c = Buffer.alloc(100);
  const n6 = writeOuterIp(c, 0, 100, {
    src: hex('20010db8000000000000000000000001'),
    dst: hex('20010db8000000000000000000000002'),
    protocol: 17,
    tos: 0x28,
    flowLabel: 0xabcde,
  });
  assert.equal(n6, 40);
  assert.equal(c.readUInt32BE(0), (6 << 28) | (0x28 << 20) | 0xabcde);
  assert.ok(parseIpHeader(c, 0, 100, info));
  assert.deepEqual([info.version, info.totalLength, info.protocol], [6, 100, 17]);
});

test('onesComplementSum: the word-at-a-time path sums what byte pairs sum, at every alignment and length', () => {
  const reference = (b: Uint8Array, off: number, len: number, initial: number): number => {
    let sum = initial;
    for (let i = 0; i < len; i += 2) sum += (b[off + i]! << 8) | (i + 1 < len ? b[off + i + 1]! : 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    return sum;
  };
  let seed = 11;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 8) % n;
  const backing = Buffer.alloc(70_000);
  for (let i = 0; i < backing.length; i++) backing[i] = rnd(256);
  // All-ones words are the worst case for carries.
  backing.fill(0xff, 1000, 66_000);
  for (let k = 0; k < 400; k++) {
    const shift = rnd(8);
    const view = backing.subarray(shift);
    const off = rnd(4000);
    const len = k < 8 ? 65_000 : rnd(3000);
    const initial = rnd(0x20000);
    assert.equal(
      onesComplementSum(view, off, len, initial),
      reference(view, off, len, initial),
      `shift ${shift} off ${off} len ${len}`,
    );
  }
});
