import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDatagramBatch } from '../../src/io/batch.js';
import { readAddressSlot, writeAddressSlot } from '../../src/io/ip-address.js';
import { IpProto } from '../../src/common/ip.js';
import { LinuxPacketSocket } from '../../src/io/linux/raw-socket.js';
import { LinuxUdpEndpoint } from '../../src/io/linux/udp-endpoint.js';
import { gsoRunLength } from '../../src/io/linux/datagram-socket.js';
import { DatagramKind, type DatagramBatch, type IpFamily, type UdpAddress } from '../../src/io/types.js';
import { delNetns, openFdCount, rootSkip, sh, vethPair, waitFor, type VethPair } from './netns.js';
import { fakeEsp } from './packets.js';

interface Seen {
  bytes: Buffer;
  kind: number;
  from: string;
  to: string;
}

function collect(into: Seen[]): (b: DatagramBatch) => void {
  return (b) => {
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i] ?? 0;
      into.push({
        bytes: Buffer.from(b.bufs[i]?.subarray(off, off + (b.lengths[i] ?? 0)) ?? []),
        kind: b.kinds[i] ?? 0,
        from: readAddressSlot(b.remoteAddrs, i, b.family),
        to: readAddressSlot(b.localAddrs, i, b.family),
      });
    }
  };
}

function batchOf(family: IpFamily, packets: readonly Buffer[], to: string, port = 0): DatagramBatch {
  const batch = createDatagramBatch({ size: packets.length, bufferBytes: 2048 }, family);
  packets.forEach((p, i) => {
    p.copy(batch.bufs[i] ?? Buffer.alloc(0), 24);
    batch.offsets[i] = 24;
    batch.lengths[i] = p.length;
    writeAddressSlot(to, family, batch.remoteAddrs, i);
    batch.remotePorts[i] = port;
  });
  batch.count = packets.length;
  return batch;
}

async function withVeth(body: (v: VethPair) => Promise<void>): Promise<void> {
  const fdsBefore = openFdCount();
  let v: VethPair | undefined;
  try {
    v = vethPair();
    await body(v);
  } finally {
    if (v !== undefined) {
      delNetns(v.nsA);
      delNetns(v.nsB);
    }
  }
  assert.equal(openFdCount(), fdsBefore, 'every fd closed');
}

for (const family of [4, 6] as const) {
  test(`raw ESP over IPv${family} between two namespaces, both ways, header stripped`, { skip: rootSkip }, () =>
    withVeth(async (v) => {
      const [addrA, addrB] = family === 4 ? [v.a4, v.b4] : [v.a6, v.b6];
      const a = new LinuxPacketSocket({ family, protocol: IpProto.ESP, netns: v.nsA });
      const b = new LinuxPacketSocket({ family, protocol: IpProto.ESP, netns: v.nsB });
      try {
        const atA: Seen[] = [];
        const atB: Seen[] = [];
        a.start(collect(atA));
        b.start(collect(atB));
        const toB = [1, 2, 3, 4, 5].map((seq) => fakeEsp(0x0a0b0c0d, seq, seq === 5 ? 1400 : 64));
        assert.equal(a.send(batchOf(family, toB, addrB)), 5);
        assert.equal(b.send(batchOf(family, [fakeEsp(0x11223344, 9, 200)], addrA)), 1);
        await waitFor(() => atB.length >= 5 && atA.length >= 1, 3000, 'ESP packets');
        assert.deepEqual(
          atB.map((s) => [s.bytes.toString('hex'), s.kind, s.from, s.to]),
          toB.map((p) => [p.toString('hex'), DatagramKind.ESP, addrA, addrB]),
        );
        assert.deepEqual(
          atA.map((s) => [s.bytes.toString('hex'), s.from, s.to]),
          [[fakeEsp(0x11223344, 9, 200).toString('hex'), addrB, addrA]],
        );
        assert.equal(b.stats.rxPackets, 5);
        assert.equal(a.stats.txPackets, 5);
        assert.equal(a.stats.txBytes, 4 * 72 + 1408);
      } finally {
        await a.close();
        await b.close();
      }
    }),
  );
}

