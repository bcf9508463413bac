import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPacketBatch } from '../../src/io/batch.js';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { addAddress, addRoute } from '../../src/io/linux/iproute.js';
import { labSkip } from '../helpers/prerequisites.js';
import { LinuxTun } from '../../src/io/linux/tun.js';
import type { PacketBatch } from '../../src/io/types.js';
import { addNetns, delNetns, openFdCount, rootSkip, runInNetns, uniqueName, waitFor } from './netns.js';
import { echoReplyFor, parseIcmpEcho, type ParsedEcho } from './packets.js';

test(
  'TUN in a namespace: ping reaches the TUN as an echo request, a hand-made reply written back makes ping succeed',
  { skip: rootSkip },
  async () => {
    const fdsBefore = openFdCount();
    const ns = uniqueName();
    let tun: LinuxTun | undefined;
    try {
      addNetns(ns);
      tun = new LinuxTun({ name: 'tsi0', mtu: 1400, netns: ns });
      assert.equal(tun.name, 'tsi0');
      assert.equal(tun.mtu, 1400);
      await addAddress(tun.name, '198.51.100.1/24', { netns: ns });
      const requests: ParsedEcho[] = [];
      const offsets: number[] = [];
      const replies: PacketBatch = createPacketBatch({ size: 32, bufferBytes: 2048 });
      const device = tun;
      device.start((batch) => {
        replies.count = 0;
        for (let i = 0; i < batch.count; i++) {
          const off = batch.offsets[i] ?? 0;
          const packet = batch.bufs[i]?.subarray(off, off + (batch.lengths[i] ?? 0));
          if (packet === undefined) continue;
          offsets.push(off);
          const echo = parseIcmpEcho(packet);
          if (echo?.type !== 8) continue; // IPv6 router solicitations and the like
          requests.push(echo);
          const reply = echoReplyFor(packet);
          const slot = replies.bufs[replies.count];
          if (reply === undefined || slot === undefined) continue;
          reply.copy(slot, 40);
          replies.offsets[replies.count] = 40;
          replies.lengths[replies.count] = reply.length;
          replies.count++;
        }
        assert.equal(device.write(replies), replies.count);
      });
      const code = await runInNetns(ns, 'ping', ['-n', '-c', '3', '-i', '0.2', '-W', '2', '198.51.100.2'], 15_000);
      assert.equal(code, 0, 'ping got its replies');
      assert.ok(requests.length >= 3);
      assert.deepEqual(
        requests.slice(0, 3).map((r) => [r.src, r.dst, r.seq]),
        [1, 2, 3].map((seq) => ['198.51.100.1', '198.51.100.2', seq]),
      );
      assert.ok(offsets.every((o) => o === tun?.headroom));
      assert.ok(tun.stats.txPackets >= 3);
      assert.equal(tun.stats.txErrors, 0);
    } finally {
      await tun?.close();
      delNetns(ns);
    }
    assert.equal(openFdCount(), fdsBefore, 'every fd closed');
  },
);

test(
  'TUN: close() while a read is armed and close() from inside the receiver both end cleanly',
  { skip: rootSkip },
  async () => {
    const fdsBefore = openFdCount();
    const ns = uniqueName();
    try {
      addNetns(ns);
      const idle = new LinuxTun({ name: 'tsi1', netns: ns });
      idle.start(() => assert.fail('nothing is routed to this device'));
      await idle.close();
      await idle.close(); // idempotent
      assert.equal(
        idle.write({ bufs: [Buffer.alloc(64)], offsets: new Int32Array(1), lengths: Int32Array.of(64), count: 1 }),
        0,
      );

      const busy = new LinuxTun({ name: 'tsi2', netns: ns });
      await addAddress(busy.name, '203.0.113.1/24', { netns: ns });
      let batches = 0;
      busy.start(() => {
        batches++;
        void busy.close();
      });
      // Traffic into the device: the first batch closes it; later packets must not be delivered.
      await runInNetns(ns, 'ping', ['-n', '-c', '3', '-i', '0.2', '-W', '1', '203.0.113.2'], 10_000);
      await waitFor(() => batches > 0, 2000, 'a first batch');
      assert.equal(batches, 1);
    } finally {
      delNetns(ns);
    }
    assert.equal(openFdCount(), fdsBefore, 'every fd closed');
  },
);

