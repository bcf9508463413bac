import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowKey, PortKind } from '../../src/spd/flow.js';
import { addressWords, SelectorError } from '../../src/spd/address.js';
import { CompiledSelector } from '../../src/spd/selector.js';
import type { PortSelectorInput, SelectorInput } from '../../src/spd/selector.js';
import { SecurityPolicyDatabase } from '../../src/spd/spd.js';
import { extractFlow } from '../../src/spd/flow.js';
import { ipv4, udp } from './packets.js';

/** An outbound flow: local = src, remote = dst. */
function flow(
  src: string,
  dst: string,
  protocol: number,
  sport = 0,
  dport = 0,
  kind: PortKind = PortKind.PORTS,
): FlowKey {
  const s = addressWords(src);
  const d = addressWords(dst);
  return new FlowKey().set(s.family, s.words, d.words, protocol, sport, dport, kind);
}

const ICMP_ECHO = 8 << 8;

// [selector, flow, matches outbound?]
const table: [string, SelectorInput, FlowKey, boolean][] = [
  ['prefix in', { local: '192.0.2.0/24', remote: '198.51.100.0/24' }, flow('192.0.2.5', '198.51.100.9', 6, 1, 2), true],
  [
    'prefix out (remote)',
    { local: '192.0.2.0/24', remote: '198.51.100.0/24' },
    flow('192.0.2.5', '203.0.113.9', 6, 1, 2),
    false,
  ],
  [
    'prefix out (local)',
    { local: '192.0.2.0/25', remote: '198.51.100.0/24' },
    flow('192.0.2.200', '198.51.100.9', 6),
    false,
  ],
  ['host /32', { local: '192.0.2.5/32', remote: 'any4' }, flow('192.0.2.5', '203.0.113.1', 17, 1, 1), true],
  ['range low edge', { local: '192.0.2.10-192.0.2.20', remote: 'any4' }, flow('192.0.2.10', '203.0.113.1', 17), true],
  ['range high edge', { local: '192.0.2.10-192.0.2.20', remote: 'any4' }, flow('192.0.2.20', '203.0.113.1', 17), true],
  ['range below', { local: '192.0.2.10-192.0.2.20', remote: 'any4' }, flow('192.0.2.9', '203.0.113.1', 17), false],
  ['range above', { local: '192.0.2.10-192.0.2.20', remote: 'any4' }, flow('192.0.2.21', '203.0.113.1', 17), false],
  ['family mismatch', { local: 'any6', remote: 'any6' }, flow('192.0.2.1', '198.51.100.1', 17), false],
  [
    'protocol match',
    { local: 'any4', remote: 'any4', protocol: 17 },
    flow('192.0.2.1', '198.51.100.1', 17, 9, 9),
    true,
  ],
  [
    'protocol mismatch',
    { local: 'any4', remote: 'any4', protocol: 6 },
    flow('192.0.2.1', '198.51.100.1', 17, 9, 9),
    false,
  ],
  [
    'remote port exact',
    { local: 'any4', remote: 'any4', protocol: 17, remotePort: 53 },
    flow('192.0.2.1', '198.51.100.1', 17, 40000, 53),
    true,
  ],
  [
    'remote port other',
    { local: 'any4', remote: 'any4', protocol: 17, remotePort: 53 },
    flow('192.0.2.1', '198.51.100.1', 17, 53, 54),
    false,
  ],
  [
    'local port range',
    { local: 'any4', remote: 'any4', protocol: 6, localPort: { start: 1024, end: 2047 } },
    flow('192.0.2.1', '198.51.100.1', 6, 2047, 80),
    true,
  ],
  [
    'local port range out',
    { local: 'any4', remote: 'any4', protocol: 6, localPort: { start: 1024, end: 2047 } },
    flow('192.0.2.1', '198.51.100.1', 6, 2048, 80),
    false,
  ],
  [
    'ports on opaque flow (non-initial fragment)',
    { local: 'any4', remote: 'any4', protocol: 17, remotePort: 53 },
    flow('192.0.2.1', '198.51.100.1', 17, 0, 0, PortKind.OPAQUE),
    false,
  ],
  [
    'ANY ports on opaque flow',
    { local: 'any4', remote: 'any4', protocol: 17 },
    flow('192.0.2.1', '198.51.100.1', 17, 0, 0, PortKind.OPAQUE),
    true,
  ],
  [
    'OPAQUE selector on opaque flow',
    { local: 'any4', remote: 'any4', protocol: 17, localPort: 'opaque', remotePort: 'opaque' },
    flow('192.0.2.1', '198.51.100.1', 17, 0, 0, PortKind.OPAQUE),
    true,
  ],
  [
    'OPAQUE selector on flow with ports',
    { local: 'any4', remote: 'any4', protocol: 17, remotePort: 'opaque' },
    flow('192.0.2.1', '198.51.100.1', 17, 1, 2),
    false,
  ],
  [
    'IKEv2 OPAQUE encoding 65535-0',
    { local: 'any4', remote: 'any4', protocol: 17, remotePort: { start: 65535, end: 0 } },
    flow('192.0.2.1', '198.51.100.1', 17, 0, 0, PortKind.OPAQUE),
    true,
  ],
  [
    'ICMP type',
    { local: 'any4', remote: 'any4', protocol: 1, icmp: { type: 8 } },
    flow('192.0.2.1', '198.51.100.1', 1, ICMP_ECHO, 0, PortKind.TYPE_CODE),
    true,
  ],
  [
    'ICMP other type',
    { local: 'any4', remote: 'any4', protocol: 1, icmp: { type: 8 } },
    flow('192.0.2.1', '198.51.100.1', 1, 0, 0, PortKind.TYPE_CODE),
    false,
  ],
  [
    'ICMP type+code',
    { local: 'any4', remote: 'any4', protocol: 1, icmp: { type: 3, code: 4 } },
    flow('192.0.2.1', '198.51.100.1', 1, (3 << 8) | 4, 0, PortKind.TYPE_CODE),
    true,
  ],
  [
    'ICMP type, other code',
    { local: 'any4', remote: 'any4', protocol: 1, icmp: { type: 3, code: 4 } },
    flow('192.0.2.1', '198.51.100.1', 1, (3 << 8) | 3, 0, PortKind.TYPE_CODE),
    false,
  ],
  [
    'ICMP 16-bit range in localPort',
    { local: 'any4', remote: 'any4', protocol: 1, localPort: { start: 0x0300, end: 0x08ff } },
    flow('192.0.2.1', '198.51.100.1', 1, ICMP_ECHO, 0, PortKind.TYPE_CODE),
    true,
  ],
  [
    'ICMP with a remote port range cannot match',
    { local: 'any4', remote: 'any4', protocol: 1, remotePort: 7 },
    flow('192.0.2.1', '198.51.100.1', 1, ICMP_ECHO, 0, PortKind.TYPE_CODE),
    false,
  ],
  [
    'IPv6 /64',
    { local: '2001:db8:1::/64', remote: '2001:db8:2::/64' },
    flow('2001:db8:1::5', '2001:db8:2::ffff', 58, 128 << 8, 0, PortKind.TYPE_CODE),
    true,
  ],
  [
    'IPv6 /64 out',
    { local: '2001:db8:1::/64', remote: '2001:db8:2::/64' },
    flow('2001:db8:1:0:1::5', '2001:db8:3::1', 58),
    false,
  ],
  [
    'IPv6 range + udp port',
    { local: '2001:db8::1-2001:db8::ff', remote: '2001:db8::/32', protocol: 17, remotePort: 4500 },
    flow('2001:db8::80', '2001:db8:9::1', 17, 4500, 4500),
    true,
  ],
  [
    'IPv6 ICMPv6 type',
    { local: 'any6', remote: 'any6', protocol: 58, icmp: { type: 128, code: 0 } },
    flow('2001:db8::1', '2001:db8::2', 58, 128 << 8, 0, PortKind.TYPE_CODE),
    true,
  ],
];

