/**
 * Reordering and replay end to end through the data plane (RFC 4303 3.4.3): ESP packets sealed by A are held
 * on the memory wire and delivered to B in another order. Those inside B's 64-packet window are opened and
 * written to B's TUN whatever their order; those below it and duplicates are dropped and counted 'replay'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WirePacket } from '../../src/io/memory-network.js';
import { HOST_A, HOST_B, OUTER_A, OUTER_B, SPI_A_TO_B, makePeers, settle } from './two-peers.js';
import { ICMP_ECHO_REQUEST, icmpEcho, ipv4 } from '../spd/packets.js';

const PAYLOAD = Buffer.from('reordered inside the window');
const SENT = 200;

/** ESP sequence number n (1-based) is the nth packet A sealed: its ICMP sequence is n - 1. */
function order(): { deliver: number[]; accepted: number[]; replayed: number } {
  const deliver: number[] = [];
  // 1..100 with every block of 32 reversed: each packet trails the block's highest by under 32.
  for (let b = 1; b <= 100; b += 32) for (let n = Math.min(b + 31, 100); n >= b; n--) deliver.push(n);
  // A jump to 150..199, then the late 101..149: the window (64) now reaches down to 136.
  for (let n = 150; n <= 199; n++) deliver.push(n);
  for (let n = 101; n <= 149; n++) deliver.push(n);
  // Duplicates of packets already opened.
  deliver.push(199, 140, 7);
  // Opened, in arrival order: all of the first 100 and of 150..199, of the late ones only 136..149.
  const seen = new Set<number>();
  const accepted = deliver.filter((n) => (n <= 100 || n >= 136) && !seen.has(n) && seen.add(n));
  return { deliver, accepted, replayed: 35 + 3 };
}

for (const encap of [false, true]) {
  test(`ESP${encap ? ' in UDP' : ''}: reordered packets inside the replay window are accepted, the rest counted 'replay'`, async () => {
    const p = await makePeers({ encap });
    try {
      const protocol = encap ? 17 : 50;
      const held: WirePacket[] = [];
      p.net.drop = (pkt, proto) => {
        if (proto !== protocol || pkt.srcAddr !== OUTER_A) return false;
        held.push({ ...pkt, bytes: Buffer.from(pkt.bytes) });
        return true;
      };
      for (let i = 0; i < SENT; i++)
        p.a.tun.inject(ipv4(HOST_A, HOST_B, 1, icmpEcho(ICMP_ECHO_REQUEST, 9, i, PAYLOAD)));
      for (let k = 0; k < 50 && held.length < SENT; k++) await settle();
      assert.equal(held.length, SENT, 'every packet sealed and held on the wire');
      p.net.drop = undefined;

      const { deliver, accepted, replayed } = order();
      const written: number[] = [];
      p.b.tun.onWrite = (pkt) => written.push(pkt.readUInt16BE(20 + 6) + 1);
      for (const n of deliver) p.net.transmit(protocol, { ...held[n - 1]!, bytes: Buffer.from(held[n - 1]!.bytes) });
      for (let k = 0; k < 50 && written.length < accepted.length; k++) await settle();
      await settle();

      assert.deepEqual(written, accepted, 'opened in arrival order, exactly those inside the window');
      const u = await p.b.dp.querySa({ protocol: 'esp', spi: SPI_A_TO_B, dst: OUTER_B });
      assert.equal(u.packets, accepted.length);
      assert.equal(u.drops.replay, replayed, 'below the window (101..135) and the duplicates');
      assert.equal(u.drops.icv, 0);
    } finally {
      await p.close();
    }
  });
}
