/**
 * Two full peers over in-memory TUNs and a memory network, with AH (RFC 4302) SAs: ICMP echo round trips
 * in tunnel and transport mode over IPv4 and IPv6, the SA counters of both sides agreeing, and the outer
 * header under the ICV: an immutable field changed in transit is dropped as 'icv', a TTL decrement is not.
 * The IPv4 AH sockets are header-included (the wire carries the whole IPv4 packet); the IPv6 ones carry
 * the AH onwards, as the Linux raw sockets do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelError } from '../../src/kernel/kernel-ipsec.js';
import type { WirePacket } from '../../src/io/memory-network.js';
import {
  HOST6_A,
  HOST6_B,
  HOST_A,
  HOST_B,
  OUTER6_A,
  OUTER6_B,
  OUTER_A,
  OUTER_B,
  REQID,
  SPI_A_TO_B,
  SPI_B_TO_A,
  makePeers,
  nextWrites,
  saArgs,
  settle,
} from './two-peers.js';
import type { Peers, PeersOptions } from './two-peers.js';
import {
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  ICMP_ECHO_REQUEST,
  checksum,
  echoReplyV4,
  icmpEcho,
  icmpv6Echo,
  ipv4,
  ipv4HeaderOk,
  ipv6,
  optionsBody,
} from '../spd/packets.js';

const PAYLOAD = Buffer.from('ts-ipsec AH two-peer echo payload 0123456789');
const AH = 51;
/** HMAC-SHA2-256-128: 12 fixed + 16 ICV = 28 bytes, 4-aligned (IPv4) / 32 bytes, 8-aligned (IPv6). */
const AH_LEN_HMAC = { 4: 28, 6: 32 } as const;

async function usage(p: Peers, side: 'a' | 'b', spi: number, dst: string): Promise<{ packets: number; bytes: number }> {
  const u = await p[side].dp.querySa({ protocol: 'ah', spi, dst });
  return { packets: u.packets, bytes: u.bytes };
}

function totalDrops(p: Peers): number {
  let n = 0;
  for (const side of [p.a, p.b]) n += Object.values(side.dp.stats.drops).reduce((x, y) => x + y, 0);
  return n;
}

/** Record every AH packet on the wire (copies). */
function tapAh(p: Peers): Buffer[] {
  const seen: Buffer[] = [];
  p.net.alter = (pkt, protocol) => {
    if (protocol === AH) seen.push(Buffer.from(pkt.bytes));
  };
  return seen;
}

function echoPair(family: 4 | 6, transport: boolean, seq: number): { request: Buffer; reply: (got: Buffer) => Buffer } {
  if (family === 4) {
    const [src, dst] = transport ? [OUTER_A, OUTER_B] : [HOST_A, HOST_B];
    return {
      request: ipv4(src, dst, 1, icmpEcho(ICMP_ECHO_REQUEST, 0x4242, seq, PAYLOAD), { id: 0x0100 + seq }),
      reply: (got) => echoReplyV4(got),
    };
  }
  const [src, dst] = transport ? [OUTER6_A, OUTER6_B] : [HOST6_A, HOST6_B];
  return {
    request: ipv6(src, dst, 58, icmpv6Echo(src, dst, ICMPV6_ECHO_REQUEST, 0x4242, seq, PAYLOAD)),
    reply: () => ipv6(dst, src, 58, icmpv6Echo(dst, src, ICMPV6_ECHO_REPLY, 0x4242, seq, PAYLOAD)),
  };
}

