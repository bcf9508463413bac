/**
 * The outbound data plane looks up the policy and SA of a whole chunk of TUN packets before it seals any of
 * them. Whatever the split, the outcome must be the one of packets taken one at a time: the same sealed
 * datagrams in the same order, drops, policy and SA counters, lifetime expiry inside a chunk, and acquire
 * upcalls carrying the right packet's selector fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestRng } from '../../src/crypto/index.js';
import { UserspaceDataplane } from '../../src/dataplane/userspace-dataplane.js';
import { createPacketBatch } from '../../src/io/batch.js';
import { newIoStats } from '../../src/io/types.js';
import type { DatagramBatch, PacketBatch, PacketSocket, TunDevice } from '../../src/io/types.js';
import type { AcquireEvent } from '../../src/kernel/kernel-ipsec.js';
import { KEY_A_TO_B, OUTER_A, OUTER_B, SITE_A, saArgs } from './two-peers.js';
import { ipv4, tcp, udp } from '../spd/packets.js';

const HEADROOM = 64;

class NullTun implements TunDevice {
  readonly name = 'null';
  readonly mtu = 1500;
  readonly headroom = HEADROOM;
  readonly stats = newIoStats();
  start(): void {}
  write(batch: PacketBatch): number {
    return batch.count;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Keeps a copy of every datagram sent, with its destination slot. */
class CapturingSocket implements PacketSocket {
  readonly family = 4 as const;
  readonly protocol = 50;
  readonly stats = newIoStats();
  readonly sent: string[] = [];
  start(): void {}
  send(batch: DatagramBatch): number {
    for (let i = 0; i < batch.count; i++) {
      const off = batch.offsets[i]!;
      const dst = Buffer.from(batch.remoteAddrs.subarray(i * 16, i * 16 + 4)).toString('hex');
      this.sent.push(`${dst} ${Buffer.from(batch.bufs[i]!.subarray(off, off + batch.lengths[i]!)).toString('hex')}`);
    }
    return batch.count;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const peer = (i: number): string => `198.51.100.${i}`;

/** Protect policies with SAs for peers 1-5 (peer 3's SA expires after 4 packets), 6 without an SA, discard 7, bypass 8. */
async function gateway(): Promise<{ dp: UserspaceDataplane; sock: CapturingSocket; acquires: AcquireEvent[] }> {
  const sock = new CapturingSocket();
  const dp = new UserspaceDataplane({ tun: new NullTun(), espSockets: { 4: sock }, rng: createTestRng('chunks') });
  const acquires: AcquireEvent[] = [];
  dp.setListener({ acquire: (e) => acquires.push(e), expire: () => undefined, mapping: () => undefined });
  for (let i = 1; i <= 6; i++) {
    const sel = { local: SITE_A, remote: `${peer(i)}/32` };
    await dp.addPolicy({ direction: 'out', selector: sel, action: 'protect', reqid: i });
    if (i === 6) continue;
    const lifetime = i === 3 ? { hardPackets: 4 } : undefined;
    await dp.addSa({
      ...saArgs(0x1000 + i, false, OUTER_A, OUTER_B, [sel], lifetime ? { lifetime } : {}, KEY_A_TO_B),
      reqid: i,
    });
  }
  await dp.addPolicy({ direction: 'out', selector: { local: SITE_A, remote: peer(7) }, action: 'discard' });
  await dp.addPolicy({ direction: 'out', selector: { local: SITE_A, remote: peer(8) }, action: 'bypass' });
  return { dp, sock, acquires };
}

/** 150 packets: to every peer and to no policy at all, UDP and TCP on varying ports, some malformed. */
function traffic(): Buffer[] {
  const out: Buffer[] = [];
  let seed = 3;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 8) % n;
  for (let k = 0; k < 150; k++) {
    const dst = peer(1 + rnd(9));
    const src = `192.0.2.${1 + rnd(100)}`;
    const p =
      rnd(2) === 0
        ? ipv4(src, dst, 17, udp(1000 + rnd(50), 53, Buffer.alloc(rnd(200), k)))
        : ipv4(src, dst, 6, tcp(2000 + rnd(50), 443));
    if (rnd(15) === 0) p.writeUInt16BE(p.length + 9, 2); // total length beyond the packet: malformed
    out.push(p);
  }
  return out;
}

/** Feed the packets in TUN batches of `size`. */
function feed(dp: UserspaceDataplane, packets: readonly Buffer[], size: number): void {
  const batch = createPacketBatch({ size, bufferBytes: HEADROOM + 1500 + 64 });
  for (let first = 0; first < packets.length; first += size) {
    const n = Math.min(size, packets.length - first);
    for (let i = 0; i < n; i++) {
      packets[first + i]!.copy(batch.bufs[i]!, HEADROOM);
      batch.offsets[i] = HEADROOM;
      batch.lengths[i] = packets[first + i]!.length;
    }
    batch.count = n;
    dp.handleTunBatch(batch);
  }
}

test('a TUN batch split into lookup chunks gives what packets one at a time give', async () => {
  const packets = traffic();
  const one = await gateway();
  feed(one.dp, packets, 1);
  const sent = one.sock.sent.length;
  assert.ok(sent > 40, `protected packets were sealed (${sent})`);
  const stats = one.dp.toJSON();
  assert.equal((stats['stats'] as { tunRxPackets: number }).tunRxPackets, packets.length);
  const drops = (stats['stats'] as { drops: Record<string, number> }).drops;
  for (const reason of ['malformed', 'noPolicy', 'discard', 'bypassInTun', 'trapQueued'] as const) {
    assert.ok(drops[reason]! > 0, `the traffic exercises '${reason}'`);
  }
  const sa3 = (stats['sas'] as { spi: string; drops: { expired: number } }[]).find((s) => s.spi === '00001003');
  assert.ok(sa3 !== undefined && sa3.drops.expired > 0, 'a hard lifetime is reached inside the traffic');
  for (const size of [150, 64, 33, 7]) {
    const many = await gateway();
    feed(many.dp, packets, size);
    assert.deepEqual(many.sock.sent, one.sock.sent, `sealed datagrams, batches of ${size}`);
    assert.deepEqual(many.dp.toJSON(), stats, `counters, SAs and policies, batches of ${size}`);
    assert.deepEqual(many.acquires, one.acquires, `acquire upcalls, batches of ${size}`);
  }
  assert.equal(one.acquires.length, 1);
  assert.equal(one.acquires[0]!.packet.dst, peer(6));
});
