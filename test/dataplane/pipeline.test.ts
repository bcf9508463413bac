/** Data-plane decisions other than the happy path: selectors, policies, lifetimes, NAT mapping, hostile input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatagramBatch, createPacketBatch } from '../../src/io/batch.js';
import { writeAddressSlot } from '../../src/io/ip-address.js';
import type { MemoryNetwork } from '../../src/io/memory-network.js';
import {
  HOST_A,
  HOST_B,
  OUTER_A,
  OUTER_B,
  REQID,
  SITE_B,
  SPI_A_TO_B,
  makePeers,
  nextWrites,
  settle,
} from './two-peers.js';
import { ICMP_ECHO_REQUEST, icmpEcho, ipv4, udp } from '../spd/packets.js';

const ATTACKER = '203.0.113.66';

function echo(src: string, dst: string, seq = 1): Buffer {
  return ipv4(src, dst, 1, icmpEcho(ICMP_ECHO_REQUEST, 3, seq, Buffer.from('payload-bytes')));
}

/** Send raw protocol-50 datagrams from another host on the network. */
function sendRawEsp(net: MemoryNetwork, to: string, datagrams: Buffer[]): void {
  const sock = net.raw(4, ATTACKER, 50);
  const b = createDatagramBatch({ size: datagrams.length, bufferBytes: 2048 }, 4);
  datagrams.forEach((d, i) => {
    d.copy(b.bufs[i]!, 0);
    b.offsets[i] = 0;
    b.lengths[i] = d.length;
    writeAddressSlot(to, 4, b.remoteAddrs, i);
  });
  b.count = datagrams.length;
  sock.send(b);
  void sock.close();
}

test("an inner packet outside the SA's selectors is dropped as 'policy' (RFC 4301 5.2)", async () => {
  const p = await makePeers();
  try {
    // A (misconfigured or malicious) sends 192.0.2.200 -> B through the SA, whose selectors say 192.0.2.0/25.
    await p.a.dp.addPolicy({
      direction: 'out',
      selector: { local: '192.0.2.128/25', remote: SITE_B },
      action: 'protect',
      reqid: REQID,
    });
    const atB = nextWrites(p.b.tun, 1, 300);
    p.a.tun.inject(echo('192.0.2.200', HOST_B));
    await assert.rejects(atB);
    const u = await p.b.dp.querySa({ protocol: 'esp', spi: SPI_A_TO_B, dst: OUTER_B });
    assert.equal(u.drops.policy, 1);
    assert.equal(u.packets, 0);
    assert.equal(
      (await p.a.dp.querySa({ protocol: 'esp', spi: SPI_A_TO_B, dst: OUTER_B })).packets,
      1,
      'A did seal it',
    );
    // A matching packet on the same SA still passes.
    const ok = nextWrites(p.b.tun);
    p.a.tun.inject(echo(HOST_A, HOST_B));
    assert.equal((await ok).length, 1);
  } finally {
    await p.close();
  }
});

test('discard, bypass-in-TUN, no policy and malformed TUN packets are counted drops', async () => {
  const p = await makePeers();
  try {
    await p.a.dp.addPolicy({
      direction: 'out',
      selector: { local: '192.0.2.0/25', remote: '198.51.100.99/32' },
      action: 'discard',
    });
    await p.a.dp.addPolicy({
      direction: 'out',
      selector: { local: '192.0.2.0/25', remote: SITE_B, protocol: 17, remotePort: 53 },
      action: 'bypass',
    });
    p.a.tun.inject(echo(HOST_A, '198.51.100.99'));
    p.a.tun.inject(ipv4(HOST_A, HOST_B, 17, udp(3333, 53)));
    p.a.tun.inject(echo(HOST_A, '203.0.113.50'));
    p.a.tun.inject(Buffer.from([0x45, 0, 0, 99, 1, 2, 3]));
    await settle();
    const d = p.a.dp.stats.drops;
    assert.deepEqual([d.discard, d.bypassInTun, d.noPolicy, d.malformed], [1, 1, 1, 1]);
    assert.equal(p.a.raw.stats.txPackets, 0, 'none of them reached the network');
  } finally {
    await p.close();
  }
});