async function roundTrip(o: PeersOptions & { family: 4 | 6 }): Promise<void> {
  const p = await makePeers({ protocol: 'ah', ...o });
  const transport = o.mode === 'transport';
  const wire = tapAh(p);
  try {
    const { request, reply: makeReply } = echoPair(o.family, transport, 1);
    const atB = nextWrites(p.b.tun);
    assert.ok(p.a.tun.inject(request));
    const [seenAtB] = await atB;
    // AH does not touch the inner packet (tunnel), and in transport mode the receiver restores the sender's
    // own header (RFC 4302 3.4.4 leaves the mutable fields as they arrived; nothing changed them here).
    assert.deepEqual(seenAtB, request, 'B receives exactly the packet A sent');

    const reply = makeReply(seenAtB!);
    const atA = nextWrites(p.a.tun);
    assert.ok(p.b.tun.inject(reply));
    const [seenAtA] = await atA;
    assert.deepEqual(seenAtA, reply, 'A receives exactly the reply B sent');
    if (o.family === 4) assert.ok(ipv4HeaderOk(seenAtA!));

    const [outerA, outerB] = o.family === 6 ? [OUTER6_A, OUTER6_B] : [OUTER_A, OUTER_B];
    assert.deepEqual(await usage(p, 'a', SPI_A_TO_B, outerB), { packets: 1, bytes: request.length });
    assert.deepEqual(await usage(p, 'b', SPI_A_TO_B, outerB), { packets: 1, bytes: request.length });
    assert.deepEqual(await usage(p, 'b', SPI_B_TO_A, outerA), { packets: 1, bytes: reply.length });
    assert.deepEqual(await usage(p, 'a', SPI_B_TO_A, outerA), { packets: 1, bytes: reply.length });
    for (const side of [p.a, p.b]) {
      assert.equal(side.dp.stats.tunRxPackets, 1);
      assert.equal(side.dp.stats.netTxPackets, 1);
      assert.equal(side.dp.stats.netRxPackets, 1);
      assert.equal(side.dp.stats.tunTxPackets, 1);
      assert.equal(side.raw.stats.txPackets, 0, `${side.name}: nothing went out as ESP`);
    }
    assert.equal(totalDrops(p), 0, 'no data-plane drops');

    // The wire: AH with A's SPI and sequence number 1, the payload in the clear (AH does not encrypt).
    assert.equal(wire.length, 2);
    const w = wire[0]!;
    const ahLen =
      o.ahInteg === 'gmac' ? 4 * (((w[o.family === 4 ? 21 : 1] ?? 0) as number) + 2) : AH_LEN_HMAC[o.family];
    let ahOff = 0;
    if (o.family === 4) {
      assert.equal(w[0], 0x45, 'IPv4 header on the wire (header-included socket)');
      assert.equal(w[9], AH, 'protocol 51');
      assert.deepEqual([...w.subarray(12, 20)], [203, 0, 113, 1, 203, 0, 113, 2], 'outer addresses');
      assert.equal(checksum(w.subarray(0, 20)), 0, 'header checksum');
      ahOff = 20;
    }
    assert.equal(w.readUInt32BE(ahOff + 4), SPI_A_TO_B, 'SPI');
    assert.equal(w.readUInt32BE(ahOff + 8), 1, 'first sequence number is 1 (RFC 4302 3.3.2)');
    const inner = transport ? request.subarray(o.family === 4 ? 20 : 40) : request;
    assert.deepEqual(w.subarray(ahOff + ahLen), inner, 'what AH protects follows it unchanged');
    const nh = transport ? (o.family === 4 ? 1 : 58) : o.family === 4 ? 4 : 41;
    assert.equal(w[ahOff], nh, 'AH next header');
  } finally {
    await p.close();
  }
}

for (const family of [4, 6] as const) {
  for (const mode of ['tunnel', 'transport'] as const) {
    test(`ICMP echo round trip through AH ${mode} mode over IPv${family} (HMAC-SHA2-256-128)`, () =>
      roundTrip({ family, mode }));
  }
}

test('AH with AES-128-GMAC (RFC 4543) and extended sequence numbers, IPv4 tunnel', () =>
  roundTrip({ family: 4, ahInteg: 'gmac', esn: true }));

test('AH with AES-128-GMAC over IPv6 transport mode', () =>
  roundTrip({ family: 6, mode: 'transport', ahInteg: 'gmac' }));

