/**
 * Transport mode ESP-in-UDP through a NAT (RFC 3948 3.1.2): A's packets leave 203.0.113.1 and reach B from the
 * NAT's 203.0.113.99. The TCP/UDP checksums A computed cover 203.0.113.1; B rebuilds the IP header with the
 * address it saw, so it must fix the checksums or the host stack would throw the segments away.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transportChecksum } from '../../src/common/ip.js';
import {
  KEY_A_TO_B,
  KEY_B_TO_A,
  OUTER_A,
  OUTER_B,
  SPI_A_TO_B,
  SPI_B_TO_A,
  makePeers,
  nextWrites,
  saArgs,
} from './two-peers.js';
import { ipv4, tcp, udp } from '../spd/packets.js';

const NAT_A = '203.0.113.99';

/** The packet with its TCP/UDP checksum computed over its own IPv4 addresses. */
function withChecksum(p: Buffer, at: number): Buffer {
  p.writeUInt16BE(0, 20 + at);
  p.writeUInt16BE(transportChecksum(p, 12, 16, 4, p[9] ?? 0, 20, p.length - 20), 20 + at);
  return p;
}

/** Whether the TCP/UDP checksum verifies over the packet's own addresses. */
function checksumOk(p: Buffer, at: number): boolean {
  const copy = Buffer.from(p);
  return withChecksum(copy, at).readUInt16BE(20 + at) === p.readUInt16BE(20 + at);
}

test('transport mode ESP-in-UDP behind a NAT: TCP and UDP checksums are fixed for the rebuilt header', async () => {
  const o = { mode: 'transport' as const, encap: true, installSas: false };
  const p = await makePeers(o);
  try {
    const selB = { local: OUTER_B, remote: NAT_A };
    await p.a.dp.addSa(saArgs(SPI_A_TO_B, false, OUTER_A, OUTER_B, [p.selA], o, KEY_A_TO_B));
    await p.a.dp.addSa(saArgs(SPI_B_TO_A, true, OUTER_B, OUTER_A, [p.selA], o, KEY_B_TO_A));
    // B knows A by the NAT's address (the selectors an IKE daemon narrows to what it sees, RFC 7296 2.23.1).
    await p.b.dp.addSa(saArgs(SPI_A_TO_B, true, NAT_A, OUTER_B, [selB], o, KEY_A_TO_B));
    p.net.alter = (pkt, proto) => {
      if (proto === 17 && pkt.srcAddr === OUTER_A) pkt.srcAddr = NAT_A;
    };
    const seg = withChecksum(ipv4(OUTER_A, OUTER_B, 6, tcp(40000, 443)), 16);
    const dgram = withChecksum(ipv4(OUTER_A, OUTER_B, 17, udp(5000, 53, Buffer.from('query'))), 6);
    const noSum = ipv4(OUTER_A, OUTER_B, 17, udp(5001, 53, Buffer.from('no checksum')));
    const atB = nextWrites(p.b.tun, 3);
    for (const x of [seg, dgram, noSum]) p.a.tun.inject(x);
    const [gotSeg, gotDgram, gotNoSum] = await atB;
    assert.ok(gotSeg && gotDgram && gotNoSum);
    assert.equal(gotSeg.subarray(12, 16).join('.'), NAT_A, 'the rebuilt header carries the NAT address');
    assert.ok(checksumOk(gotSeg, 16), 'TCP checksum valid over the rebuilt header');
    assert.ok(checksumOk(gotDgram, 6), 'UDP checksum valid over the rebuilt header');
    assert.equal(gotNoSum.readUInt16BE(26), 0, 'an IPv4 UDP datagram without checksum stays without');
    assert.deepEqual(gotSeg.subarray(20, 36), seg.subarray(20, 36), 'the TCP header is the same but for its checksum');
  } finally {
    await p.close();
  }
});
