import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowKey, PortKind, extractFlow } from '../../src/spd/flow.js';
import { addressWords } from '../../src/spd/address.js';
import { fragmentBody, icmpEcho, icmpv6Echo, ipv4, ipv6, optionsBody, tcp, udp } from './packets.js';

function words(a: string): number[] {
  return [...addressWords(a).words];
}

test('IPv4 UDP: addresses, protocol, ports', () => {
  const p = ipv4('192.0.2.1', '198.51.100.2', 17, udp(4000, 53));
  const k = new FlowKey();
  assert.equal(extractFlow(p, 0, p.length, k), undefined);
  assert.equal(k.family, 4);
  assert.deepEqual([...k.src], words('192.0.2.1'));
  assert.deepEqual([...k.dst], words('198.51.100.2'));
  assert.equal(k.protocol, 17);
  assert.equal(k.portKind, PortKind.PORTS);
  assert.equal(k.srcPort, 4000);
  assert.equal(k.dstPort, 53);
  assert.equal(k.fragment, false);
});

test('IPv4 with options, at an offset in a larger buffer', () => {
  const inner = ipv4('192.0.2.1', '198.51.100.2', 6, tcp(1234, 443));
  // Insert 4 bytes of options (NOP NOP NOP EOL) by rebuilding the header with IHL 6.
  const p = Buffer.alloc(inner.length + 4);
  inner.copy(p, 0, 0, 20);
  p[0] = 0x46;
  p.writeUInt16BE(p.length, 2);
  p.set([1, 1, 1, 0], 20);
  inner.copy(p, 24, 20);
  const buf = Buffer.concat([Buffer.alloc(64, 0xee), p, Buffer.alloc(16, 0xee)]);
  const k = new FlowKey();
  assert.equal(extractFlow(buf, 64, p.length, k), undefined);
  assert.equal(k.protocol, 6);
  assert.equal(k.srcPort, 1234);
  assert.equal(k.dstPort, 443);
});

test('ICMP echo gives type/code, not ports (RFC 4301 4.4.1.1)', () => {
  const p = ipv4('192.0.2.1', '198.51.100.2', 1, icmpEcho(8, 1, 1, new Uint8Array(8)));
  const k = new FlowKey();
  assert.equal(extractFlow(p, 0, p.length, k), undefined);
  assert.equal(k.portKind, PortKind.TYPE_CODE);
  assert.equal(k.typeCode, 8 << 8);
});

test('IPv4 fragments: the initial one has ports, non-initial ones are OPAQUE', () => {
  const k = new FlowKey();
  const first = ipv4('192.0.2.1', '198.51.100.2', 17, udp(4000, 53), { moreFragments: true });
  assert.equal(extractFlow(first, 0, first.length, k), undefined);
  assert.equal(k.fragment, true);
  assert.equal(k.portKind, PortKind.PORTS);
  assert.equal(k.dstPort, 53);
  const later = ipv4('192.0.2.1', '198.51.100.2', 17, udp(4000, 53), { fragmentOffset8: 185 });
  assert.equal(extractFlow(later, 0, later.length, k), undefined);
  assert.equal(k.fragment, true);
  assert.equal(k.protocol, 17);
  assert.equal(k.portKind, PortKind.OPAQUE);
  assert.equal(k.srcPort, 0);
});

test('IPv4 too short for the ports: OPAQUE, not an error', () => {
  const p = ipv4('192.0.2.1', '198.51.100.2', 17, new Uint8Array(2));
  const k = new FlowKey();
  assert.equal(extractFlow(p, 0, p.length, k), undefined);
  assert.equal(k.portKind, PortKind.OPAQUE);
});

test('IPv6 UDP with hop-by-hop, routing and destination options skipped', () => {
  const p = ipv6('2001:db8::1', '2001:db8:1::2', 17, udp(5000, 500), [
    [0, optionsBody(0)],
    [43, optionsBody(1)],
    [60, optionsBody(0)],
  ]);
  const k = new FlowKey();
  assert.equal(extractFlow(p, 0, p.length, k), undefined);
  assert.equal(k.family, 6);
  assert.deepEqual([...k.src], words('2001:db8::1'));
  assert.deepEqual([...k.dst], words('2001:db8:1::2'));
  assert.equal(k.protocol, 17);
  assert.equal(k.srcPort, 5000);
  assert.equal(k.dstPort, 500);
});

