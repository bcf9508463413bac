import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelectorError, addressWords, formatRange, parseAddressRange, rangeContains } from '../../src/spd/address.js';

test('IPv4 prefixes compile to inclusive ranges, host bits ignored', () => {
  const cases: [string, string, string][] = [
    ['192.0.2.0/24', '192.0.2.0', '192.0.2.255'],
    ['192.0.2.77/24', '192.0.2.0', '192.0.2.255'],
    ['198.51.100.128/25', '198.51.100.128', '198.51.100.255'],
    ['203.0.113.9/32', '203.0.113.9', '203.0.113.9'],
    ['0.0.0.0/0', '0.0.0.0', '255.255.255.255'],
    ['any4', '0.0.0.0', '255.255.255.255'],
  ];
  for (const [text, start, end] of cases) {
    const r = parseAddressRange(text);
    assert.equal(r.family, 4, text);
    assert.deepEqual([...r.start], [...addressWords(start).words], `${text} start`);
    assert.deepEqual([...r.end], [...addressWords(end).words], `${text} end`);
  }
});

test('IPv6 prefixes across word boundaries', () => {
  const cases: [string, string, string][] = [
    ['2001:db8::/32', '2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['2001:db8:1:2::/64', '2001:db8:1:2::', '2001:db8:1:2:ffff:ffff:ffff:ffff'],
    ['2001:db8::/33', '2001:db8::', '2001:db8:7fff:ffff:ffff:ffff:ffff:ffff'],
    ['2001:db8::1/128', '2001:db8::1', '2001:db8::1'],
    ['::/0', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['2001:db8::ff00/120', '2001:db8::ff00', '2001:db8::ffff'],
  ];
  for (const [text, start, end] of cases) {
    const r = parseAddressRange(text);
    assert.equal(r.family, 6, text);
    assert.deepEqual([...r.start], [...addressWords(start).words], `${text} start`);
    assert.deepEqual([...r.end], [...addressWords(end).words], `${text} end`);
  }
});

test('IPv6 text forms: compressed, full, embedded IPv4', () => {
  assert.deepEqual([...addressWords('2001:db8::1').words], [0x20010db8, 0, 0, 1]);
  assert.deepEqual([...addressWords('2001:0db8:0000:0000:0000:0000:0000:0001').words], [0x20010db8, 0, 0, 1]);
  assert.deepEqual([...addressWords('::ffff:192.0.2.1').words], [0, 0, 0xffff, 0xc0000201]);
  assert.deepEqual([...addressWords('::').words], [0, 0, 0, 0]);
});

test('ranges contain their bounds and nothing outside', () => {
  const r = parseAddressRange('192.0.2.10-192.0.2.20');
  const at = (a: string): boolean => rangeContains(r, addressWords(a).words, 0);
  assert.equal(at('192.0.2.10'), true);
  assert.equal(at('192.0.2.15'), true);
  assert.equal(at('192.0.2.20'), true);
  assert.equal(at('192.0.2.9'), false);
  assert.equal(at('192.0.2.21'), false);
  const r6 = parseAddressRange('2001:db8::10-2001:db8::1:0');
  assert.equal(rangeContains(r6, addressWords('2001:db8::ffff').words, 0), true);
  assert.equal(rangeContains(r6, addressWords('2001:db8::1:1').words, 0), false);
});

test('bad selectors are refused with SelectorError', () => {
  for (const bad of [
    '192.0.2.256',
    '192.0.2.0/33',
    '2001:db8::/129',
    '192.0.2.20-192.0.2.10',
    '192.0.2.1-2001:db8::1',
    '2001:db8::1::2',
    '2001:db8:1:2:3:4:5:6:7',
    'example.com',
    '192.0.2.01',
    'fe80::1%eth0',
    '',
  ]) {
    assert.throws(() => parseAddressRange(bad), SelectorError, bad);
  }
});

test('formatRange prints the shortest form', () => {
  assert.equal(formatRange(parseAddressRange('192.0.2.0/24')), '192.0.2.0/24');
  assert.equal(formatRange(parseAddressRange('192.0.2.5')), '192.0.2.5');
  assert.equal(formatRange(parseAddressRange('192.0.2.10-192.0.2.20')), '192.0.2.10-192.0.2.20');
  assert.equal(formatRange(parseAddressRange('2001:db8::/32')), '2001:db8::/32');
  assert.equal(formatRange(parseAddressRange('::/0')), '::/0');
});