test('packet lifetimes: soft and hard expire upcalls on both sides, then expired drops', async () => {
  const p = await makePeers({ lifetime: { softPackets: 2, hardPackets: 3 } });
  try {
    const atB = nextWrites(p.b.tun, 3);
    for (let i = 1; i <= 4; i++) p.a.tun.inject(echo(HOST_A, HOST_B, i));
    assert.equal((await atB).length, 3);
    await settle();
    const key = { protocol: 'esp' as const, spi: SPI_A_TO_B, dst: OUTER_B };
    assert.deepEqual(
      p.a.upcalls.expires.map((e) => [e.id.spi, e.inbound, e.hard, e.reason]),
      [
        [SPI_A_TO_B, false, false, 'packets'],
        [SPI_A_TO_B, false, true, 'packets'],
      ],
    );
    assert.deepEqual(
      p.b.upcalls.expires.map((e) => [e.id.spi, e.inbound, e.hard, e.reason]),
      [
        [SPI_A_TO_B, true, false, 'packets'],
        [SPI_A_TO_B, true, true, 'packets'],
      ],
    );
    const ua = await p.a.dp.querySa(key);
    assert.equal(ua.state, 'hard-expired');
    assert.equal(ua.packets, 3);
    assert.equal(ua.drops.expired, 1, 'the fourth packet was refused');
    assert.equal(p.a.raw.stats.txPackets, 3);
  } finally {
    await p.close();
  }
});

test('rekey: a new outbound SA with the same reqid takes over; deleting it falls back', async () => {
  const p = await makePeers();
  const spis: number[] = [];
  p.net.drop = (pkt, protocol) => {
    if (protocol === 50 && pkt.srcAddr === OUTER_A) spis.push(pkt.bytes.readUInt32BE(0));
    return false;
  };
  try {
    const NEW_SPI = 0xa0000002;
    const { saArgs, KEY_A_TO_B } = await import('./two-peers.js');
    await p.b.dp.addSa(saArgs(NEW_SPI, true, OUTER_A, OUTER_B, [p.selB], {}, KEY_A_TO_B));
    await p.a.dp.addSa(saArgs(NEW_SPI, false, OUTER_A, OUTER_B, [p.selA], {}, KEY_A_TO_B));
    let at = nextWrites(p.b.tun);
    p.a.tun.inject(echo(HOST_A, HOST_B, 1));
    await at;
    await p.a.dp.delSa({ protocol: 'esp', spi: NEW_SPI, dst: OUTER_B });
    at = nextWrites(p.b.tun);
    p.a.tun.inject(echo(HOST_A, HOST_B, 2));
    await at;
    assert.deepEqual(spis, [NEW_SPI, SPI_A_TO_B]);
  } finally {
    await p.close();
  }
});

test('replayed, tampered, unknown-SPI and garbage ESP packets are counted, never delivered', async () => {
  const p = await makePeers();
  const captured: Buffer[] = [];
  p.net.drop = (pkt, protocol) => {
    if (protocol === 50 && pkt.dstAddr === OUTER_B) captured.push(Buffer.from(pkt.bytes));
    return false;
  };
  try {
    const at = nextWrites(p.b.tun);
    p.a.tun.inject(echo(HOST_A, HOST_B));
    await at;
    const good = captured[0]!;
    const tampered = Buffer.from(good);
    tampered[30] = tampered[30]! ^ 0x01;
    const tamperedSeq = Buffer.from(tampered);
    tamperedSeq.writeUInt32BE(2, 4);
    const unknown = Buffer.from(good);
    unknown.writeUInt32BE(0x12345678, 0);
    const garbage: Buffer[] = [Buffer.from([1, 2, 3]), Buffer.alloc(0), Buffer.alloc(7, 0xff)];
    for (let i = 0; i < 50; i++) {
      const g = Buffer.alloc(8 + ((i * 37) % 200));
      for (let j = 0; j < g.length; j++) g[j] = (i * 131 + j * 17) & 0xff;
      g.writeUInt32BE(i % 2 === 0 ? SPI_A_TO_B : i, 0);
      garbage.push(g);
    }
    const none = nextWrites(p.b.tun, 1, 300);
    sendRawEsp(p.net, OUTER_B, [good, tamperedSeq, unknown, ...garbage]);
    await assert.rejects(none, /0 of 1/);
    const u = await p.b.dp.querySa({ protocol: 'esp', spi: SPI_A_TO_B, dst: OUTER_B });
    assert.equal(u.packets, 1, 'only the original');
    assert.ok(u.drops.replay >= 1, 'the replayed copy');
    assert.ok(u.drops.icv >= 1, 'the tampered copy');
    assert.ok(p.b.dp.stats.drops.noSa >= 1, 'unknown SPI');
    const total =
      Object.values(u.drops).reduce((x, y) => x + y, 0) + p.b.dp.stats.drops.noSa + p.b.dp.stats.drops.malformed;
    assert.equal(
      total,
      2 + 1 + garbage.length - 1,
      'every hostile datagram is accounted for (the empty one is not delivered)',
    );
  } finally {
    await p.close();
  }
});