test('selector matching table (outbound: local = source)', () => {
  for (const [name, sel, key, expected] of table) {
    assert.equal(new CompiledSelector(sel).matches(key, false), expected, name);
  }
});

test('inbound direction swaps local and remote', () => {
  const sel = new CompiledSelector({ local: '192.0.2.0/24', remote: '198.51.100.0/24', protocol: 17, localPort: 500 });
  // An inbound packet from 198.51.100.7:1000 to 192.0.2.3:500.
  const key = flow('198.51.100.7', '192.0.2.3', 17, 1000, 500);
  assert.equal(sel.matches(key, true), true);
  assert.equal(sel.matches(key, false), false);
});

test('selector input errors', () => {
  const bad: SelectorInput[] = [
    { local: '192.0.2.0/24', remote: '2001:db8::/32' },
    { local: 'any4', remote: 'any4', remotePort: 80 },
    { local: 'any4', remote: 'any4', protocol: 256 },
    { local: 'any4', remote: 'any4', protocol: 6, localPort: { start: 90, end: 80 } },
    { local: 'any4', remote: 'any4', protocol: 6, localPort: 70000 },
    { local: 'any4', remote: 'any4', protocol: 6, icmp: { type: 8 } },
    { local: 'any4', remote: 'any4', protocol: 1, icmp: { type: 300 } },
  ];
  for (const s of bad) assert.throws(() => new CompiledSelector(s), SelectorError, JSON.stringify(s));
});

