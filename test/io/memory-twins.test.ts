import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDatagramBatch, createPacketBatch } from '../../src/io/batch.js';
import { MemoryClock, SystemClock } from '../../src/io/clock.js';
import { readAddressSlot, writeAddressSlot } from '../../src/io/ip-address.js';
import { MemoryNetwork } from '../../src/io/memory-network.js';
import { MemoryTun } from '../../src/io/memory-tun.js';
import { DatagramKind, type DatagramBatch, type UdpAddress } from '../../src/io/types.js';
import { echoReplyFor, fakeEsp, icmpEcho, parseIcmpEcho } from './packets.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await tick();
}

function fill(batch: DatagramBatch, packets: readonly Buffer[], to: string, port = 0): void {
  packets.forEach((p, i) => {
    const buf = batch.bufs[i];
    assert.ok(buf !== undefined);
    p.copy(buf, 16);
    batch.offsets[i] = 16;
    batch.lengths[i] = p.length;
    writeAddressSlot(to, batch.family, batch.remoteAddrs, i);
    batch.remotePorts[i] = port;
  });
  batch.count = packets.length;
}

interface Seen {
  bytes: Buffer;
  kind: number;
  from: string;
  to: string;
}

function collect(into: Seen[]): (b: DatagramBatch) => void {
  return (b) => {
    for (let i = 0; i < b.count; i++) {
      const buf = b.bufs[i];
      assert.ok(buf !== undefined);
      const off = b.offsets[i] ?? 0;
      into.push({
        bytes: Buffer.from(buf.subarray(off, off + (b.lengths[i] ?? 0))),
        kind: b.kinds[i] ?? 0,
        from: readAddressSlot(b.remoteAddrs, i, b.family),
        to: readAddressSlot(b.localAddrs, i, b.family),
      });
    }
  };
}

test('memory raw ESP sockets: two peers exchange packets both ways with addresses', async () => {
  const net = new MemoryNetwork();
  const a = net.raw(6, '2001:db8::1', 50);
  const b = net.raw(6, '2001:0db8:0::2', 50);
  const atA: Seen[] = [];
  const atB: Seen[] = [];
  a.start(collect(atA));
  b.start(collect(atB));
  const out = createDatagramBatch({ size: 4, bufferBytes: 2048 }, 6);
  fill(out, [fakeEsp(0x1001, 1, 100), fakeEsp(0x1001, 2, 1400)], '2001:db8::2');
  assert.equal(a.send(out), 2);
  fill(out, [fakeEsp(0x2002, 1, 60)], '2001:db8::1');
  assert.equal(b.send(out), 1);
  await settle();
  assert.deepEqual(
    atB.map((s) => [s.bytes.equals(fakeEsp(0x1001, s.bytes.readUInt32BE(4), s.bytes.length - 8)), s.from, s.to]),
    [
      [true, '2001:db8::1', '2001:db8::2'],
      [true, '2001:db8::1', '2001:db8::2'],
    ],
  );
  assert.deepEqual(
    atB.map((s) => s.bytes.length),
    [108, 1408],
  );
  assert.equal(atA.length, 1);
  assert.ok(atA[0]?.bytes.equals(fakeEsp(0x2002, 1, 60)));
  assert.equal(atA[0]?.kind, DatagramKind.ESP);
  assert.equal(a.stats.txPackets, 2);
  assert.equal(b.stats.rxPackets, 2);
  await a.close();
  await b.close();
});