test('TUN: a bad name is refused before any fd is opened', { skip: rootSkip }, () => {
  const fdsBefore = openFdCount();
  assert.throws(() => new LinuxTun({ name: 'a-name-far-too-long-for-linux' }), /1\.\.15 bytes/);
  assert.throws(() => new LinuxTun({ name: 'tsi9', netns: 'tsi-io-no-such-namespace' }), /ENOENT/);
  assert.equal(openFdCount(), fdsBefore);
});

/**
 * Two TUN devices in two namespaces wired back to back by this process (what one reads, the other writes), and
 * an iperf3 TCP transfer between the namespaces through them: with offloads the kernel hands over GSO
 * super-packets that are split here and writes are coalesced (GRO); without, plain packets. Either way every
 * byte arrives and nothing is refused by the kernel.
 */
for (const offload of [true, false]) {
  test(
    `TUN ${offload ? 'with TSO/GRO offloads' : 'without offloads (fallback)'}: TCP through two wired TUN devices`,
    { skip: labSkip('iperf3') },
    async () => {
      const nsA = uniqueName();
      const nsB = uniqueName();
      const tuns: LinuxTun[] = [];
      let server: ChildProcess | undefined;
      try {
        addNetns(nsA);
        addNetns(nsB);
        const a = new LinuxTun({ name: 'tsi0', mtu: 1400, netns: nsA, offload });
        const b = new LinuxTun({ name: 'tsi0', mtu: 1400, netns: nsB, offload });
        tuns.push(a, b);
        assert.equal(a.offloads.vnetHdr, offload);
        assert.equal(a.offloads.tso, offload);
        assert.equal(a.offloads.gro, offload);
        await addAddress('tsi0', '198.51.100.1/32', { netns: nsA });
        await addAddress('tsi0', '203.0.113.1/32', { netns: nsB });
        await addRoute('203.0.113.0/24', 'tsi0', { netns: nsA });
        await addRoute('198.51.100.0/24', 'tsi0', { netns: nsB });
        a.start((batch) => b.write(batch));
        b.start((batch) => a.write(batch));
        server = spawn('ip', ['netns', 'exec', nsB, 'iperf3', '-s', '-1', '-B', '203.0.113.1'], { stdio: 'ignore' });
        await new Promise((r) => setTimeout(r, 500));
        const out = await output('ip', [
          'netns',
          'exec',
          nsA,
          'iperf3',
          '-c',
          '203.0.113.1',
          '-B',
          '198.51.100.1',
          '-t',
          '2',
          '-J',
        ]);
        const end = (JSON.parse(out) as { end: { sum_received: { bytes: number } } }).end;
        assert.ok(end.sum_received.bytes > 1_000_000, `iperf3 moved ${end.sum_received.bytes} bytes`);
        for (const t of tuns) assert.equal(t.stats.txErrors, 0, `${t.name}: writes refused`);
        if (offload) {
          assert.ok(a.offloadStats.gsoReads > 0, 'the sender side read super-packets');
          assert.ok(a.offloadStats.gsoSegments > a.offloadStats.gsoReads, 'and split them');
          assert.ok(b.offloadStats.groWrites + a.offloadStats.groWrites > 0, 'segments were coalesced on write');
        } else {
          assert.equal(a.offloadStats.gsoReads + b.offloadStats.groWrites, 0);
        }
      } finally {
        server?.kill('SIGKILL');
        for (const t of tuns) await t.close();
        delNetns(nsA);
        delNetns(nsB);
      }
    },
  );
}

function output(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30_000, maxBuffer: 16 << 20 }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });
}
