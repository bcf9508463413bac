/**
 * Two full peers over in-memory TUNs and a memory network: an ICMP echo round trip through ESP, checked
 * byte for byte on both TUNs, with the SA counters of both sides agreeing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HOST6_A,
  HOST6_B,
  HOST_A,
  HOST_B,
  OUTER6_A,
  OUTER6_B,
  OUTER_A,
  OUTER_B,
  SPI_A_TO_B,
  SPI_B_TO_A,
  makePeers,
  nextWrites,
} from './two-peers.js';
import type { Peers, PeersOptions } from './two-peers.js';
import {
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  ICMP_ECHO_REQUEST,
  checksum,
  echoReplyV4,
  icmpEcho,
  icmpOk,
  icmpv6Echo,
  ipv4,
  ipv4HeaderOk,
  ipv6,
} from '../spd/packets.js';

const PAYLOAD = Buffer.from('ts-ipsec two-peer echo payload 0123456789abcdef');

async function usage(p: Peers, side: 'a' | 'b', spi: number, dst: string): Promise<{ packets: number; bytes: number }> {
  const u = await p[side].dp.querySa({ protocol: 'esp', spi, dst });
  return { packets: u.packets, bytes: u.bytes };
}

/**
 * Tunnel mode carries the whole inner packet: byte for byte. Transport mode carries the payload; the IP
 * header is the (rebuilt) outer one, so its identification and checksum are the sender's kernel's business:
 * compare everything else.
 */
function sameDatagram(got: Buffer, sent: Buffer, transport: boolean, what: string): void {
  if (!transport) return assert.deepEqual(got, sent, what);
  assert.equal(got.length, sent.length, `${what}: length`);
  assert.deepEqual(got.subarray(12, 20), sent.subarray(12, 20), `${what}: addresses`);
  assert.equal(got[9], sent[9], `${what}: protocol`);
  assert.deepEqual(got.subarray(20), sent.subarray(20), `${what}: payload`);
}

async function roundTripV4(o: PeersOptions): Promise<void> {
  const p = await makePeers(o);
  const src = o.mode === 'transport' ? OUTER_A : HOST_A;
  const dst = o.mode === 'transport' ? OUTER_B : HOST_B;
  try {
    const request = ipv4(src, dst, 1, icmpEcho(ICMP_ECHO_REQUEST, 0x4242, 1, PAYLOAD), { id: 0x0101 });
    assert.ok(ipv4HeaderOk(request) && icmpOk(request.subarray(20)), 'test packet is well formed');
    const atB = nextWrites(p.b.tun);
    assert.ok(p.a.tun.inject(request));
    const [seenAtB] = await atB;
    sameDatagram(seenAtB!, request, o.mode === 'transport', 'B receives the echo request A sent');
    assert.ok(ipv4HeaderOk(seenAtB!) && icmpOk(seenAtB!.subarray(20)));

    const reply = echoReplyV4(seenAtB!);
    assert.ok(ipv4HeaderOk(reply) && icmpOk(reply.subarray(20)));
    const atA = nextWrites(p.a.tun);
    assert.ok(p.b.tun.inject(reply));
    const [seenAtA] = await atA;
    sameDatagram(seenAtA!, reply, o.mode === 'transport', 'A receives the echo reply B sent');
    assert.ok(ipv4HeaderOk(seenAtA!) && icmpOk(seenAtA!.subarray(20)));
    assert.equal(seenAtA![20], 0, 'ICMP echo reply');
    assert.equal(seenAtA!.readUInt16BE(24), 0x4242, 'identifier kept');

    // Counters agree: one packet each way, of the inner packet's size, on both ends of each SA.
    const outerA = o.family === 6 ? OUTER6_A : OUTER_A;
    const outerB = o.family === 6 ? OUTER6_B : OUTER_B;
    assert.deepEqual(await usage(p, 'a', SPI_A_TO_B, outerB), { packets: 1, bytes: request.length });
    assert.deepEqual(await usage(p, 'b', SPI_A_TO_B, outerB), { packets: 1, bytes: request.length });
    assert.deepEqual(await usage(p, 'b', SPI_B_TO_A, outerA), { packets: 1, bytes: reply.length });
    assert.deepEqual(await usage(p, 'a', SPI_B_TO_A, outerA), { packets: 1, bytes: reply.length });
    for (const side of [p.a, p.b]) {
      assert.equal(side.dp.stats.tunRxPackets, 1);
      assert.equal(side.dp.stats.netTxPackets, 1);
      assert.equal(side.dp.stats.netRxPackets, 1);
      assert.equal(side.dp.stats.tunTxPackets, 1);
      assert.equal(
        Object.values(side.dp.stats.drops).reduce((x, y) => x + y, 0),
        0,
        `${side.name}: no drops`,
      );
    }
    // What crossed the wire was ESP, not the plaintext.
    const wire = o.encap === true ? p.a.udp.stats.txBytes : p.a.raw.stats.txBytes;
    assert.ok(wire > 0);
  } finally {
    await p.close();
  }
}

test('ICMP echo round trip through ESP tunnel mode (AES-GCM, raw ESP)', () => roundTripV4({}));

test('ICMP echo round trip through ESP-in-UDP (RFC 3948)', async () => {
  await roundTripV4({ encap: true });
});

test('ICMP echo round trip with AES-CBC + HMAC-SHA2-256', () => roundTripV4({ cipher: 'cbc' }));