test('raw AH (protocol 51) over IPv4 is delivered as AH and not to the ESP socket', { skip: rootSkip }, () =>
  withVeth(async (v) => {
    const a = new LinuxPacketSocket({ family: 4, protocol: IpProto.AH, netns: v.nsA });
    const bAh = new LinuxPacketSocket({ family: 4, protocol: IpProto.AH, netns: v.nsB, bindAddress: v.b4 });
    const bEsp = new LinuxPacketSocket({ family: 4, protocol: IpProto.ESP, netns: v.nsB });
    try {
      const ah: Seen[] = [];
      const esp: Seen[] = [];
      bAh.start(collect(ah));
      bEsp.start(collect(esp));
      // An AH header shape: next header 4, payload length 4 (24 bytes), reserved, SPI, sequence, 12-byte ICV.
      const packet = Buffer.from('040400000000100100000001' + 'aa'.repeat(12), 'hex');
      assert.equal(a.send(batchOf(4, [packet], v.b4)), 1);
      await waitFor(() => ah.length >= 1, 3000, 'the AH packet');
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(ah, [{ bytes: packet, kind: DatagramKind.AH, from: v.a4, to: v.b4 }]);
      assert.deepEqual(esp, []);
    } finally {
      for (const s of [a, bAh, bEsp]) await s.close();
    }
  }),
);

for (const family of [4, 6] as const) {
  test(
    `UDP over IPv${family}: 4500 demultiplexes IKE, keepalives and ESP-in-UDP; the wire carries the marker`,
    { skip: rootSkip },
    () =>
      withVeth(async (v) => {
        const [addrA, addrB] = family === 4 ? [v.a4, v.b4] : [v.a6, v.b6];
        const a4500 = new LinuxUdpEndpoint({ family, port: 4500, netns: v.nsA });
        const a500 = new LinuxUdpEndpoint({ family, port: 500, netns: v.nsA });
        const b4500 = new LinuxUdpEndpoint({ family, port: 4500, netns: v.nsB });
        const b500 = new LinuxUdpEndpoint({ family, port: 500, netns: v.nsB });
        const bPlain = new LinuxUdpEndpoint({ family, port: 4501, natT: false, netns: v.nsB });
        try {
          assert.equal(a4500.natT, true);
          assert.equal(b500.natT, false);
          const ike: [number, string, UdpAddress, UdpAddress][] = [];
          const keepalives: UdpAddress[] = [];
          const esp: Seen[] = [];
          b4500.start({
            ike: (m, r, l) => ike.push([4500, m.toString('hex'), r, l]),
            keepalive: (r) => keepalives.push(r),
            esp: (batch) => {
              const all: Seen[] = [];
              collect(all)(batch);
              all.forEach((s, i) => batch.kinds[i] === DatagramKind.ESP && esp.push(s));
            },
          });
          b500.start({ ike: (m, r, l) => ike.push([500, m.toString('hex'), r, l]) });
          bPlain.start({ ike: (m, r, l) => ike.push([4501, m.toString('hex'), r, l]) });
          const msg = Buffer.from('8877665544332211000000000000000021202208000000000000001c', 'hex');
          assert.equal(a500.sendIke(msg, { address: addrB, port: 500 }), true);
          await waitFor(() => ike.length >= 1, 3000, 'IKE on 500');
          assert.equal(a4500.sendIke(msg, { address: addrB, port: 4500 }), true);
          await waitFor(() => ike.length >= 2, 3000, 'IKE on 4500');
          assert.equal(a4500.sendIke(msg, { address: addrB, port: 4501 }), true);
          await waitFor(() => ike.length >= 3, 3000, 'IKE seen without demultiplexing');
          assert.equal(a4500.sendKeepalive({ address: addrB, port: 4500 }), true);
          const espPackets = [fakeEsp(0xdeadbeef, 1, 100), fakeEsp(0xdeadbeef, 2, 1400)];
          assert.equal(a4500.sendEsp(batchOf(family, espPackets, addrB, 4500)), 2);
          assert.equal(a500.sendEsp(batchOf(family, espPackets, addrB, 4500)), 0, 'no ESP-in-UDP on port 500');
          await waitFor(() => esp.length >= 2 && keepalives.length >= 1, 3000, 'ESP and the keepalive');
          const hex = msg.toString('hex');
          assert.deepEqual(ike, [
            [500, hex, { address: addrA, port: 500 }, { address: addrB, port: 500 }],
            [4500, hex, { address: addrA, port: 4500 }, { address: addrB, port: 4500 }],
            [4501, '00000000' + hex, { address: addrA, port: 4500 }, { address: addrB, port: 4501 }],
          ]);
          assert.deepEqual(keepalives, [{ address: addrA, port: 4500 }]);
          assert.equal(b4500.keepalivesReceived, 1);
          assert.deepEqual(
            esp.map((s) => [s.bytes.toString('hex'), s.from, s.to]),
            espPackets.map((p) => [p.toString('hex'), addrA, addrB]),
          );
          assert.equal(b4500.stats.rxDrops, 0);
        } finally {
          for (const s of [a4500, a500, b4500, b500, bPlain]) await s.close();
        }
      }),
  );
}

