/** AH header codec and lengths (RFC 4302 2, 2.2, 2.6). */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AH_MAX_LENGTH,
  ahLength,
  ahLengthFromPayloadLength,
  ahPayloadLength,
  decodeAhHeader,
  writeAhHeader,
} from '../../src/ah/index.js';
import { ParseError } from '../../src/common/errors.js';
import { hex } from '../helpers/vectors.js';

test('AH lengths: ICV padded to 4 bytes for IPv4 and 8 bytes for IPv6 (RFC 4302 2.6)', () => {
  // [iv, icv, IPv4 length, IPv6 length]: HMAC-SHA1-96 gives Payload Len 4 (RFC 4302 2.2 example).
  const cases: [number, number, number, number][] = [
    [0, 12, 24, 24], // HMAC-SHA1-96, AES-XCBC-96
    [0, 16, 28, 32], // HMAC-SHA2-256-128
    [0, 24, 36, 40], // HMAC-SHA2-384-192
    [0, 32, 44, 48], // HMAC-SHA2-512-256
    [8, 16, 36, 40], // AES-GMAC: 8-byte IV + 16-byte ICV (RFC 4543)
  ];
  for (const [iv, icv, l4, l6] of cases) {
    assert.equal(ahLength(iv, icv, 4), l4);
    assert.equal(ahLength(iv, icv, 6), l6);
  }
  assert.equal(ahPayloadLength(24), 4);
  assert.equal(ahLengthFromPayloadLength(4), 24);
  assert.equal(AH_MAX_LENGTH, 1028);
});

test('writeAhHeader lays out the fields and zeroes the ICV field', () => {
  const b = Buffer.alloc(40, 0xee);
  writeAhHeader(b, 2, 36, 6, 0xdeadbeef, 0x01020304, hex('1112131415161718'));
  assert.equal(
    b.toString('hex'),
    'eeee' + '06' + '07' + '0000' + 'deadbeef' + '01020304' + '1112131415161718' + '00'.repeat(16) + 'eeee',
  );
});

test('decodeAhHeader reads the fields and refuses truncation with ParseError', () => {
  const pkt = hex('3b040000 00000100 00000009 aaaaaaaaaaaaaaaaaaaaaaaa ff');
  const h = decodeAhHeader(pkt, 0);
  assert.equal(h.nextHeader, 59);
  assert.equal(h.payloadLength, 4);
  assert.equal(h.length, 24);
  assert.equal(h.spi, 256);
  assert.equal(h.seq, 9);
  assert.equal(h.reserved, 0);
  assert.equal(Buffer.from(h.icvField).toString('hex'), 'aa'.repeat(12));
  assert.throws(() => decodeAhHeader(pkt, 0, 11), ParseError);
  assert.throws(() => decodeAhHeader(pkt, 0, 23), ParseError);
  assert.throws(() => decodeAhHeader(hex('3b000000 00000100 00000009'), 0), ParseError);
  assert.throws(() => decodeAhHeader(pkt, 20), ParseError);
});