test('lowest priority value wins; ties keep insertion order', () => {
  const spd = new SecurityPolicyDatabase();
  const broad = spd.add({
    direction: 'out',
    selector: { local: 'any4', remote: 'any4' },
    action: 'discard',
    priority: 300,
  });
  const protect = spd.add({
    direction: 'out',
    selector: { local: '192.0.2.0/24', remote: '198.51.100.0/24' },
    action: 'protect',
    reqid: 1,
    priority: 200,
  });
  const bypass = spd.add({
    direction: 'out',
    selector: { local: '192.0.2.0/24', remote: '198.51.100.0/24', protocol: 17, remotePort: 500 },
    action: 'bypass',
    priority: 100,
  });
  const same = spd.add({
    direction: 'out',
    selector: { local: '192.0.2.0/24', remote: '198.51.100.0/24' },
    action: 'discard',
    priority: 200,
  });
  assert.deepEqual(
    spd.list('out').map((p) => p.id),
    [bypass.id, protect.id, same.id, broad.id],
  );
  assert.equal(spd.lookup('out', flow('192.0.2.1', '198.51.100.1', 17, 500, 500)), bypass);
  assert.equal(spd.lookup('out', flow('192.0.2.1', '198.51.100.1', 17, 500, 501)), protect);
  assert.equal(spd.lookup('out', flow('192.0.2.1', '203.0.113.1', 17, 500, 501)), broad);
  assert.equal(spd.lookup('in', flow('192.0.2.1', '203.0.113.1', 17, 500, 501)), undefined);
  assert.ok(spd.remove(protect.id));
  assert.equal(spd.lookup('out', flow('192.0.2.1', '198.51.100.1', 17, 500, 501)), same);
  assert.equal(spd.remove(protect.id), false);
});