test(
  'SO_MARK: marked sends follow the policy route for the mark, unmarked ones the main table',
  { skip: rootSkip },
  () =>
    withVeth(async (v) => {
      // In A, marked packets look up table 100, where the peer is unreachable (blackhole).
      sh('ip', ['-n', v.nsA, 'rule', 'add', 'fwmark', '0x42', 'table', '100', 'priority', '100']);
      sh('ip', ['-n', v.nsA, 'route', 'add', 'blackhole', '192.0.2.0/24', 'table', '100']);
      const marked = new LinuxUdpEndpoint({ family: 4, port: 4600, mark: 0x42, netns: v.nsA });
      const plain = new LinuxUdpEndpoint({ family: 4, port: 4601, netns: v.nsA });
      const b = new LinuxUdpEndpoint({ family: 4, port: 500, netns: v.nsB });
      try {
        const from: number[] = [];
        b.start({ ike: (_m, r) => from.push(r.port) });
        const msg = Buffer.from('0102030405060708', 'hex');
        assert.equal(marked.sendIke(msg, { address: v.b4, port: 500 }), false);
        assert.equal(marked.stats.txErrors, 1);
        assert.equal(plain.sendIke(msg, { address: v.b4, port: 500 }), true);
        await waitFor(() => from.length >= 1, 3000, 'the unmarked message');
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(from, [4601]);
      } finally {
        for (const s of [marked, plain, b]) await s.close();
      }
    }),
);

test(
  'sockets: close() with a receive armed releases the fd; sending after close does nothing',
  { skip: rootSkip },
  () =>
    withVeth(async (v) => {
      const raw = new LinuxPacketSocket({ family: 6, protocol: IpProto.ESP, netns: v.nsA });
      const udp = new LinuxUdpEndpoint({ family: 6, port: 0, natT: true, netns: v.nsA });
      assert.ok(udp.port > 0, 'an ephemeral port was bound');
      raw.start(() => assert.fail('nothing sent'));
      udp.start({ ike: () => assert.fail('nothing sent') });
      await raw.close();
      await udp.close();
      await raw.close();
      assert.equal(raw.send(batchOf(6, [fakeEsp(1, 1, 8)], v.b6)), 0);
      assert.equal(udp.sendIke(Buffer.from([1, 2, 3, 4]), { address: v.b6, port: 500 }), false);
      assert.throws(
        () => new LinuxUdpEndpoint({ family: 4, port: 500, bindAddress: '198.51.100.77', netns: v.nsA }),
        /EADDRNOTAVAIL/,
      );
    }),
);

for (const family of [4, 6] as const) {
  test(
    `IPv${family}: a reply leaves from the address its request arrived on (PKTINFO), UDP and raw ESP`,
    { skip: rootSkip },
    () =>
      withVeth(async (v) => {
        // B gets a second address; requests go to it, and replies must come from it, not from B's first address.
        // Never the kernel's own source choice: a secondary address (IPv4), a deprecated one (IPv6).
        const second = family === 4 ? '192.0.2.3' : '2001:db8::beef';
        const addrA = family === 4 ? v.a4 : v.a6;
        const plen = family === 4 ? 24 : 64;
        sh('ip', [
          '-n',
          v.nsB,
          'addr',
          'add',
          `${second}/${plen}`,
          'dev',
          'veth1',
          ...(family === 6 ? ['nodad', 'preferred_lft', '0'] : []),
        ]);
        const a = new LinuxUdpEndpoint({ family, port: 4500, netns: v.nsA });
        const b = new LinuxUdpEndpoint({ family, port: 4500, netns: v.nsB });
        const rawA = new LinuxPacketSocket({ family, protocol: IpProto.ESP, netns: v.nsA });
        const rawB = new LinuxPacketSocket({ family, protocol: IpProto.ESP, netns: v.nsB });
        try {
          const replies: [string, UdpAddress][] = [];
          b.start({
            ike: (m, remote, local) => b.sendIke(Buffer.concat([m, Buffer.from('/r')]), remote, local.address),
          });
          a.start({ ike: (m, remote) => replies.push([m.toString(), remote]) });
          const rawReplies: Seen[] = [];
          rawB.start((batch) => {
            // Echo each packet back in place, from the address it was sent to.
            assert.equal(rawB.send(batch), batch.count);
          });
          rawA.start(collect(rawReplies));
          assert.equal(a.sendIke(Buffer.from('hello'), { address: second, port: 4500 }), true);
          assert.equal(rawA.send(batchOf(family, [fakeEsp(0x5150, 1, 32)], second)), 1);
          await waitFor(() => replies.length >= 1 && rawReplies.length >= 1, 3000, 'the replies');
          assert.deepEqual(replies, [['hello/r', { address: second, port: 4500 }]]);
          assert.deepEqual(
            rawReplies.map((r) => [r.bytes.toString('hex'), r.from, r.to]),
            [[fakeEsp(0x5150, 1, 32).toString('hex'), second, addrA]],
          );
        } finally {
          for (const s of [a, b, rawA, rawB]) await s.close();
        }
      }),
  );
}

