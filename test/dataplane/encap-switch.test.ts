/**
 * MOBIKE (RFC 4555) in the data plane: `updateSa` switches a tunnel mode ESP SA pair between plain ESP and ESP in
 * UDP (RFC 3948) in place, when a move finds a NAT on the new path or none any more; sequence numbers and replay
 * windows carry over. A transport mode SA refuses the switch with a KernelError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelError } from '../../src/kernel/kernel-ipsec.js';
import { HOST_A, HOST_B, OUTER_A, OUTER_B, SPI_A_TO_B, SPI_B_TO_A, makePeers, nextWrites } from './two-peers.js';
import type { Peers } from './two-peers.js';
import { ipv4, udp } from '../spd/packets.js';

const NAT_T = 4500;

/** Switch both SAs of both peers: encapsulation on (NAT-T ports) or off (null). */
async function switchEncap(p: Peers, on: boolean): Promise<void> {
  const ports = on ? { sport: NAT_T, dport: NAT_T } : null;
  for (const [dp, spiIn, spiOut, me, peer] of [
    [p.a.dp, SPI_B_TO_A, SPI_A_TO_B, OUTER_A, OUTER_B],
    [p.b.dp, SPI_A_TO_B, SPI_B_TO_A, OUTER_B, OUTER_A],
  ] as const) {
    await dp.updateSa({ id: { protocol: 'esp', spi: spiIn, dst: me }, encap: ports });
    await dp.updateSa({ id: { protocol: 'esp', spi: spiOut, dst: peer }, encap: ports });
  }
}

/** Send one inner packet from A; resolves with the outer protocols seen on the wire and what B's TUN wrote. */
async function oneThrough(p: Peers, port: number): Promise<{ protocols: number[]; got: Buffer | undefined }> {
  const protocols: number[] = [];
  p.net.drop = (pkt, proto) => {
    if (pkt.srcAddr === OUTER_A) protocols.push(proto);
    return false;
  };
  const sent = ipv4(HOST_A, HOST_B, 17, udp(port, 9, Buffer.from('encap switch')));
  const atB = nextWrites(p.b.tun, 1);
  p.a.tun.inject(sent);
  const [got] = await atB;
  return { protocols, got };
}

test('tunnel mode ESP: UDP encapsulation switched on and off in place, traffic flows each way', async () => {
  const p = await makePeers();
  try {
    assert.deepEqual((await oneThrough(p, 1)).protocols, [50], 'plain ESP first');
    await switchEncap(p, true);
    const on = await oneThrough(p, 2);
    assert.deepEqual(on.protocols, [17], 'ESP in UDP after the switch');
    assert.equal(on.got?.readUInt16BE(20), 2);
    await switchEncap(p, false);
    assert.deepEqual((await oneThrough(p, 3)).protocols, [50], 'plain ESP again');
    const u = await p.b.dp.querySa({ protocol: 'esp', spi: SPI_A_TO_B, dst: OUTER_B });
    assert.equal(u.packets, 3, 'one SA all along: its counters (and sequence numbers) carried over');
    assert.equal(u.drops.replay, 0);
  } finally {
    await p.close();
  }
});

test('transport mode ESP refuses to switch UDP encapsulation', async () => {
  const p = await makePeers({ mode: 'transport' });
  try {
    await assert.rejects(
      p.a.dp.updateSa({
        id: { protocol: 'esp', spi: SPI_A_TO_B, dst: OUTER_B },
        encap: { sport: NAT_T, dport: NAT_T },
      }),
      (e: unknown) =>
        e instanceof KernelError && /transport mode SA cannot switch UDP encapsulation on/.test(e.message),
    );
    // Moving without a switch still works.
    await p.a.dp.updateSa({ id: { protocol: 'esp', spi: SPI_A_TO_B, dst: OUTER_B }, encap: null });
  } finally {
    await p.close();
  }
});