/** Send one echo request A -> B with `alter` applied to its AH packet in transit; what B's TUN got. */
async function sendAltered(p: Peers, family: 4 | 6, seq: number, alter: (w: WirePacket) => void): Promise<number> {
  p.net.alter = (pkt, protocol) => {
    if (protocol === AH) alter(pkt);
  };
  const before = p.b.tun.stats.txPackets;
  const { request } = echoPair(family, false, seq);
  assert.ok(p.a.tun.inject(request));
  await settle(10);
  p.net.alter = undefined;
  return p.b.tun.stats.txPackets - before;
}

function fixIpv4Checksum(b: Buffer): void {
  b.writeUInt16BE(0, 10);
  b.writeUInt16BE(checksum(b.subarray(0, 20)), 10);
}

test('IPv4: a changed Identification, source address or protected byte is dropped as icv; TTL, DF and ECN may change', async () => {
  const p = await makePeers({ protocol: 'ah', family: 4 });
  try {
    const icv = async (): Promise<number> =>
      (await p.b.dp.querySa({ protocol: 'ah', spi: SPI_A_TO_B, dst: OUTER_B })).drops.icv;
    let seq = 1;
    // Immutable: Identification (RFC 4302 3.3.3.1.1.1), with a valid header checksum so only the ICV can object.
    assert.equal(
      await sendAltered(p, 4, seq++, (w) => {
        w.bytes.writeUInt16BE(w.bytes.readUInt16BE(4) ^ 0x0001, 4);
        fixIpv4Checksum(w.bytes);
      }),
      0,
    );
    assert.equal(await icv(), 1, 'identification change: icv');
    // Immutable: the source address, rewritten as a NAT would (the reason AH cannot cross one).
    assert.equal(
      await sendAltered(p, 4, seq++, (w) => {
        w.bytes[15] = 99;
        fixIpv4Checksum(w.bytes);
      }),
      0,
    );
    assert.equal(await icv(), 2, 'source change: icv');
    // Covered in full: the AH itself and what follows it. Flip one bit of the last byte on the wire.
    assert.equal(
      await sendAltered(p, 4, seq++, (w) => {
        w.bytes[w.bytes.length - 1] = (w.bytes[w.bytes.length - 1] ?? 0) ^ 0x80;
      }),
      0,
    );
    assert.equal(await icv(), 3, 'payload change: icv');
    // Mutable (RFC 4302 A.1): TTL decremented twice by routers, DF set by one, ECN CE marked: still opens.
    assert.equal(
      await sendAltered(p, 4, seq++, (w) => {
        w.bytes[8] = (w.bytes[8] ?? 0) - 2;
        w.bytes.writeUInt16BE(w.bytes.readUInt16BE(6) | 0x4000, 6);
        w.bytes[1] = (w.bytes[1] ?? 0) | 0x03;
        fixIpv4Checksum(w.bytes);
      }),
      1,
    );
    const u = await p.b.dp.querySa({ protocol: 'ah', spi: SPI_A_TO_B, dst: OUTER_B });
    assert.equal(u.packets, 1, 'only the packet with mutable changes opened');
    assert.equal(u.drops.icv, 3);
    assert.equal(p.b.dp.stats.tunTxPackets, 1);
  } finally {
    await p.close();
  }
});

test('IPv6: a different source address is dropped as icv (the rebuilt header carries it); hop limit is not on the wire', async () => {
  const p = await makePeers({ protocol: 'ah', family: 6 });
  try {
    assert.equal(
      await sendAltered(p, 6, 1, (w) => {
        w.srcAddr = '2001:db8::99';
      }),
      0,
    );
    let u = await p.b.dp.querySa({ protocol: 'ah', spi: SPI_A_TO_B, dst: OUTER6_B });
    assert.equal(u.drops.icv, 1, 'source change: icv');
    // The sealed outer header had hop limit 64; the receiver rebuilds it with its own value: it still opens.
    assert.equal(await sendAltered(p, 6, 2, () => undefined), 1);
    u = await p.b.dp.querySa({ protocol: 'ah', spi: SPI_A_TO_B, dst: OUTER6_B });
    assert.equal(u.packets, 1);
  } finally {
    await p.close();
  }
});

