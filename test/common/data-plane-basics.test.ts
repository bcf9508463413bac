/** Drop counters, pooled packet buffers and the pcap reader used by the data-plane tests. */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DROP_REASONS, countDrop, newDropCounters, totalDrops } from '../../src/common/drop.js';
import {
  PACKET_HEADROOM,
  PacketPool,
  headroomOf,
  packetBytes,
  packetFrom,
  tailroomOf,
} from '../../src/common/packet-buffer.js';
import { parsePcap, readPcap } from '../helpers/pcap.js';
import { vectorPath } from '../helpers/vectors.js';

test('drop counters: one number per reason, bumped by countDrop, summed', () => {
  const c = newDropCounters();
  assert.deepEqual(Object.keys(c), [...DROP_REASONS]);
  assert.equal(countDrop(c, 'icv'), 'icv');
  countDrop(c, 'icv');
  countDrop(c, 'replay');
  assert.equal(c.icv, 2);
  assert.equal(totalDrops(c), 3);
  assert.equal(JSON.parse(JSON.stringify(c)).replay, 1);
});

test('packet buffers: headroom and tailroom, pool exhaustion and reuse without allocation', () => {
  const p = packetFrom(Buffer.from([1, 2, 3]));
  assert.equal(headroomOf(p), PACKET_HEADROOM);
  assert.ok(tailroomOf(p) >= 64);
  assert.deepEqual([...packetBytes(p)], [1, 2, 3]);
  const pool = new PacketPool(2, 1500);
  const a = pool.acquire();
  const b = pool.acquire();
  assert.ok(a && b);
  assert.equal(pool.acquire(), undefined);
  assert.notEqual(a.buf.byteOffset, b.buf.byteOffset);
  assert.equal(a.buf.buffer, b.buf.buffer, 'one slab');
  a.off = 3;
  a.len = 9;
  pool.release(a);
  const c = pool.acquire();
  assert.equal(c, a);
  assert.deepEqual([c?.off, c?.len], [PACKET_HEADROOM, 0]);
});

test('pcap reader: the tcpdump captures (Ethernet), and synthetic raw / Linux cooked / big-endian / nanosecond files', () => {
  const f = readPcap(vectorPath('files/tcpdump/02-sunrise-sunset-esp.pcap'));
  assert.equal(f.linkType, 1);
  assert.equal(f.packets.length, 8);
  for (const p of f.packets) {
    assert.equal(p.ipOffset, 14);
    assert.equal(p.data[14], 0x45);
    assert.equal(p.data.length, p.origLength);
  }
  const ip = Buffer.from('4500001c0000000040110000c0000201c6336402', 'hex');
  const build = (linkType: number, frame: Buffer, le: boolean, nano: boolean): Buffer => {
    const g = Buffer.alloc(24);
    const w32 = (b: Buffer, v: number, o: number): number => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
    w32(g, nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
    (le ? g.writeUInt16LE.bind(g) : g.writeUInt16BE.bind(g))(2, 4);
    (le ? g.writeUInt16LE.bind(g) : g.writeUInt16BE.bind(g))(4, 6);
    w32(g, 65535, 16);
    w32(g, linkType, 20);
    const r = Buffer.alloc(16);
    w32(r, 1000, 0);
    w32(r, nano ? 5_000_000 : 5000, 4);
    w32(r, frame.length, 8);
    w32(r, frame.length, 12);
    return Buffer.concat([g, r, frame]);
  };
  const sll = Buffer.concat([Buffer.alloc(14), Buffer.from([0x08, 0x00]), ip]);
  const sll2 = Buffer.concat([Buffer.from([0x86, 0xdd]), Buffer.alloc(18), ip]);
  const cases: [number, Buffer, number][] = [
    [101, ip, 0],
    [113, sll, 16],
    [276, sll2, 20],
    [1, Buffer.concat([Buffer.alloc(12), Buffer.from([0x81, 0x00, 0, 5, 0x08, 0x00]), ip]), 18],
  ];
  for (const [lt, frame, off] of cases) {
    for (const le of [true, false]) {
      for (const nano of [true, false]) {
        const parsed = parsePcap(build(lt, frame, le, nano));
        assert.equal(parsed.linkType, lt);
        assert.equal(parsed.packets.length, 1);
        assert.equal(parsed.packets[0]?.ipOffset, off);
        assert.equal(parsed.packets[0]?.tsUsec, 5000);
        assert.equal(parsed.packets[0]?.tsSec, 1000);
      }
    }
  }
  const whole = build(101, ip, true, false);
  assert.throws(() => parsePcap(whole.subarray(0, whole.length - 1)), /truncated/);
  assert.throws(() => parsePcap(Buffer.alloc(24)), /magic/);
});