test('ICMP echo round trip in transport mode', () => roundTripV4({ mode: 'transport' }));

test('the wire carries ESP with the right SPI and no plaintext', async () => {
  const p = await makePeers();
  const seen: Buffer[] = [];
  p.net.drop = (pkt, protocol) => {
    if (protocol === 50) seen.push(Buffer.from(pkt.bytes));
    return false;
  };
  try {
    const request = ipv4(HOST_A, HOST_B, 1, icmpEcho(ICMP_ECHO_REQUEST, 7, 1, PAYLOAD));
    const atB = nextWrites(p.b.tun);
    p.a.tun.inject(request);
    await atB;
    assert.equal(seen.length, 1);
    const esp = seen[0]!;
    assert.equal(esp.readUInt32BE(0), SPI_A_TO_B, 'SPI');
    assert.equal(esp.readUInt32BE(4), 1, 'first sequence number is 1 (RFC 4303 3.3.3)');
    // 8 header + 8 IV + inner + pad to 4 + 2 trailer + 16 ICV.
    const padded = Math.ceil((request.length + 2) / 4) * 4;
    assert.equal(esp.length, 8 + 8 + padded + 16);
    assert.equal(esp.indexOf(PAYLOAD), -1, 'payload is not visible on the wire');
  } finally {
    await p.close();
  }
});

test('ICMPv6 echo round trip through ESP tunnel mode over IPv6', async () => {
  const p = await makePeers({ family: 6 });
  try {
    const req = ipv6(HOST6_A, HOST6_B, 58, icmpv6Echo(HOST6_A, HOST6_B, ICMPV6_ECHO_REQUEST, 9, 1, PAYLOAD));
    const atB = nextWrites(p.b.tun);
    p.a.tun.inject(req);
    const [gotB] = await atB;
    assert.deepEqual(gotB, req);
    const rep = ipv6(HOST6_B, HOST6_A, 58, icmpv6Echo(HOST6_B, HOST6_A, ICMPV6_ECHO_REPLY, 9, 1, PAYLOAD));
    const atA = nextWrites(p.a.tun);
    p.b.tun.inject(rep);
    const [gotA] = await atA;
    assert.deepEqual(gotA, rep);
    // The ICMPv6 checksum of what arrived verifies over the RFC 8200 8.1 pseudo-header.
    const pseudo = Buffer.concat([
      gotA!.subarray(8, 40),
      Buffer.from([0, 0, 0, gotA!.length - 40, 0, 0, 0, 58]),
      gotA!.subarray(40),
    ]);
    assert.equal(checksum(pseudo), 0);
    assert.equal((await p.a.dp.querySa({ protocol: 'esp', spi: SPI_B_TO_A, dst: OUTER6_A })).packets, 1);
  } finally {
    await p.close();
  }
});

test('a batch of 100 packets arrives complete and in order', async () => {
  const p = await makePeers();
  try {
    const sent: Buffer[] = [];
    for (let i = 0; i < 100; i++) sent.push(ipv4(HOST_A, HOST_B, 1, icmpEcho(ICMP_ECHO_REQUEST, 1, i, PAYLOAD)));
    const atB = nextWrites(p.b.tun, sent.length);
    for (const s of sent) p.a.tun.inject(s);
    assert.deepEqual(await atB, sent);
    const u = await p.b.dp.querySa({ protocol: 'esp', spi: SPI_A_TO_B, dst: OUTER_B });
    assert.equal(u.packets, 100);
    assert.equal(u.drops.replay, 0);
  } finally {
    await p.close();
  }
});

test('ICMPv6 echo through ESP transport mode over IPv6 (IP header rebuilt on receive)', async () => {
  const p = await makePeers({ family: 6, mode: 'transport', encap: true });
  try {
    const req = ipv6(OUTER6_A, OUTER6_B, 58, icmpv6Echo(OUTER6_A, OUTER6_B, ICMPV6_ECHO_REQUEST, 5, 1, PAYLOAD));
    const atB = nextWrites(p.b.tun);
    p.a.tun.inject(req);
    const [got] = await atB;
    assert.deepEqual(got, req, 'fixed IPv6 header, hop limit 64, no flow label: rebuilt identically');
    assert.equal((await p.b.dp.querySa({ protocol: 'esp', spi: SPI_A_TO_B, dst: OUTER6_B })).packets, 1);
  } finally {
    await p.close();
  }
});

test('IPv4 inside IPv6 tunnel and IPv6 inside IPv4 tunnel', async () => {
  for (const [outer, inner] of [
    [6, 4],
    [4, 6],
  ] as const) {
    const p = await makePeers({ family: outer, innerFamily: inner });
    try {
      const req =
        inner === 4
          ? ipv4(HOST_A, HOST_B, 1, icmpEcho(ICMP_ECHO_REQUEST, 1, 1, PAYLOAD))
          : ipv6(HOST6_A, HOST6_B, 58, icmpv6Echo(HOST6_A, HOST6_B, ICMPV6_ECHO_REQUEST, 1, 1, PAYLOAD));
      const atB = nextWrites(p.b.tun);
      p.a.tun.inject(req);
      assert.deepEqual(await atB, [req], `IPv${inner} in IPv${outer}`);
      assert.equal(p.a.raw.stats.txPackets, 1, 'one ESP packet on the wire');
      assert.equal(p.a.raw.family, outer);
    } finally {
      await p.close();
    }
  }
});