test('IPv4 transport: Identification 0 without DF gets DF (mutable) so the sending kernel keeps the 0', async () => {
  const p = await makePeers({ protocol: 'ah', family: 4, mode: 'transport' });
  const wire = tapAh(p);
  try {
    const request = ipv4(OUTER_A, OUTER_B, 1, icmpEcho(ICMP_ECHO_REQUEST, 1, 1, PAYLOAD), { id: 0 });
    const atB = nextWrites(p.b.tun);
    p.a.tun.inject(request);
    const [got] = await atB;
    assert.equal(
      wire[0]!.readUInt16BE(4),
      0,
      'identification 0 on the wire (the twin, like Linux, keeps it only with DF)',
    );
    assert.equal(wire[0]!.readUInt16BE(6) & 0x4000, 0x4000, 'DF set on the wire');
    assert.equal(got!.readUInt16BE(4), 0, 'identification 0 at B');
    assert.deepEqual(got!.subarray(20), request.subarray(20), 'payload');
  } finally {
    await p.close();
  }
});

test('a replayed AH packet is dropped as replay', async () => {
  const p = await makePeers({ protocol: 'ah', family: 4 });
  const wire = tapAh(p);
  try {
    const { request } = echoPair(4, false, 1);
    const atB = nextWrites(p.b.tun);
    p.a.tun.inject(request);
    await atB;
    p.net.alter = undefined;
    const copy = Buffer.from(wire[0]!);
    p.net.transmit(AH, {
      bytes: copy,
      family: 4,
      srcAddr: OUTER_A,
      srcPort: 0,
      dstAddr: OUTER_B,
      dstPort: 0,
      ipv4Header: true,
    });
    await settle(10);
    const u = await p.b.dp.querySa({ protocol: 'ah', spi: SPI_A_TO_B, dst: OUTER_B });
    assert.equal(u.packets, 1);
    assert.equal(u.drops.replay, 1);
    assert.equal(p.b.dp.stats.tunTxPackets, 1);
  } finally {
    await p.close();
  }
});

test('inner packet outside the AH SA selectors is dropped as policy; unknown SPI as noSa', async () => {
  const p = await makePeers({ protocol: 'ah', family: 4 });
  try {
    // Seal on A a packet B's SA selectors do not cover: A's policy would not send it, so widen A's for a moment.
    await p.a.dp.addPolicy({
      direction: 'out',
      selector: { local: '192.0.2.0/24', remote: HOST_B },
      action: 'protect',
      reqid: REQID,
    });
    p.a.tun.inject(ipv4('192.0.2.200', HOST_B, 1, icmpEcho(ICMP_ECHO_REQUEST, 1, 1, PAYLOAD)));
    await settle(10);
    const u = await p.b.dp.querySa({ protocol: 'ah', spi: SPI_A_TO_B, dst: OUTER_B });
    assert.equal(u.drops.policy, 1);
    assert.equal(u.packets, 0);
    await p.b.dp.delSa({ protocol: 'ah', spi: SPI_A_TO_B, dst: OUTER_B });
    p.a.tun.inject(ipv4(HOST_A, HOST_B, 1, icmpEcho(ICMP_ECHO_REQUEST, 1, 2, PAYLOAD)));
    await settle(10);
    assert.equal(p.b.dp.stats.drops.noSa, 1);
    assert.equal(p.b.dp.stats.tunTxPackets, 0);
  } finally {
    await p.close();
  }
});