test('gsoRunLength: one peer, one size (the last may be shorter), limits on room and segments', () => {
  const sized = (lens: number[], to: string[] = lens.map(() => '192.0.2.2')): DatagramBatch => {
    const b = batchOf(
      4,
      lens.map((n, i) => fakeEsp(1, i + 1, n - 8)),
      '192.0.2.2',
      4500,
    );
    to.forEach((a, i) => writeAddressSlot(a, 4, b.remoteAddrs, i));
    return b;
  };
  assert.equal(gsoRunLength(sized([1000, 1000, 1000, 400]), 0, 32), 4);
  assert.equal(gsoRunLength(sized([1000, 1000, 400, 1000]), 0, 32), 3, 'a shorter one ends the run');
  assert.equal(gsoRunLength(sized([1000, 1200]), 0, 32), 1, 'a longer one never joins');
  assert.equal(gsoRunLength(sized([1000, 1000, 1000], ['192.0.2.2', '192.0.2.2', '192.0.2.3']), 0, 32), 2);
  assert.equal(gsoRunLength(sized([1000, 1000, 1000]), 0, 2), 2, 'room for two iovecs');
  const ports = sized([1000, 1000]);
  ports.remotePorts[1] = 4501;
  assert.equal(gsoRunLength(ports, 0, 32), 1);
});

