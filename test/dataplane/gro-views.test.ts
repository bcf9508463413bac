/**
 * ESP in UDP received as UDP GRO: several datagrams in one buffer, handed to the data plane as views
 * (`DatagramBatch.shared`). Opening them in place must leave each neighbour intact, also in transport mode,
 * where an IP header is rebuilt in front of each payload (an IPv6 one is larger than the ESP header and IV it
 * replaces, and the GCM trailer behind may be too short to move into).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatagramBatch } from '../../src/io/batch.js';
import { writeAddressSlot } from '../../src/io/ip-address.js';
import { GRO_VIEW_SLOTS, splitGroEntry, viewBatch } from '../../src/io/linux/udp-gro.js';
import { DatagramKind, type DatagramBatch } from '../../src/io/types.js';
import {
  HOST6_A,
  HOST6_B,
  HOST_A,
  HOST_B,
  OUTER6_A,
  OUTER6_B,
  OUTER_A,
  OUTER_B,
  makePeers,
  nextWrites,
} from './two-peers.js';
import { ipv4, ipv6, udp } from '../spd/packets.js';

interface Case {
  family: 4 | 6;
  mode: 'tunnel' | 'transport';
  cipher: 'gcm' | 'cbc';
}

const CASES: Case[] = [
  { family: 6, mode: 'transport', cipher: 'gcm' },
  { family: 6, mode: 'transport', cipher: 'cbc' },
  { family: 4, mode: 'transport', cipher: 'gcm' },
  { family: 6, mode: 'tunnel', cipher: 'gcm' },
  { family: 4, mode: 'tunnel', cipher: 'cbc' },
];

/** Inner packet `i`: a UDP datagram whose data is `i` repeated; UDP length 2 mod 4, so GCM adds no padding. */
function inner(c: Case, i: number, dataBytes: number): Buffer {
  const data = Buffer.alloc(dataBytes, i);
  const [src, dst] =
    c.mode === 'transport'
      ? c.family === 4
        ? [OUTER_A, OUTER_B]
        : [OUTER6_A, OUTER6_B]
      : c.family === 4
        ? [HOST_A, HOST_B]
        : [HOST6_A, HOST6_B];
  const seg = udp(5000 + i, 53, data);
  return c.family === 4 ? ipv4(src, dst, 17, seg) : ipv6(src, dst, 17, seg);
}

for (const c of CASES) {
  test(`GRO views: ${c.mode} IPv${c.family} ${c.cipher}, six ESP-in-UDP datagrams in one buffer all open intact`, async () => {
    const p = await makePeers({ family: c.family, mode: c.mode, encap: true, cipher: c.cipher });
    try {
      // Catch A's ESP-in-UDP on the wire instead of delivering it.
      const wire: Buffer[] = [];
      p.net.drop = (pkt, proto) => {
        if (proto === 17 && pkt.dstPort === 4500) wire.push(Buffer.from(pkt.bytes));
        return proto === 17;
      };
      const sent = [1, 2, 3, 4, 5, 6].map((i) => inner(c, i, i === 6 ? 302 : 1202));
      for (const x of sent) assert.ok(p.a.tun.inject(x));
      for (let t = 0; wire.length < sent.length && t < 200; t++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(wire.length, sent.length, 'every packet sealed');
      const size = wire[0]?.length ?? 0;
      assert.ok(wire.slice(0, 5).every((w) => w.length === size) && (wire[5]?.length ?? 0) < size);
      // One receive: the datagrams back to back at the start of a pooled buffer, as the kernel coalesces them.
      const pool = createDatagramBatch({ size: 1, bufferBytes: 65535 }, c.family);
      const all = Buffer.concat(wire);
      pool.bufs[0]?.set(all);
      pool.lengths[0] = all.length;
      pool.kinds[0] = DatagramKind.ESP;
      writeAddressSlot(c.family === 4 ? OUTER_A : OUTER6_A, c.family, pool.remoteAddrs, 0);
      writeAddressSlot(c.family === 4 ? OUTER_B : OUTER6_B, c.family, pool.localAddrs, 0);
      pool.remotePorts[0] = 4500;
      pool.localPorts[0] = 4500;
      const views = viewBatch(pool, GRO_VIEW_SLOTS);
      const got = nextWrites(p.b.tun, sent.length);
      const deliver = (b: DatagramBatch): void => p.b.dp.espReceiver(b);
      assert.equal(splitGroEntry(pool, 0, size, views, deliver), sent.length);
      deliver(views);
      const out = await got;
      const hl = c.family === 4 ? 20 : 40;
      for (let i = 0; i < sent.length; i++) {
        const want = sent[i] ?? Buffer.alloc(0);
        const have = out[i] ?? Buffer.alloc(0);
        assert.equal(have.length, want.length, `packet ${i + 1} length`);
        if (c.mode === 'tunnel') assert.deepEqual(have, want, `packet ${i + 1}`);
        else {
          // Transport: a rebuilt header (fresh ID, TTL, checksums); the addresses and UDP data are the sender's.
          const addr = c.family === 4 ? [12, 20] : [8, 40];
          assert.deepEqual(
            have.subarray(addr[0], addr[1]),
            want.subarray(addr[0], addr[1]),
            `packet ${i + 1} addresses`,
          );
          assert.deepEqual(have.subarray(hl + 8), want.subarray(hl + 8), `packet ${i + 1} data`);
          assert.deepEqual(have.subarray(hl, hl + 4), want.subarray(hl, hl + 4), `packet ${i + 1} ports`);
        }
      }
      const st = p.b.dp.stats;
      assert.equal(st.tunTxPackets, sent.length);
      assert.deepEqual(
        Object.entries(st.drops).filter(([, n]) => n > 0),
        [],
      );
    } finally {
      await p.close();
    }
  });
}
