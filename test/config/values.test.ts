import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ValueError,
  parseBool,
  parseBytes,
  parseSecret,
  parseTimeSec,
  parseUint,
  splitList,
} from '../../src/config/values.js';
import { parseAddressSpec, parseTrafficSelector } from '../../src/config/addresses.js';

function rejects(f: () => unknown, message: RegExp): void {
  assert.throws(f, (e: unknown) => e instanceof ValueError && message.test(e.message));
}

test('time: seconds by default, s/m/h/d suffixes in any case, spaces before the suffix, C number bases', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['30', 30],
    ['30s', 30],
    ['90m', 5400],
    ['4h', 14400],
    ['4H', 14400],
    ['1d', 86400],
    ['2 h', 7200],
    ['0x10', 16],
    ['010', 8],
    [' 5m ', 300],
  ];
  for (const [text, sec] of cases) assert.equal(parseTimeSec(text), sec, text);
  rejects(() => parseTimeSec('5x'), /'5x' is not a time/);
  rejects(() => parseTimeSec('h'), /'h' is not a number/);
  rejects(() => parseTimeSec('1hh'), /is not a time/);
  rejects(() => parseTimeSec('-1'), /is not a number/);
  rejects(() => parseTimeSec(''), /is not a number/);
});

test('bytes: k/m/g are powers of 1024, any case', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['1000', 1000],
    ['1k', 1024],
    ['1K', 1024],
    ['500m', 500 * 1024 * 1024],
    ['2g', 2 * 1024 ** 3],
    ['3 G', 3 * 1024 ** 3],
  ];
  for (const [text, n] of cases) assert.equal(parseBytes(text), n, text);
  rejects(() => parseBytes('1t'), /is not a byte count/);
  rejects(() => parseBytes('99999999999999999999'), /too large/);
});

test('booleans: yes/true/enabled/1 and no/false/disabled/0', () => {
  for (const t of ['yes', 'true', 'enabled', '1', 'YES', 'True']) assert.equal(parseBool(t), true, t);
  for (const f of ['no', 'false', 'disabled', '0', 'No']) assert.equal(parseBool(f), false, f);
  rejects(() => parseBool('maybe'), /'maybe' is not a boolean/);
});

test('unsigned integers: range checked', () => {
  assert.equal(parseUint('65535', 65535), 65535);
  assert.equal(parseUint('0x1f4', 65535), 500);
  rejects(() => parseUint('65536', 65535, 'port'), /port 65536 is out of range/);
  rejects(() => parseUint('12ab', 65535), /is not a number/);
});

test('lists: comma separated, trimmed, empty items dropped', () => {
  assert.deepEqual(splitList('a, b ,c,,  d  '), ['a', 'b', 'c', 'd']);
  assert.deepEqual(splitList(''), []);
});

test('secrets: plain text, 0x hex and 0s base64', () => {
  assert.deepEqual(Buffer.from(parseSecret('lab-key')), Buffer.from('lab-key'));
  assert.deepEqual(Buffer.from(parseSecret('0x00ff10')), Buffer.from([0x00, 0xff, 0x10]));
  assert.deepEqual(Buffer.from(parseSecret('0XABcd')), Buffer.from([0xab, 0xcd]));
  assert.deepEqual(Buffer.from(parseSecret('0sAAEC')), Buffer.from([0, 1, 2]));
  assert.deepEqual(Buffer.from(parseSecret('0sAAE=')), Buffer.from([0, 1]));
  rejects(() => parseSecret('0xabc'), /not valid hex/);
  rejects(() => parseSecret('0xzz'), /not valid hex/);
  rejects(() => parseSecret('0s!!!!'), /not valid base64/);
  rejects(() => parseSecret(''), /empty/);
});