for (const family of [4, 6] as const) {
  for (const gro of [true, false]) {
    test(
      `ESP in UDP over IPv${family} with UDP GSO, received with UDP GRO ${gro ? 'on' : 'off'}: one send carries a run, the peer gets each datagram whole; refused GSO falls back`,
      { skip: rootSkip },
      () =>
        withVeth(async (v) => {
          const [addrA, addrB] = family === 4 ? [v.a4, v.b4] : [v.a6, v.b6];
          const a = new LinuxUdpEndpoint({ family, port: 4500, netns: v.nsA });
          const b = new LinuxUdpEndpoint({
            family,
            port: 4500,
            netns: v.nsB,
            ...(gro ? {} : { udpGro: 'offloads turned off (test)' }),
          });
          try {
            assert.equal(a.gso.enabled, true);
            assert.deepEqual(
              [b.gro.enabled, b.gro.fallback],
              gro ? [true, undefined] : [false, 'offloads turned off (test)'],
            );
            // The ESP slots only: a batch may also hold the IKE message and the keepalive.
            const all: Seen[] = [];
            const esp: Seen[] = [];
            const ike: Buffer[] = [];
            let keepalives = 0;
            b.start({
              ike: (m) => ike.push(m),
              esp: (batch) => {
                all.length = 0;
                collect(all)(batch);
                esp.push(...all.filter((x) => x.kind === DatagramKind.ESP));
              },
              keepalive: () => keepalives++,
            });
            const run = [1, 2, 3, 4, 5, 6, 7, 8].map((seq) => fakeEsp(0xfeedf00d, seq, seq === 8 ? 300 : 1200));
            assert.equal(a.sendEsp(batchOf(family, run, addrB, 4500)), 8);
            // IKE behind the non-ESP marker and a NAT-keepalive between runs: never merged with ESP.
            assert.ok(a.sendIke(Buffer.from('an IKE message'), { address: addrB, port: 4500 }));
            assert.ok(a.sendKeepalive({ address: addrB, port: 4500 }));
            const run2 = [21, 22, 23, 24].map((seq) => fakeEsp(0xfeedf00d, seq, 1000));
            assert.equal(a.sendEsp(batchOf(family, run2, addrB, 4500)), 4);
            await waitFor(() => esp.length >= 12 && ike.length >= 1 && keepalives >= 1, 3000, 'twelve datagrams');
            assert.deepEqual(
              esp.map((s) => s.bytes),
              [...run, ...run2],
            );
            assert.ok(esp.every((s) => s.from === addrA && s.to === addrB));
            assert.deepEqual([ike.map((m) => m.toString()), keepalives], [['an IKE message'], 1]);
            assert.deepEqual([a.gso.sends, a.gso.segments], [2, 12]);
            // Every datagram is counted once, whether it came alone or inside a GRO receive.
            assert.equal(b.stats.rxPackets, 14);
            assert.equal(b.stats.rxDrops, 0);
            if (gro) assert.deepEqual([b.gro.receives, b.gro.datagrams], [2, 12], 'each GSO send arrived as one');
            else assert.deepEqual([b.gro.receives, b.gro.datagrams], [0, 0]);
            // Segments larger than the path allows: the kernel refuses the GSO message, the run goes one by one.
            sh('ip', ['-n', v.nsA, 'link', 'set', 'veth0', 'mtu', '1280']);
            const big = [11, 12, 13].map((seq) => fakeEsp(0xfeedf00d, seq, 1300));
            assert.equal(a.sendEsp(batchOf(family, big, addrB, 4500)), 3);
            await waitFor(() => esp.length >= 15, 3000, 'the fallback datagrams');
            assert.deepEqual(
              esp.slice(12).map((s) => s.bytes),
              big,
            );
            assert.equal(a.gso.enabled, false);
            assert.match(a.gso.fallback ?? '', /UDP_SEGMENT refused/);
          } finally {
            await a.close();
            await b.close();
          }
        }),
    );
  }
}

for (const family of [4, 6] as const) {
  test(
    `IPv${family}: each datagram's TOS / Traffic Class goes out as given (IP_TOS / IPV6_TCLASS) and is read on receipt, raw ESP and ESP-in-UDP`,
    { skip: rootSkip },
    () =>
      withVeth(async (v) => {
        const addrB = family === 4 ? v.b4 : v.b6;
        const rawA = new LinuxPacketSocket({ family, protocol: IpProto.ESP, netns: v.nsA });
        const rawB = new LinuxPacketSocket({ family, protocol: IpProto.ESP, netns: v.nsB });
        const udpA = new LinuxUdpEndpoint({ family, port: 4500, netns: v.nsA });
        const udpB = new LinuxUdpEndpoint({ family, port: 4500, netns: v.nsB });
        try {
          const rawSeen: number[] = [];
          const udpSeen: number[] = [];
          rawB.start((b) => {
            for (let i = 0; i < b.count; i++) rawSeen.push(b.tos?.[i] ?? -1);
          });
          udpA.start({ ike: () => undefined });
          udpB.start({
            ike: () => undefined,
            esp: (b) => {
              for (let i = 0; i < b.count; i++) if (b.kinds[i] === DatagramKind.ESP) udpSeen.push(b.tos?.[i] ?? -1);
            },
          });
          const tos = [0xb8 | 2, 0x28, 0, 0xb8 | 3];
          const raw = batchOf(
            family,
            tos.map((_, k) => fakeEsp(0x6000 + k, 1, 16)),
            addrB,
          );
          const enc = batchOf(
            family,
            tos.map((_, k) => fakeEsp(0x7000 + k, 1, 16)),
            addrB,
            4500,
          );
          tos.forEach((t, k) => {
            raw.tos![k] = t;
            enc.tos![k] = t;
          });
          assert.equal(rawA.send(raw), tos.length);
          assert.equal(udpA.sendEsp(enc), tos.length);
          await waitFor(() => rawSeen.length >= tos.length && udpSeen.length >= tos.length, 3000, 'the datagrams');
          assert.deepEqual(rawSeen, tos, 'raw ESP');
          assert.deepEqual(udpSeen, tos, 'ESP in UDP');
        } finally {
          for (const s of [rawA, rawB, udpA, udpB]) await s.close();
        }
      }),
  );
}
