/** Locating AH in received datagrams (RFC 4302 3.1.1) for SA lookup by SPI. */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { locateAh, newAhLocation } from '../../src/ah/index.js';
import { REF_ALGOS, ipv6OptionsHeader, pattern, udpDatagram } from './reference.js';
import { ipv4Udp, ipv6Udp } from './packets.js';
import { SPI, saPair, sealOk } from './sa-helpers.js';

const SHA1 = REF_ALGOS[0]!;

test('locateAh finds the AH and SPI after IPv4 options and IPv6 extension headers', () => {
  const { out } = saPair(SHA1, { mode: 'transport', esn: false });
  const payload = udpDatagram(pattern(10, 1));
  const opts = Buffer.from([0x94, 0x04, 0x00, 0x00]);
  const v4 = sealOk(out, ipv4Udp(payload, { id: 1, ttl: 1, options: opts }));
  const loc = newAhLocation();
  // Trailing bytes past the IP length are not part of the datagram.
  const padded = Buffer.concat([v4, Buffer.alloc(6)]);
  assert.equal(locateAh(padded, 0, padded.length, loc), true);
  assert.deepEqual(loc, { ahOff: 24, spi: SPI, end: v4.length });

  const hbh = ipv6OptionsHeader(60, [{ type: 0x3e, data: pattern(4, 2) }]);
  const dst = ipv6OptionsHeader(17, [{ type: 0x1e, data: pattern(2, 3) }]);
  const v6 = sealOk(out, ipv6Udp(payload, { hopLimit: 1, extensions: Buffer.concat([hbh, dst]) }));
  assert.equal(locateAh(v6, 0, v6.length, loc), true);
  assert.deepEqual(loc, { ahOff: 40 + hbh.length, spi: SPI, end: v6.length });

  // Not AH, a fragment, truncated: not located.
  assert.equal(locateAh(v4, 0, 30, loc), false);
  const frag = Buffer.from(v4);
  frag.writeUInt16BE(0x2000, 6);
  assert.equal(locateAh(frag, 0, frag.length, loc), false);
  const plain = ipv4Udp(payload, { id: 1, ttl: 1 });
  assert.equal(locateAh(plain, 0, plain.length, loc), false);
  const short6 = Buffer.from(v6.subarray(0, 40 + hbh.length + 8));
  short6.writeUInt16BE(hbh.length + 8, 4);
  assert.equal(locateAh(short6, 0, short6.length, loc), false);
});