test('IPv6 fragment header: initial fragment has ports, non-initial is OPAQUE', () => {
  const k = new FlowKey();
  const first = ipv6('2001:db8::1', '2001:db8::2', 6, tcp(33000, 22), [[44, fragmentBody(0, true)]]);
  assert.equal(extractFlow(first, 0, first.length, k), undefined);
  assert.equal(k.fragment, true);
  assert.equal(k.protocol, 6);
  assert.equal(k.portKind, PortKind.PORTS);
  assert.equal(k.dstPort, 22);
  const later = ipv6('2001:db8::1', '2001:db8::2', 6, tcp(33000, 22), [
    [0, optionsBody(0)],
    [44, fragmentBody(100, false)],
  ]);
  assert.equal(extractFlow(later, 0, later.length, k), undefined);
  assert.equal(k.fragment, true);
  assert.equal(k.protocol, 6);
  assert.equal(k.portKind, PortKind.OPAQUE);
});

test('ICMPv6 echo type/code', () => {
  const p = ipv6(
    '2001:db8::1',
    '2001:db8::2',
    58,
    icmpv6Echo('2001:db8::1', '2001:db8::2', 128, 7, 1, new Uint8Array(4)),
  );
  const k = new FlowKey();
  assert.equal(extractFlow(p, 0, p.length, k), undefined);
  assert.equal(k.protocol, 58);
  assert.equal(k.portKind, PortKind.TYPE_CODE);
  assert.equal(k.typeCode, 128 << 8);
});

test('malformed packets give a reason and never throw', () => {
  const k = new FlowKey();
  const good4 = ipv4('192.0.2.1', '198.51.100.2', 17, udp(1, 2));
  const good6 = ipv6('2001:db8::1', '2001:db8::2', 17, udp(1, 2), [[0, optionsBody(0)]]);
  assert.equal(extractFlow(new Uint8Array(0), 0, 0, k), 'malformed');
  assert.equal(extractFlow(Buffer.from([0x50, 0, 0, 0]), 0, 4, k), 'malformed');
  assert.equal(extractFlow(good4, 0, 19, k), 'malformed'); // shorter than the header
  const badIhl = Buffer.from(good4);
  badIhl[0] = 0x44;
  assert.equal(extractFlow(badIhl, 0, badIhl.length, k), 'malformed');
  const longTotal = Buffer.from(good4);
  longTotal.writeUInt16BE(good4.length + 1, 2);
  assert.equal(extractFlow(longTotal, 0, longTotal.length, k), 'malformed');
  const longExt = Buffer.from(good6);
  longExt[41] = 200; // hop-by-hop claims 1608 bytes
  assert.equal(extractFlow(longExt, 0, longExt.length, k), 'malformed');
  assert.equal(extractFlow(good6, 0, 39, k), 'malformed');
  // Every truncation and every single-byte corruption stays within the contract.
  for (const p of [good4, good6]) {
    for (let n = 0; n <= p.length; n++) {
      const r = extractFlow(p, 0, n, k);
      assert.ok(r === undefined || r === 'malformed');
    }
    for (let i = 0; i < p.length; i++) {
      for (const v of [0x00, 0xff, 0x2c, 0x3c]) {
        const q = Buffer.from(p);
        q[i] = v;
        const r = extractFlow(q, 0, q.length, k);
        assert.ok(r === undefined || r === 'malformed');
      }
    }
  }
});

test('a chain of extension headers longer than any real packet is malformed', () => {
  const ext: [number, Uint8Array][] = [];
  for (let i = 0; i < 20; i++) ext.push([60, optionsBody(0)]);
  const p = ipv6('2001:db8::1', '2001:db8::2', 17, udp(1, 2), ext);
  assert.equal(extractFlow(p, 0, p.length, new FlowKey()), 'malformed');
});