test('default priorities prefer the more specific selector', () => {
  const spd = new SecurityPolicyDatabase();
  const all = spd.add({ direction: 'out', selector: { local: 'any4', remote: 'any4' }, action: 'bypass' });
  const net = spd.add({
    direction: 'out',
    selector: { local: '192.0.2.0/24', remote: '198.51.100.0/24' },
    action: 'protect',
    reqid: 7,
  });
  const host = spd.add({
    direction: 'out',
    selector: { local: '192.0.2.0/24', remote: '198.51.100.9/32' },
    action: 'discard',
  });
  const port = spd.add({
    direction: 'out',
    selector: { local: '192.0.2.0/24', remote: '198.51.100.9/32', protocol: 6, remotePort: 22 },
    action: 'bypass',
  });
  assert.ok(port.priority < host.priority && host.priority < net.priority && net.priority < all.priority);
  assert.equal(spd.lookup('out', flow('192.0.2.1', '198.51.100.9', 6, 5000, 22)), port);
  assert.equal(spd.lookup('out', flow('192.0.2.1', '198.51.100.9', 6, 5000, 23)), host);
  assert.equal(spd.lookup('out', flow('192.0.2.1', '198.51.100.8', 6, 5000, 23)), net);
  assert.equal(spd.lookup('out', flow('203.0.113.1', '198.51.100.8', 6, 5000, 23)), all);
});

test('the flow cache returns what the uncached scan returns, and is cleared on change', () => {
  const spd = new SecurityPolicyDatabase();
  spd.add({
    direction: 'out',
    selector: { local: '192.0.2.0/24', remote: '198.51.100.0/25' },
    action: 'protect',
    reqid: 1,
  });
  spd.add({
    direction: 'out',
    selector: { local: '192.0.2.0/24', remote: 'any4', protocol: 17, remotePort: { start: 1000, end: 1999 } },
    action: 'bypass',
  });
  const key = new FlowKey();
  for (let i = 0; i < 2000; i++) {
    const p = ipv4(
      `192.0.2.${i % 7}`,
      `198.51.100.${(i * 37) % 256}`,
      i % 3 === 0 ? 6 : 17,
      udp(40000 + (i % 5), 990 + (i % 30)),
    );
    assert.equal(extractFlow(p, 0, p.length, key), undefined);
    assert.equal(spd.lookup('out', key), spd.lookupUncached('out', key));
    assert.equal(spd.lookup('out', key), spd.lookupUncached('out', key));
  }
  assert.ok(spd.cacheStats().out.hits > 0);
  const k = flow('192.0.2.1', '198.51.100.1', 6, 1, 2);
  assert.equal(spd.lookup('out', k)?.action, 'protect');
  const d = spd.add({
    direction: 'out',
    selector: { local: '192.0.2.1/32', remote: '198.51.100.1/32' },
    action: 'discard',
  });
  assert.equal(spd.lookup('out', k), d);
  spd.remove(d.id);
  assert.equal(spd.lookup('out', k)?.action, 'protect');
});

test('protect policies need a reqid', () => {
  const spd = new SecurityPolicyDatabase();
  assert.throws(
    () => spd.add({ direction: 'out', selector: { local: 'any4', remote: 'any4' }, action: 'protect' }),
    RangeError,
  );
});

test('listing text and JSON', () => {
  const sel = new CompiledSelector({ local: '192.0.2.0/24', remote: '198.51.100.7', protocol: 17, remotePort: 500 });
  assert.equal(sel.toString(), '192.0.2.0/24[17/any] === 198.51.100.7[17/500]');
  assert.deepEqual(sel.toJSON(), {
    local: '192.0.2.0/24',
    remote: '198.51.100.7',
    protocol: 17,
    localPort: 'any',
    remotePort: { start: 500, end: 500 },
  });
});