test('ESP-in-UDP from a new source port raises one mapping upcall after authentication', async () => {
  const p = await makePeers({ encap: true });
  try {
    // B believes A's port is 4501 (say, an earlier NAT mapping); A's packets now arrive from 4500.
    await p.b.dp.updateSa({
      id: { protocol: 'esp', spi: SPI_A_TO_B, dst: OUTER_B },
      encap: { sport: 4501, dport: 4500 },
    });
    const at = nextWrites(p.b.tun, 2);
    p.a.tun.inject(echo(HOST_A, HOST_B, 1));
    p.a.tun.inject(echo(HOST_A, HOST_B, 2));
    await at;
    await settle();
    assert.deepEqual(p.b.upcalls.mappings, [
      {
        id: { protocol: 'esp', spi: SPI_A_TO_B, dst: OUTER_B },
        reqid: REQID,
        oldSrc: { address: OUTER_A, port: 4501 },
        newSrc: { address: OUTER_A, port: 4500 },
      },
    ]);
    // IKE updates the SA; no more upcalls.
    await p.b.dp.updateSa({
      id: { protocol: 'esp', spi: SPI_A_TO_B, dst: OUTER_B },
      encap: { sport: 4500, dport: 4500 },
    });
    const at2 = nextWrites(p.b.tun, 1);
    p.a.tun.inject(echo(HOST_A, HOST_B, 3));
    await at2;
    await settle();
    assert.equal(p.b.upcalls.mappings.length, 1);
    // A forged packet (right SPI, bad ICV) from a new port raises nothing: mappings need authentication.
    const forger = p.net.udp(4, ATTACKER, 4500);
    const b = createDatagramBatch({ size: 1, bufferBytes: 256 }, 4);
    const forged = Buffer.alloc(64, 0x5a);
    forged.writeUInt32BE(SPI_A_TO_B, 0);
    forged.writeUInt32BE(1000, 4);
    forged.copy(b.bufs[0]!, 0);
    b.lengths[0] = forged.length;
    b.remotePorts[0] = 4500;
    writeAddressSlot(OUTER_B, 4, b.remoteAddrs, 0);
    b.count = 1;
    assert.equal(forger.sendEsp(b), 1);
    await settle();
    await forger.close();
    assert.equal(p.b.upcalls.mappings.length, 1);
    assert.equal(p.b.dp.stats.mappings, 1);
    assert.equal((await p.b.dp.querySa({ protocol: 'esp', spi: SPI_A_TO_B, dst: OUTER_B })).drops.icv, 1);
  } finally {
    await p.close();
  }
});

test('random and truncated TUN input never throws and is always accounted for', async () => {
  const p = await makePeers();
  try {
    const batch = createPacketBatch({ size: 32, bufferBytes: 64 + 1500 + 64 });
    const good = echo(HOST_A, HOST_B);
    let seed = 12345;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
    let fed = 0;
    for (let round = 0; round < 40; round++) {
      batch.count = 32;
      for (let i = 0; i < 32; i++) {
        const b = batch.bufs[i]!;
        const kind = rnd() % 3;
        let len: number;
        if (kind === 0) {
          len = rnd() % 200;
          for (let j = 0; j < len; j++) b[64 + j] = rnd() & 0xff;
        } else {
          good.copy(b, 64);
          len = kind === 1 ? rnd() % (good.length + 1) : good.length;
          if (kind === 2) b[64 + (rnd() % good.length)] = rnd() & 0xff;
        }
        batch.offsets[i] = 64;
        batch.lengths[i] = len;
        fed++;
      }
      p.a.dp.handleTunBatch(batch);
    }
    const s = p.a.dp.stats;
    const sa = await p.a.dp.querySa({ protocol: 'esp', spi: SPI_A_TO_B, dst: OUTER_B });
    const saDrops = Object.values(sa.drops).reduce((x, y) => x + y, 0);
    const dpDrops = Object.values(s.drops).reduce((x, y) => x + y, 0);
    assert.equal(s.tunRxPackets, fed);
    assert.equal(sa.packets + saDrops + dpDrops, fed, 'every packet was sealed or counted as a drop');
    assert.ok(s.drops.malformed > 0);
  } finally {
    await p.close();
  }
});
