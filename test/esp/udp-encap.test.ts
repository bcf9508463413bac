/** ESP-in-UDP framing (RFC 3948): classification of port-4500 payloads, the non-ESP marker, locating ESP. */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IKE_MARKER_LENGTH,
  classifyUdpPayload,
  frameIkeForNatT,
  ikeFromNatT,
  locateEsp,
  natKeepalive,
  newEspLocation,
  prependNonEspMarker,
} from '../../src/esp/index.js';
import { hex } from '../helpers/vectors.js';
import { ipv4Udp } from './helpers.js';

test('classify: NAT-keepalive 0xFF (RFC 3948 2.3), IKE behind four zero bytes (2.2), ESP (2.1)', () => {
  assert.equal(classifyUdpPayload(natKeepalive(), 0, 1), 'keepalive');
  assert.deepEqual([...natKeepalive()], [0xff]);
  const ike = hex('00000000' + 'c0c1c2c3c4c5c6c7' + '0000000000000000' + '2120220800000000' + '0000001c');
  assert.equal(classifyUdpPayload(ike, 0, ike.length), 'ike');
  const esp = hex('12345678000000014c20452f');
  assert.equal(classifyUdpPayload(esp, 0, esp.length), 'esp');
  assert.equal(classifyUdpPayload(esp, 0, 5), 'invalid', 'shorter than an ESP header');
  assert.equal(classifyUdpPayload(esp, 0, 0), 'invalid');
  assert.equal(classifyUdpPayload(hex('fe'), 0, 1), 'invalid');
  assert.equal(classifyUdpPayload(hex('ff00'), 0, 2), 'invalid');
});

test('non-ESP marker framing round-trips an IKE message', () => {
  const msg = hex('c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d72e20250800000000');
  const framed = frameIkeForNatT(msg);
  assert.deepEqual([...framed.subarray(0, 4)], [0, 0, 0, 0]);
  assert.equal(classifyUdpPayload(framed, 0, framed.length), 'ike');
  assert.deepEqual(Buffer.from(ikeFromNatT(framed)), msg);
  const buf = Buffer.alloc(40, 0xaa);
  msg.copy(buf, 8);
  const start = prependNonEspMarker(buf, 8);
  assert.equal(start, 8 - IKE_MARKER_LENGTH);
  assert.deepEqual(buf.subarray(start, start + framed.length), framed);
  assert.throws(() => prependNonEspMarker(buf, 3), RangeError);
});

test('locateEsp refuses keepalives, IKE, other ports, fragments and truncation', () => {
  const loc = newEspLocation();
  const udp = (payload: Buffer, port = 4500): Buffer => {
    const p = ipv4Udp(payload.length);
    payload.copy(p, 28);
    p.writeUInt16BE(port, 22);
    return p;
  };
  assert.equal(locateEsp(udp(natKeepalive()), 0, 29, loc), false);
  const ike = udp(frameIkeForNatT(Buffer.alloc(28, 1)));
  assert.equal(locateEsp(ike, 0, ike.length, loc), false);
  const esp = udp(hex('1234567800000001aabbccdd'));
  assert.ok(locateEsp(esp, 0, esp.length, loc));
  assert.deepEqual([loc.espOff, loc.spi, loc.udp, loc.end], [28, 0x12345678, true, esp.length]);
  const other = udp(hex('1234567800000001aabbccdd'), 53);
  assert.equal(locateEsp(other, 0, other.length, loc), false);
  const frag = Buffer.from(esp);
  frag.writeUInt16BE(0x2000, 6); // more fragments
  assert.equal(locateEsp(frag, 0, frag.length, loc), false);
  assert.equal(locateEsp(esp, 0, 30, loc), false);
  const plain = Buffer.from(esp);
  plain[9] = 50;
  assert.ok(locateEsp(plain, 0, plain.length, loc));
  assert.deepEqual([loc.espOff, loc.udp], [20, false]);
});