test('the index agrees with matching every selector in order (IPv4 and IPv6, ranges, inbound and outbound)', () => {
  const spd = new SecurityPolicyDatabase();
  const dirs = ['out', 'in'] as const;
  let seed = 7;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 8) % n;
  for (const direction of dirs) {
    for (let i = 0; i < 60; i++) {
      const v6 = rnd(3) === 0;
      const proto = [0, 6, 17, 1][rnd(4)]!;
      const local = v6 ? `2001:db8:${rnd(4)}::/${48 + rnd(17)}` : `192.0.2.${rnd(4) * 64}/${26 + rnd(7)}`;
      const remote = v6 ? `2001:db8:${10 + rnd(4)}::/48` : `198.51.100.${rnd(256)}-198.51.100.${255}`;
      const ports = proto === 6 || proto === 17 ? { remotePort: { start: rnd(100), end: 100 + rnd(100) } } : {};
      spd.add({
        direction,
        selector: { local, remote, ...(proto === 0 ? {} : { protocol: proto }), ...ports },
        action: 'bypass',
        priority: rnd(5),
      });
    }
  }
  let found = 0;
  let missed = 0;
  for (let n = 0; n < 3000; n++) {
    const v6 = rnd(3) === 0;
    const a = v6 ? `2001:db8:${rnd(4)}::${rnd(65536).toString(16)}` : `192.0.2.${rnd(256)}`;
    const b = v6 ? `2001:db8:${10 + rnd(5)}::1` : `198.51.100.${rnd(256)}`;
    const proto = [6, 17, 1, 50][rnd(4)]!;
    for (const direction of dirs) {
      const inbound = direction === 'in';
      const key = inbound ? flow(b, a, proto, rnd(300), rnd(300)) : flow(a, b, proto, rnd(300), rnd(300));
      const reference = spd.list(direction).find((p) => p.selector.matches(key, inbound));
      assert.equal(spd.lookupUncached(direction, key), reference);
      assert.equal(spd.lookup(direction, key), reference);
      if (reference === undefined) missed++;
      else found++;
    }
  }
  assert.ok(found > 500 && missed > 500, `both outcomes exercised (${found} matched, ${missed} not)`);
});

test('the index follows removals and re-adds: 10,000 host policies, then half removed, each lookup as the scan', () => {
  const spd = new SecurityPolicyDatabase();
  const ids: number[] = [];
  for (let i = 0; i < 10_000; i++) {
    const host = `198.51.${100 + (i >> 8)}.${i & 255}`;
    ids.push(
      spd.add({
        direction: 'out',
        selector: { local: '192.0.2.0/24', remote: `${host}/32` },
        action: 'protect',
        reqid: i + 1,
      }).id,
    );
  }
  const wide = spd.add({ direction: 'out', selector: { local: 'any4', remote: '198.51.0.0/16' }, action: 'bypass' });
  const check = (n: number): void => {
    for (let i = 0; i < 10_000; i += n) {
      const k = flow('192.0.2.7', `198.51.${100 + (i >> 8)}.${i & 255}`, 6, 1, 2);
      assert.equal(spd.lookup('out', k), spd.lookupUncached('out', k), `host ${i}`);
    }
  };
  check(1);
  assert.equal(spd.lookup('out', flow('192.0.2.7', '198.51.100.5', 6, 1, 2))?.reqid, 6);
  assert.equal(spd.removePolicies(ids.filter((_, i) => i % 2 === 0)), 5000);
  check(1);
  assert.equal(spd.lookup('out', flow('192.0.2.7', '198.51.100.4', 6, 1, 2)), wide, 'the /16 behind a removed /32');
  spd.add({ direction: 'out', selector: { local: '192.0.2.0/24', remote: '198.51.100.4/32' }, action: 'discard' });
  assert.equal(spd.lookup('out', flow('192.0.2.7', '198.51.100.4', 6, 1, 2))?.action, 'discard');
  spd.remove(wide.id);
  check(7);
  assert.equal(spd.lookup('out', flow('192.0.2.7', '198.51.100.6', 6, 1, 2)), undefined);
});

