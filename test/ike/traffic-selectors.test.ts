/** Traffic selectors (RFC 7296 3.13.1) and narrowing (2.9). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatAddress,
  formatTs,
  intersectTs,
  narrowTs,
  parseAddress,
  parseTrafficSelector,
  tsListIsSubset,
} from '../../src/ike/traffic-selectors.js';

test('addresses: IPv4, IPv6 with compression, v4-mapped; junk refused', () => {
  assert.deepEqual(parseAddress('192.0.2.9'), Buffer.from([192, 0, 2, 9]));
  assert.equal(parseAddress('2001:db8::1')?.toString('hex'), '20010db8000000000000000000000001');
  assert.equal(parseAddress('::ffff:192.0.2.1')?.toString('hex'), '00000000000000000000ffffc0000201');
  assert.equal(formatAddress(Buffer.from('20010db8000000000000000000000001', 'hex')), '2001:db8::1');
  for (const bad of ['192.0.2.256', '1.2.3', 'a::b::c', '2001:db8:1:2:3:4:5:6:7', 'host.example.org', ''])
    assert.equal(parseAddress(bad), undefined, bad);
});

test('selectors from text, with protocol and ports', () => {
  assert.equal(formatTs(parseTrafficSelector('10.1.2.3/16')), '10.1.0.0/16');
  assert.equal(formatTs(parseTrafficSelector('2001:db8::/32[tcp/443]')), '2001:db8::/32[6/443]');
  assert.equal(
    formatTs(parseTrafficSelector('192.0.2.10-192.0.2.20[udp/1000-2000]')),
    '192.0.2.10-192.0.2.20[17/1000-2000]',
  );
  assert.throws(() => parseTrafficSelector('10.0.0.0/33'));
  assert.throws(() => parseTrafficSelector('10.0.0.0/8[tcp/70000]'));
});

test('intersection and narrowing', () => {
  const a = parseTrafficSelector('10.0.0.0/8');
  const b = parseTrafficSelector('10.1.0.0/16[tcp/80]');
  assert.equal(formatTs(intersectTs(a, b) ?? assert.fail()), '10.1.0.0/16[6/80]');
  assert.equal(
    intersectTs(parseTrafficSelector('10.0.0.0/8[udp]'), parseTrafficSelector('10.0.0.0/8[tcp]')),
    undefined,
  );
  assert.equal(intersectTs(parseTrafficSelector('10.0.0.0/8'), parseTrafficSelector('2001:db8::/32')), undefined);
  const narrowed = narrowTs(
    [a],
    [parseTrafficSelector('10.1.0.0/24'), parseTrafficSelector('10.2.0.0/24'), parseTrafficSelector('192.0.2.0/24')],
  );
  assert.deepEqual(narrowed.map(formatTs), ['10.1.0.0/24', '10.2.0.0/24']);
  assert.equal(tsListIsSubset(narrowed, [a]), true);
  assert.equal(tsListIsSubset([a], narrowed), false);
  assert.equal(tsListIsSubset([], [a]), false);
});
