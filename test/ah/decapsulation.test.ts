/**
 * Tunnel decapsulation details (RFC 6040 4.2: a CE mark on the outer header reaches an ECN-capable inner
 * header) and the edge cases of the mutable-field preparation called directly: malformed IPv4 options,
 * routing header type 2 (RFC 6275), routing types whose final destination cannot be predicted.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zeroIpv4MutableFields, zeroIpv6MutableFields } from '../../src/ah/mutable-fields.js';
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
  ipv4Checksum,
  ipv4Header,
  ipv6Header,
  pattern,
  udpDatagram,
} from './reference.js';
import { ipv4Udp, ipv6Udp } from './packets.js';
import { openCopy, saPair, sealOk } from './sa-helpers.js';

const SHA256 = REF_ALGOS.find((a) => a.name === 'hmac-sha256-128')!;

function inner4(tos: number): Buffer {
  const payload = udpDatagram(pattern(16, 1));
  return ipv4Udp(payload, { tos, id: 1, ttl: 30 });
}

function inner6(tc: number): Buffer {
  const payload = udpDatagram(pattern(16, 2));
  return ipv6Udp(payload, { trafficClass: tc, flowLabel: 5, hopLimit: 30 });
}

/** Set the ECN field of the outer header of a sealed packet (a router marking congestion). */
function markCe(sealed: Buffer): Buffer {
  const m = Buffer.from(sealed);
  if (m[0]! >> 4 === 4) m[1]! |= 0x03;
  else m[1]! |= 0x03 << 4;
  return m;
}

test('RFC 6040: outer CE is copied to an ECT inner IPv4 header (checksum fixed), not to Not-ECT', () => {
  for (const outer of [
    { src: HOP4A, dst: HOP4B },
    { src: HOP6A, dst: HOP6B },
  ]) {
    const { out, inb } = saPair(SHA256, { mode: 'tunnel', esn: false, tunnel: outer, replayWindow: 0 });
    for (const [tos, want] of [
      [0xb8 | 0x02, 0xb8 | 0x03], // ECT(0) -> CE
      [0xb8 | 0x01, 0xb8 | 0x03], // ECT(1) -> CE
      [0xb8, 0xb8], // Not-ECT stays (RFC 6040 would drop; left to the caller)
      [0xb8 | 0x03, 0xb8 | 0x03], // CE stays CE
    ] as const) {
      const inner = inner4(tos);
      const sealed = sealOk(out, inner);
      // Encapsulation copies DSCP and ECN to the outer header (RFC 4301 5.1.2.1, RFC 6040 normal mode).
      const outerTos = outer.src.length === 4 ? sealed[1]! : (sealed.readUInt16BE(0) >> 4) & 0xff;
      assert.equal(outerTos, tos);
      const { r, bytes } = openCopy(inb, markCe(sealed));
      assert.equal(r, 'ok');
      const expected = Buffer.from(inner);
      expected[1] = want;
      expected.writeUInt16BE(0, 10);
      expected.writeUInt16BE(ipv4Checksum(expected.subarray(0, 20)), 10);
      assert.deepEqual(bytes, expected);
      // Without a mark nothing changes.
      assert.deepEqual(openCopy(inb, sealed).bytes, inner);
    }
  }
});

test('RFC 6040: outer CE is copied to an ECT inner IPv6 header', () => {
  const { out, inb } = saPair(SHA256, {
    mode: 'tunnel',
    esn: false,
    tunnel: { src: HOP4A, dst: HOP4B },
    replayWindow: 0,
  });
  const inner = inner6(0x28 | 0x02);
  const { r, bytes } = openCopy(inb, markCe(sealOk(out, inner)));
  assert.equal(r, 'ok');
  assert.deepEqual(bytes, inner6(0x28 | 0x03));
  const plain = inner6(0x28);
  assert.deepEqual(openCopy(inb, markCe(sealOk(out, plain))).bytes, plain);
});

test('IPv4 options that do not parse make the header unusable for the ICV', () => {
  const base = { tos: 0, totalLength: 40, id: 1, flagsFragment: 0, ttl: 1, protocol: 17, src: SRC4, dst: DST4 };
  const bad = [
    Buffer.from([0x44, 0x01, 0x00, 0x00]), // length below 2
    Buffer.from([0x44, 0x09, 0x05, 0x00]), // runs past the header
    Buffer.from([0x01, 0x01, 0x01, 0x83]), // type with no room for a length
    Buffer.from([0x83, 0x04, 0x04, 0x00]), // source route without an address
  ];
  for (const options of bad) {
    const h = ipv4Header({ ...base, options });
    assert.equal(zeroIpv4MutableFields(h, 0, h.length), false, options.toString('hex'));
  }
  // After End of Option List the rest is left as is, even if it is not zero.
  const h = ipv4Header({ ...base, options: Buffer.from([0x00, 0x44, 0xff, 0x12]) });
  assert.equal(zeroIpv4MutableFields(h, 0, h.length), true);
  assert.equal(h.subarray(20).toString('hex'), '0044ff12');
  // A completed source route (pointer past the length) keeps the destination that is in the header.
  const done = ipv4Header({
    ...base,
    options: Buffer.concat([Buffer.from([0x89, 0x07, 0x08]), HOP4A, Buffer.from([0x01])]),
  });
  assert.equal(zeroIpv4MutableFields(done, 0, done.length), true);
  assert.deepEqual(done.subarray(16, 20), DST4);
  assert.equal(done.subarray(20).toString('hex'), '0000000000000001');
});

test('IPv6 routing headers: type 2 is rearranged like type 0, other types only when no segments are left', () => {
  const ah = Buffer.from([17, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  const v6 = (rt: Buffer): Buffer =>
    Buffer.concat([
      ipv6Header({
        trafficClass: 1,
        flowLabel: 1,
        payloadLength: rt.length + ah.length,
        nextHeader: 43,
        hopLimit: 1,
        src: SRC6,
        dst: HOP6A,
      }),
      rt,
      ah,
    ]);
  // Type 2 (RFC 6275 6.4): one address, the home address; at the destination it is swapped in.
  const t2 = v6(Buffer.concat([Buffer.from([51, 2, 2, 1, 0, 0, 0, 0]), DST6]));
  assert.equal(zeroIpv6MutableFields(t2, 0, 64), true);
  assert.deepEqual(t2.subarray(24, 40), DST6);
  assert.deepEqual(t2.subarray(48, 64), HOP6A);
  assert.equal(t2[43], 0);
  // Type 4 (segment routing) with segments left: not predictable under RFC 4302, refused.
  const t4 = v6(Buffer.concat([Buffer.from([51, 2, 4, 1, 0, 0, 0, 0]), DST6]));
  assert.equal(zeroIpv6MutableFields(t4, 0, 64), false);
  // Any type with no segments left is taken as it is.
  const t4done = v6(Buffer.concat([Buffer.from([51, 2, 4, 0, 0, 0, 0, 0]), HOP6B]));
  assert.equal(zeroIpv6MutableFields(t4done, 0, 64), true);
  assert.deepEqual(t4done.subarray(24, 40), HOP6A);
  // Segments left larger than the address list, and a header chain that does not end at AH.
  assert.equal(zeroIpv6MutableFields(v6(Buffer.concat([Buffer.from([51, 2, 0, 2, 0, 0, 0, 0]), DST6])), 0, 64), false);
  assert.equal(zeroIpv6MutableFields(v6(Buffer.concat([Buffer.from([6, 2, 0, 0, 0, 0, 0, 0]), DST6])), 0, 64), false);
});