test('the IPv4 index agrees with the ordered scan through adds and removals of overlapping policies', () => {
  const spd = new SecurityPolicyDatabase();
  let seed = 29;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 8) % n;
  const remotes = (): string => {
    const a = rnd(16);
    switch (rnd(6)) {
      case 0:
        return `198.51.100.${a}/32`;
      case 1:
        return `198.51.100.${a * 4}/30`;
      case 2:
        return '198.51.100.0/28';
      case 3:
        return `198.51.100.${a}-198.51.100.${a + rnd(9)}`;
      case 4:
        return 'any4';
      default:
        return `203.0.113.${200 + rnd(56)}/32`;
    }
  };
  const ports = (): SelectorInput['localPort'] =>
    [undefined, 'opaque', rnd(20), { start: rnd(10), end: 10 + rnd(10) }][rnd(4)] as SelectorInput['localPort'];
  const selector = (): SelectorInput => {
    const protocol = [0, 6, 17, 1][rnd(4)]!;
    const local = ['192.0.2.0/24', `192.0.2.${rnd(8)}/31`, 'any4', `192.0.2.${rnd(4)}-192.0.2.${4 + rnd(4)}`][rnd(4)]!;
    if (protocol === 0) return { local, remote: remotes() };
    if (protocol === 1) {
      const icmpRemote: PortSelectorInput[] = ['opaque', 'any', { start: 0, end: rnd(9) }];
      return rnd(2) === 0
        ? { local, remote: remotes(), protocol, icmp: { type: 8, code: rnd(2) === 0 ? 'any' : 0 } }
        : { local, remote: remotes(), protocol, remotePort: icmpRemote[rnd(3)]! };
    }
    const lp = ports();
    const rp = ports();
    return {
      local,
      remote: remotes(),
      protocol,
      ...(lp === undefined ? {} : { localPort: lp }),
      ...(rp === undefined ? {} : { remotePort: rp }),
    };
  };
  const installed: number[] = [];
  const keys: FlowKey[] = [];
  for (let i = 0; i < 400; i++) {
    const remote = rnd(8) === 0 ? `203.0.113.${200 + rnd(56)}` : `198.51.100.${rnd(20)}`;
    const local = `192.0.2.${rnd(10)}`;
    const kind = [PortKind.PORTS, PortKind.TYPE_CODE, PortKind.OPAQUE][rnd(3)]!;
    const protocol =
      kind === PortKind.TYPE_CODE ? 1 : kind === PortKind.OPAQUE ? [6, 17, 50][rnd(3)]! : [6, 17][rnd(2)]!;
    const typeCode = rnd(2) === 0 ? ICMP_ECHO : 0;
    keys.push(flow(local, remote, protocol, kind === PortKind.TYPE_CODE ? typeCode : rnd(25), rnd(25), kind));
    keys.push(flow(remote, local, protocol, rnd(25), rnd(25), kind));
  }
  let found = 0;
  let missed = 0;
  const check = (): void => {
    for (const direction of ['out', 'in'] as const) {
      for (const key of keys) {
        const reference = spd.lookupUncached(direction, key);
        assert.equal(spd.lookup(direction, key), reference, `${direction} ${JSON.stringify(key)}`);
        if (reference === undefined) missed++;
        else found++;
      }
    }
  };
  for (let round = 0; round < 12; round++) {
    for (let i = 0; i < 40; i++) {
      installed.push(
        spd.add({
          direction: rnd(2) === 0 ? 'out' : 'in',
          selector: selector(),
          action: rnd(2) === 0 ? 'bypass' : 'discard',
          // Few distinct priorities: many ties, decided by insertion order.
          ...(rnd(3) === 0 ? { priority: rnd(4) } : {}),
        }).id,
      );
    }
    check();
    // Remove a random third, in one batch or one by one.
    const gone = installed.filter(() => rnd(3) === 0);
    if (round % 2 === 0) spd.removePolicies(gone);
    else for (const id of gone) spd.remove(id);
    for (const id of gone) installed.splice(installed.indexOf(id), 1);
    check();
  }
  spd.removePolicies(installed);
  for (const key of keys) assert.equal(spd.lookup('out', key), undefined, 'nothing left after removing all');
  assert.ok(found > 5000 && missed > 5000, `both outcomes exercised (${found} matched, ${missed} not)`);
});