test('AH lifetimes: soft and hard packet limits raise expires; a hard-expired SA drops as expired', async () => {
  const p = await makePeers({ protocol: 'ah', family: 4, lifetime: { softPackets: 2, hardPackets: 3 } });
  try {
    const atB = nextWrites(p.b.tun, 3);
    for (let i = 1; i <= 4; i++) p.a.tun.inject(echoPair(4, false, i).request);
    await atB;
    await settle(10);
    const out = await p.a.dp.querySa({ protocol: 'ah', spi: SPI_A_TO_B, dst: OUTER_B });
    assert.equal(out.packets, 3);
    assert.equal(out.drops.expired, 1);
    assert.equal(out.state, 'hard-expired');
    assert.deepEqual(
      p.a.upcalls.expires.map((e) => [e.id.protocol, e.id.spi, e.inbound, e.hard, e.reason]),
      [
        ['ah', SPI_A_TO_B, false, false, 'packets'],
        ['ah', SPI_A_TO_B, false, true, 'packets'],
      ],
    );
  } finally {
    await p.close();
  }
});

test('addSa refuses AH with UDP encapsulation (NAT), with encryption, or without integrity', async () => {
  const p = await makePeers({ protocol: 'ah', family: 4, installSas: false });
  try {
    const base = saArgs(0x1000, true, OUTER_A, OUTER_B, [p.selB], { protocol: 'ah' }, Buffer.alloc(20));
    await assert.rejects(
      p.b.dp.addSa({ ...base, encap: { sport: 4500, dport: 4500 } }),
      (e: unknown) => e instanceof KernelError && /AH cannot cross a NAT/.test(e.message),
    );
    await assert.rejects(p.b.dp.addSa({ ...base, enc: { id: 20, key: Buffer.alloc(20) } }), /no encryption/);
    const { integ: _integ, ...noInteg } = base;
    await assert.rejects(p.b.dp.addSa(noInteg), /needs an integrity algorithm/);
    assert.equal(p.b.dp.sad.size, 0);
    await p.b.dp.addSa(base);
    await assert.rejects(
      p.b.dp.updateSa({ id: { protocol: 'ah', spi: 0x1000, dst: OUTER_B }, encap: { sport: 4500, dport: 4500 } }),
      /AH cannot cross a NAT/,
    );
  } finally {
    await p.close();
  }
});

test('IPv6 transport with a hop-by-hop header in front of AH is counted unsupported, not sent', async () => {
  const p = await makePeers({ protocol: 'ah', family: 6, mode: 'transport' });
  try {
    const icmp = icmpv6Echo(OUTER6_A, OUTER6_B, ICMPV6_ECHO_REQUEST, 1, 1, PAYLOAD);
    p.a.tun.inject(ipv6(OUTER6_A, OUTER6_B, 58, icmp, [[0, optionsBody()]]));
    await settle(10);
    assert.equal(p.a.dp.stats.drops.unsupported, 1);
    assert.equal(p.a.ah.stats.txPackets, 0);
  } finally {
    await p.close();
  }
});

test('updateSa moves an outbound AH tunnel to new endpoints; sequence numbers go on', async () => {
  const p = await makePeers({ protocol: 'ah', family: 4 });
  const wire = tapAh(p);
  try {
    const atB = nextWrites(p.b.tun);
    p.a.tun.inject(echoPair(4, false, 1).request);
    await atB;
    // A new local address for A (MOBIKE): a socket there, the SAs on both sides updated.
    const moved = p.net.raw(4, '203.0.113.7', AH, 32, { headerIncluded: true });
    try {
      await p.a.dp.updateSa({ id: { protocol: 'ah', spi: SPI_A_TO_B, dst: OUTER_B }, src: '203.0.113.7' });
      await p.b.dp.updateSa({ id: { protocol: 'ah', spi: SPI_A_TO_B, dst: OUTER_B }, src: '203.0.113.7' });
      const atB2 = nextWrites(p.b.tun);
      p.a.tun.inject(echoPair(4, false, 2).request);
      await atB2;
      assert.deepEqual([...wire[1]!.subarray(12, 16)], [203, 0, 113, 7], 'new outer source');
      assert.equal(wire[1]!.readUInt32BE(20 + 8), 2, 'sequence number 2');
    } finally {
      await moved.close();
    }
  } finally {
    await p.close();
  }
});