test('memory network keeps send order across batches and delivers in batches', async () => {
  const net = new MemoryNetwork();
  const a = net.raw(4, '192.0.2.1', 50);
  const b = net.raw(4, '192.0.2.2', 50, 16);
  const seen: Seen[] = [];
  const batchSizes: number[] = [];
  b.start((batch) => {
    batchSizes.push(batch.count);
    collect(seen)(batch);
  });
  const out = createDatagramBatch({ size: 10, bufferBytes: 256 }, 4);
  for (let round = 0; round < 10; round++) {
    const packets = Array.from({ length: 10 }, (_, i) => fakeEsp(7, round * 10 + i + 1, 32));
    fill(out, packets, '192.0.2.2');
    assert.equal(a.send(out), 10);
  }
  await settle();
  assert.deepEqual(
    seen.map((s) => s.bytes.readUInt32BE(4)),
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
  assert.deepEqual(batchSizes, [16, 16, 16, 16, 16, 16, 4]);
  assert.equal(b.stats.rxWakeups, 7);
  await a.close();
  await b.close();
});

test('memory sockets: close drops queued packets, unbinds, and the address can be bound again', async () => {
  const net = new MemoryNetwork();
  const a = net.raw(4, '192.0.2.1', 51);
  const b = net.raw(4, '192.0.2.2', 51);
  let delivered = 0;
  b.start((batch) => (delivered += batch.count));
  const out = createDatagramBatch({ size: 1, bufferBytes: 64 }, 4);
  fill(out, [fakeEsp(1, 1, 8)], '192.0.2.2');
  a.send(out);
  await b.close();
  await settle();
  assert.equal(delivered, 0);
  a.send(out);
  assert.equal(net.undeliverable, 1);
  assert.throws(() => net.raw(4, '192.0.2.1', 51), /already bound/);
  const b2 = net.raw(4, '192.0.2.2', 51);
  const seen: Seen[] = [];
  b2.start(collect(seen));
  a.send(out);
  await settle();
  assert.equal(seen.length, 1);
  assert.equal(seen[0]?.kind, DatagramKind.AH);
  await a.close();
  assert.equal(a.send(out), 0);
  await b2.close();
});

test('memory UDP 4500: IKE behind the marker, keepalives and ESP are told apart; port 500 has no marker', async () => {
  const net = new MemoryNetwork();
  const i4500 = net.udp(4, '203.0.113.1', 4500);
  const r4500 = net.udp(4, '203.0.113.2', 4500);
  const r4501raw = net.udp(4, '203.0.113.2', 4501, { natT: false });
  const i500 = net.udp(4, '203.0.113.1', 500);
  const r500 = net.udp(4, '203.0.113.2', 500);
  const ike: { msg: Buffer; remote: UdpAddress; local: UdpAddress; port: number }[] = [];
  const keepalives: UdpAddress[] = [];
  const esp: Seen[] = [];
  r4500.start({
    ike: (msg, remote, local) => ike.push({ msg, remote, local, port: 4500 }),
    keepalive: (remote) => keepalives.push(remote),
    esp: (batch) => {
      const all: Seen[] = [];
      collect(all)(batch);
      all.forEach((s, i) => {
        if (batch.kinds[i] === DatagramKind.ESP) esp.push(s);
      });
    },
  });
  r4501raw.start({ ike: (msg, remote, local) => ike.push({ msg, remote, local, port: 4501 }) });
  r500.start({ ike: (msg, remote, local) => ike.push({ msg, remote, local, port: 500 }) });
  const message = Buffer.from('0011223344556677000000000000000021202208', 'hex');
  const remote4500 = { address: '203.0.113.2', port: 4500 };
  assert.equal(i4500.sendIke(message, remote4500), true);
  assert.equal(i4500.sendKeepalive(remote4500), true);
  const out = createDatagramBatch({ size: 2, bufferBytes: 256 }, 4);
  fill(out, [fakeEsp(0xc0ffee, 1, 40), fakeEsp(0xc0ffee, 2, 40)], '203.0.113.2', 4500);
  assert.equal(i4500.sendEsp(out), 2);
  assert.equal(i4500.sendIke(message, { address: '203.0.113.2', port: 4501 }), true);
  assert.equal(i500.sendIke(message, { address: '203.0.113.2', port: 500 }), true);
  assert.equal(i500.sendEsp(out), 0, 'no ESP on a port without the marker');
  await settle();
  assert.deepEqual(
    ike.map((m) => [m.port, m.msg.toString('hex'), m.remote, m.local]),
    [
      [4500, message.toString('hex'), { address: '203.0.113.1', port: 4500 }, remote4500],
      // Seen by a socket that does not demultiplex: the wire carries four zero bytes before the message.
      [
        4501,
        '00000000' + message.toString('hex'),
        { address: '203.0.113.1', port: 4500 },
        { address: '203.0.113.2', port: 4501 },
      ],
      [500, message.toString('hex'), { address: '203.0.113.1', port: 500 }, { address: '203.0.113.2', port: 500 }],
    ],
  );
  assert.deepEqual(keepalives, [{ address: '203.0.113.1', port: 4500 }]);
  assert.equal(r4500.keepalivesReceived, 1);
  assert.deepEqual(
    esp.map((s) => s.bytes.readUInt32BE(4)),
    [1, 2],
  );
  assert.ok(esp[0]?.bytes.equals(fakeEsp(0xc0ffee, 1, 40)));
  for (const s of [i4500, r4500, r4501raw, i500, r500]) await s.close();
});

test('two peers over memory TUNs and UDP 4500: an ICMP echo round trip', async () => {
  const net = new MemoryNetwork();
  const tunA = new MemoryTun({ name: 'a0', mtu: 1400 });
  const tunB = new MemoryTun({ name: 'b0', mtu: 1400 });
  const udpA = net.udp(4, '192.0.2.1', 4500);
  const udpB = net.udp(4, '192.0.2.2', 4500);
  const replies: Buffer[] = [];
  tunA.onWrite = (p) => replies.push(p);
  // B's kernel answers every echo request routed to it.
  tunB.onWrite = (p) => {
    const reply = echoReplyFor(p);
    if (reply !== undefined) tunB.inject(reply);
  };
  // A pass-through data plane: TUN slots go out as ESP-in-UDP payloads from the same buffers (no copy),
  // and UDP ESP slots are written to the TUN from the receive buffers.
  const forward = (tun: MemoryTun, udp: typeof udpA, peer: string): void => {
    const out = createDatagramBatch({ size: 32, bufferBytes: 0 }, 4);
    tun.start((batch) => {
      for (let i = 0; i < batch.count; i++) {
        out.bufs[i] = batch.bufs[i] ?? Buffer.alloc(0);
        out.offsets[i] = batch.offsets[i] ?? 0;
        out.lengths[i] = batch.lengths[i] ?? 0;
        writeAddressSlot(peer, 4, out.remoteAddrs, i);
        out.remotePorts[i] = 4500;
      }
      out.count = batch.count;
      udp.sendEsp(out);
    });
    const toTun = createPacketBatch({ size: 32, bufferBytes: 0 });
    udp.start({
      ike: () => assert.fail('no IKE expected'),
      esp: (batch) => {
        let n = 0;
        for (let i = 0; i < batch.count; i++) {
          if (batch.kinds[i] !== DatagramKind.ESP) continue;
          toTun.bufs[n] = batch.bufs[i] ?? Buffer.alloc(0);
          toTun.offsets[n] = batch.offsets[i] ?? 0;
          toTun.lengths[n] = batch.lengths[i] ?? 0;
          n++;
        }
        toTun.count = n;
        tun.write(toTun);
      },
    });
  };
  forward(tunA, udpA, '192.0.2.2');
  forward(tunB, udpB, '192.0.2.1');
  const data = Buffer.from('abcdefghijklmnopqrstuvwxyz012345');
  for (let seq = 1; seq <= 3; seq++) {
    assert.equal(tunA.inject(icmpEcho(8, '198.51.100.1', '198.51.100.2', 0x77, seq, data)), true);
  }
  await settle(10);
  assert.deepEqual(
    replies.map((r) => {
      const e = parseIcmpEcho(r);
      return e && [e.type, e.src, e.dst, e.id, e.seq, e.data.equals(data)];
    }),
    [1, 2, 3].map((seq) => [0, '198.51.100.2', '198.51.100.1', 0x77, seq, true]),
  );
  assert.equal(tunA.stats.rxPackets, 3);
  assert.equal(tunB.stats.txPackets, 3);
  assert.equal(udpB.stats.rxPackets, 3);
  for (const c of [tunA, tunB, udpA, udpB]) await c.close();
  assert.equal(tunA.inject(data), false, 'a closed TUN takes nothing');
});

test('memory TUN: packets read at the headroom offset; oversize injections dropped; batches of up to batchSize', async () => {
  const tun = new MemoryTun({ mtu: 100, headroom: 48, batchSize: 4 });
  const got: [number, number, string][] = [];
  const counts: number[] = [];
  tun.start((b) => {
    counts.push(b.count);
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i] ?? 0;
      got.push([off, b.lengths[i] ?? 0, b.bufs[i]?.subarray(off, off + (b.lengths[i] ?? 0)).toString() ?? '']);
    }
  });
  assert.equal(tun.inject(Buffer.alloc(101)), false);
  for (let i = 0; i < 6; i++) tun.inject(Buffer.from(`packet-${i}`));
  await settle();
  assert.deepEqual(counts, [4, 2]);
  assert.deepEqual(
    got.map((g) => g[2]),
    ['packet-0', 'packet-1', 'packet-2', 'packet-3', 'packet-4', 'packet-5'],
  );
  assert.ok(got.every((g) => g[0] === 48 && g[1] === 8));
  assert.equal(tun.stats.rxDrops, 1);
  await tun.close();
});

test('MemoryClock fires the single deadline when time reaches it, and callbacks may re-arm', () => {
  const clock = new MemoryClock(1000);
  const fired: number[] = [];
  const onFire = (now: number): void => {
    fired.push(now);
    if (fired.length < 3) clock.setDeadline(now + 100, onFire);
  };
  clock.setDeadline(1100, onFire);
  assert.equal(clock.advance(50), 0);
  assert.equal(clock.nowMs(), 1050);
  assert.equal(clock.advance(1000), 3);
  assert.deepEqual(fired, [1100, 1200, 1300]);
  assert.equal(clock.nowMs(), 2050);
  clock.setDeadline(2100, onFire);
  clock.setDeadline(undefined, onFire);
  assert.equal(clock.advance(100), 0);
  assert.equal(clock.deadlineMs, undefined);
});

test('SystemClock fires once at the deadline and cancel() prevents firing', async () => {
  const clock = new SystemClock();
  const start = clock.nowMs();
  const fired = await new Promise<number>((resolve) => clock.setDeadline(start + 20, resolve));
  assert.ok(fired >= start + 20, `fired at +${fired - start} ms`);
  let late = false;
  clock.setDeadline(clock.nowMs() + 10, () => (late = true));
  clock.cancel();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(late, false);
});
