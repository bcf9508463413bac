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
  prefixLengthOf,
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
  assert.equal(formatTs(parseTrafficSelector('198.51.100.77/24')), '198.51.100.0/24');
  assert.equal(formatTs(parseTrafficSelector('2001:db8::/32[tcp/443]')), '2001:db8::/32[6/443]');
  assert.equal(
    formatTs(parseTrafficSelector('192.0.2.10-192.0.2.20[udp/1000-2000]')),
    '192.0.2.10-192.0.2.20[17/1000-2000]',
  );
  assert.throws(() => parseTrafficSelector('192.0.2.0/33'));
  assert.throws(() => parseTrafficSelector('192.0.2.0/24[tcp/70000]'));
});

test('intersection and narrowing', () => {
  const a = parseTrafficSelector('198.51.100.0/24');
  const b = parseTrafficSelector('198.51.100.64/26[tcp/80]');
  assert.equal(formatTs(intersectTs(a, b) ?? assert.fail()), '198.51.100.64/26[6/80]');
  assert.equal(
    intersectTs(parseTrafficSelector('198.51.100.0/24[udp]'), parseTrafficSelector('198.51.100.0/24[tcp]')),
    undefined,
  );
  assert.equal(intersectTs(parseTrafficSelector('198.51.100.0/24'), parseTrafficSelector('2001:db8::/32')), undefined);
  const narrowed = narrowTs(
    [a],
    [
      parseTrafficSelector('198.51.100.0/26'),
      parseTrafficSelector('198.51.100.128/26'),
      parseTrafficSelector('203.0.113.0/24'),
    ],
  );
  assert.deepEqual(narrowed.map(formatTs), ['198.51.100.0/26', '198.51.100.128/26']);
  assert.equal(tsListIsSubset(narrowed, [a]), true);
  assert.equal(tsListIsSubset([a], narrowed), false);
  assert.equal(tsListIsSubset([], [a]), false);
});

test('formatTs writes a range that is one prefix as the prefix, any other as start-end', () => {
  for (const text of [
    '198.51.100.7/32',
    '198.51.100.0/24',
    '0.0.0.0/0',
    '2001:db8:1::1:3c7/128',
    '2001:db8::/31',
    '::/0',
  ])
    assert.equal(formatTs(parseTrafficSelector(text)), text);
  assert.equal(formatTs(parseTrafficSelector('198.51.100.1-198.51.100.6')), '198.51.100.1-198.51.100.6');
  assert.equal(formatTs(parseTrafficSelector('198.51.100.0-198.51.100.6')), '198.51.100.0-198.51.100.6');
  assert.equal(formatTs(parseTrafficSelector('198.51.100.0-198.51.101.127')), '198.51.100.0-198.51.101.127');
  assert.equal(formatTs(parseTrafficSelector('203.0.113.5[tcp/22]')), '203.0.113.5/32[6/22]');
  // Every prefix length of both families, against its definition.
  for (const [base, bytes] of [
    ['198.51.100.77', 4],
    ['2001:db8:1::1:3c7', 16],
  ] as const)
    for (let bits = 0; bits <= bytes * 8; bits++) {
      const ts = parseTrafficSelector(`${base}/${bits}`);
      assert.equal(prefixLengthOf(ts.startAddr, ts.endAddr), bits, `${base}/${bits}`);
    }
  assert.equal(prefixLengthOf(Buffer.from([198, 51, 100, 1]), Buffer.from([198, 51, 100, 2])), undefined);
  assert.equal(prefixLengthOf(Buffer.from([198, 51, 100, 0]), Buffer.from([198, 51, 101, 0])), undefined);
});
