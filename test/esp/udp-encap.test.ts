/** What arrives on the NAT-T port (RFC 3948 2): classification of port-4500 payloads, locating ESP. */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyNatTPayload, NAT_KEEPALIVE_BYTE, NON_ESP_MARKER_LENGTH } from '../../src/common/nat-t.js';
import { locateEsp, newEspLocation } from '../../src/esp/index.js';
import { hex } from '../helpers/vectors.js';
import { ipv4Udp } from './helpers.js';

const natKeepalive = (): Buffer => Buffer.from([NAT_KEEPALIVE_BYTE]);
/** marker || message, as the socket layer frames IKE on the NAT-T port. */
const framed = (message: Buffer): Buffer => Buffer.concat([Buffer.alloc(NON_ESP_MARKER_LENGTH), message]);

test('classify: NAT-keepalive 0xFF (RFC 3948 2.3), IKE behind four zero bytes (2.2), ESP (2.1)', () => {
  assert.equal(classifyNatTPayload(natKeepalive(), 0, 1), 'keepalive');
  const ike = hex('00000000' + 'c0c1c2c3c4c5c6c7' + '0000000000000000' + '2120220800000000' + '0000001c');
  assert.equal(classifyNatTPayload(ike, 0, ike.length), 'ike');
  assert.equal(classifyNatTPayload(ike, 0, NON_ESP_MARKER_LENGTH), 'invalid', 'a marker with no message');
  const esp = hex('12345678000000014c20452f');
  assert.equal(classifyNatTPayload(esp, 0, esp.length), 'esp');
  assert.equal(classifyNatTPayload(esp, 0, 5), 'invalid', 'shorter than an ESP header');
  assert.equal(classifyNatTPayload(esp, 0, 0), 'invalid');
  assert.equal(classifyNatTPayload(hex('fe'), 0, 1), 'invalid');
  assert.equal(classifyNatTPayload(hex('ff00'), 0, 2), 'invalid');
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
  const ike = udp(framed(Buffer.alloc(28, 1)));
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