test('addresses: %any, IPv4, IPv6, CIDR, ranges and DNS names', () => {
  assert.deepEqual(parseAddressSpec('%any'), { kind: 'any' });
  assert.deepEqual(parseAddressSpec('%any6'), { kind: 'any', family: 6 });
  assert.deepEqual(parseAddressSpec('192.0.2.1'), { kind: 'address', family: 4, address: '192.0.2.1' });
  assert.deepEqual(parseAddressSpec('2001:DB8::1'), { kind: 'address', family: 6, address: '2001:db8::1' });
  assert.deepEqual(parseAddressSpec('198.51.100.0/24'), {
    kind: 'subnet',
    family: 4,
    address: '198.51.100.0',
    prefix: 24,
  });
  assert.deepEqual(parseAddressSpec('203.0.113.10-203.0.113.20'), {
    kind: 'range',
    family: 4,
    from: '203.0.113.10',
    to: '203.0.113.20',
  });
  assert.deepEqual(parseAddressSpec('vpn.example.org'), { kind: 'dns', name: 'vpn.example.org' });
  rejects(() => parseAddressSpec('192.0.2.0/33'), /bad prefix length/);
  rejects(() => parseAddressSpec('203.0.113.20-203.0.113.10'), /ends before it starts/);
  rejects(() => parseAddressSpec('192.0.2.1-2001:db8::1'), /mixes IPv4 and IPv6/);
  rejects(() => parseAddressSpec('192.0.2.300'), /not a valid IPv4 address/);
  rejects(() => parseAddressSpec('bad host!'), /is not an address/);
});

test('traffic selectors: subnets, hosts, ranges, dynamic, [protocol/port]', () => {
  const ts = parseTrafficSelector('198.51.100.0/24[tcp/http]');
  assert.deepEqual(ts, {
    address: { kind: 'subnet', family: 4, address: '198.51.100.0', prefix: 24 },
    protocol: 6,
    portFrom: 80,
    portTo: 80,
    opaque: false,
    text: '198.51.100.0/24[tcp/http]',
  });
  const host = parseTrafficSelector('2001:db8::5');
  assert.deepEqual(host.address, { kind: 'subnet', family: 6, address: '2001:db8::5', prefix: 128 });
  assert.equal(host.protocol, 0);
  assert.equal(host.portTo, 65535);
  const dyn = parseTrafficSelector('dynamic[udp/1024-2048]');
  assert.deepEqual([dyn.address.kind, dyn.protocol, dyn.portFrom, dyn.portTo], ['dynamic', 17, 1024, 2048]);
  const range = parseTrafficSelector('203.0.113.1-203.0.113.9[any/500]');
  assert.deepEqual(range.address, { kind: 'range', family: 4, from: '203.0.113.1', to: '203.0.113.9' });
  assert.deepEqual([range.protocol, range.portFrom, range.portTo], [0, 500, 500]);
  const opaque = parseTrafficSelector('192.0.2.0/24[udp/opaque]');
  assert.deepEqual([opaque.opaque, opaque.portFrom, opaque.portTo], [true, 65535, 0]);
  const num = parseTrafficSelector('192.0.2.0/24[47]');
  assert.deepEqual([num.protocol, num.portFrom, num.portTo], [47, 0, 65535]);
  const icmp = parseTrafficSelector('2001:db8::/32[ipv6-icmp/128]');
  assert.deepEqual([icmp.protocol, icmp.portFrom], [58, 128]);
  rejects(() => parseTrafficSelector('192.0.2.0/24[tcp/http'), /unclosed or misplaced/);
  rejects(() => parseTrafficSelector('192.0.2.0/24[bogus]'), /unknown protocol 'bogus'/);
  rejects(() => parseTrafficSelector('192.0.2.0/24[tcp/99999]'), /bad port '99999'/);
  rejects(() => parseTrafficSelector('192.0.2.0/24[tcp/90-80]'), /ends before it starts/);
  rejects(() => parseTrafficSelector('vpn.example.org'), /is not a traffic selector/);
});
