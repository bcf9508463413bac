import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalAddress, familyOf, formatAddress, writeAddress } from '../../src/io/ip-address.js';
import { classifyNatTDatagram } from '../../src/io/non-esp-marker.js';
import { DatagramKind } from '../../src/io/types.js';

test('IPv4 text <-> bytes', () => {
  const out = new Uint8Array(4);
  assert.equal(writeAddress('192.0.2.254', 4, out, 0), true);
  assert.deepEqual([...out], [192, 0, 2, 254]);
  assert.equal(formatAddress(Uint8Array.from([203, 0, 113, 7]), 0, 4), '203.0.113.7');
  for (const bad of ['192.0.2', '192.0.2.256', '192.0.2.01', '1.2.3.4.5', '', 'a.b.c.d']) {
    assert.equal(writeAddress(bad, 4, out, 0), false, bad);
  }
});

test('IPv6 parsing and RFC 5952 formatting', () => {
  const bytes = new Uint8Array(16);
  assert.equal(writeAddress('2001:db8::1', 6, bytes, 0), true);
  assert.deepEqual([...bytes], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  // RFC 5952 4.1 (no leading zeros), 4.2.1 (longest run), 4.2.2 (not a single group), 4.2.3 (first run), 4.3.
  assert.equal(canonicalAddress('2001:0db8:0000:0000:0000:0000:0000:0001', 6), '2001:db8::1');
  assert.equal(canonicalAddress('2001:db8:0:1:1:1:1:1', 6), '2001:db8:0:1:1:1:1:1');
  assert.equal(canonicalAddress('2001:0:0:1:0:0:0:1', 6), '2001:0:0:1::1');
  assert.equal(canonicalAddress('2001:db8:0:0:1:0:0:1', 6), '2001:db8::1:0:0:1');
  assert.equal(canonicalAddress('2001:DB8::AB', 6), '2001:db8::ab');
  assert.equal(canonicalAddress('::', 6), '::');
  assert.equal(canonicalAddress('::ffff:192.0.2.1', 6), '::ffff:c000:201');
  for (const bad of ['2001:db8:::1', '1:2:3:4:5:6:7:8:9', '2001:db8::1::2', 'g::1', '12345::', '1:2:3:4:5:6:7']) {
    assert.equal(canonicalAddress(bad, 6), undefined, bad);
  }
  assert.equal(familyOf('198.51.100.3'), 4);
  assert.equal(familyOf('2001:db8::3'), 6);
  assert.equal(familyOf('example.org'), undefined);
});

test('NAT-T demultiplexing by the non-ESP marker (RFC 3948 2.2, 2.3)', () => {
  const k = (bytes: number[]): number => classifyNatTDatagram(Uint8Array.from(bytes), 0, bytes.length);
  assert.equal(k([0xff]), DatagramKind.KEEPALIVE);
  assert.equal(k([0x00]), DatagramKind.INVALID);
  assert.equal(k([0, 0, 0, 0, 0x11]), DatagramKind.IKE);
  assert.equal(k([0, 0, 0, 0]), DatagramKind.INVALID);
  assert.equal(k([0, 0, 0, 1, 0, 0, 0, 1]), DatagramKind.ESP);
  assert.equal(k([0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1, 0xaa]), DatagramKind.ESP);
  assert.equal(k([0x12, 0x34, 0x56]), DatagramKind.INVALID);
  assert.equal(k([0x12, 0x34, 0x56, 0x78, 0, 0, 0]), DatagramKind.INVALID);
  // An offset into a larger buffer is honoured.
  const buf = Uint8Array.from([9, 9, 0, 0, 0, 0, 0x21, 0x22]);
  assert.equal(classifyNatTDatagram(buf, 2, 6), DatagramKind.IKE);
  assert.equal(classifyNatTDatagram(buf, 0, 8), DatagramKind.ESP);
});
