/**
 * UDP GRO receives split into their datagrams (src/io/linux/udp-gro.ts) and the UDP_GRO control message read
 * beside the destination (src/io/linux/mmsg-table.ts). No sockets: batches and a control area filled by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatagramBatch } from '../../src/io/batch.js';
import { readAddressSlot, writeAddressSlot } from '../../src/io/ip-address.js';
import { DatagramKind, type DatagramBatch } from '../../src/io/types.js';
import {
  CMSG_HEADER_BYTES,
  IPPROTO_IPV6,
  IPV6_PKTINFO,
  IPV6_TCLASS,
  MMSGHDR_BYTES,
  MSG_CONTROLLEN_OFFSET,
  SOL_UDP,
  UDP_GRO,
  writeU64,
} from '../../src/io/linux/libc.js';
import { CONTROL_SLOT_BYTES, MmsgTable } from '../../src/io/linux/mmsg-table.js';
import { GRO_VIEW_SLOTS, splitGroEntry, viewBatch } from '../../src/io/linux/udp-gro.js';

/** A receive pool whose slot 1 holds `bytes` from 192.0.2.2:4500 to 192.0.2.1:4500 (slot 0 is something else). */
function pool(bytes: Buffer): DatagramBatch {
  const b = createDatagramBatch({ size: 2, bufferBytes: 65535 }, 4);
  b.bufs[1]?.set(bytes);
  b.offsets[1] = 0;
  b.lengths[1] = bytes.length;
  b.kinds[1] = DatagramKind.INVALID;
  writeAddressSlot('192.0.2.2', 4, b.remoteAddrs, 1);
  writeAddressSlot('192.0.2.1', 4, b.localAddrs, 1);
  b.remotePorts[1] = 4500;
  b.localPorts[1] = 4500;
  b.tos?.set([0x02], 1);
  return b;
}

/** `n` datagrams of `size` bytes, the last `last` bytes, each filled with its own index. */
function coalesced(n: number, size: number, last = size): Buffer {
  const parts = [];
  for (let i = 0; i < n; i++) parts.push(Buffer.alloc(i === n - 1 ? last : size, i + 1));
  return Buffer.concat(parts);
}

/** Split slot 1 of `from`; every batch handed over (when full, and the rest) as [offset, length, shared, byte]. */
function split(from: DatagramBatch, segmentSize: number, views = viewBatch(from, GRO_VIEW_SLOTS)) {
  const seen: [number, number, number, number][] = [];
  const take = (b: DatagramBatch): void => {
    for (let k = 0; k < b.count; k++) {
      const off = b.offsets[k] ?? 0;
      assert.equal(b.bufs[k], from.bufs[1], 'a view into the received buffer, not a copy');
      assert.equal(readAddressSlot(b.remoteAddrs, k, 4), '192.0.2.2');
      assert.equal(readAddressSlot(b.localAddrs, k, 4), '192.0.2.1');
      assert.deepEqual([b.remotePorts[k], b.localPorts[k], b.tos?.[k], b.kinds[k]], [4500, 4500, 0x02, 5]);
      seen.push([off, b.lengths[k] ?? 0, b.shared?.[k] ?? -1, b.bufs[k]?.[off] ?? -1]);
    }
  };
  const n = splitGroEntry(from, 1, segmentSize, views, take);
  take(views);
  return { n, seen };
}

test('splitGroEntry: one datagram without a segment size, or with one not below the length', () => {
  for (const size of [0, 1400, 1500, 65535]) {
    const { n, seen } = split(pool(coalesced(1, 1400)), size);
    assert.equal(n, 1, `segment size ${size}`);
    assert.deepEqual(seen, [[0, 1400, 0, 1]]);
  }
  assert.deepEqual(split(pool(coalesced(1, 1)), 0).seen, [[0, 1, 0, 1]], 'a keepalive-sized datagram');
});

test('splitGroEntry: several datagrams of one size, then a shorter last one, as shared views', () => {
  const even = split(pool(coalesced(4, 1000)), 1000);
  assert.equal(even.n, 4);
  assert.deepEqual(even.seen, [
    [0, 1000, 1, 1],
    [1000, 1000, 1, 2],
    [2000, 1000, 1, 3],
    [3000, 1000, 1, 4],
  ]);
  const short = split(pool(coalesced(3, 1400, 60)), 1400);
  assert.deepEqual(short.seen, [
    [0, 1400, 1, 1],
    [1400, 1400, 1, 2],
    [2800, 60, 1, 3],
  ]);
  // A length that is not a whole number of segments: the last datagram is the rest.
  assert.deepEqual(split(pool(coalesced(2, 7, 1)), 7).seen, [
    [0, 7, 1, 1],
    [7, 1, 1, 2],
  ]);
});

test('splitGroEntry: a full views batch is handed over and filling goes on; the entry may start inside its buffer', () => {
  const from = pool(coalesced(45, 1400, 1000));
  const batches: number[] = [];
  const views = viewBatch(from, 16);
  const n = splitGroEntry(from, 1, 1400, views, (b) => batches.push(b.count));
  assert.equal(n, 45);
  assert.deepEqual([batches, views.count], [[16, 16], 13]);
  assert.deepEqual(
    [views.offsets[12], views.lengths[12], views.bufs[12]?.[views.offsets[12] ?? 0]],
    [44 * 1400, 1000, 45],
  );
  // Offsets are relative to where the entry starts.
  const shifted = pool(Buffer.concat([Buffer.alloc(8), coalesced(2, 100)]));
  shifted.offsets[1] = 8;
  shifted.lengths[1] = 200;
  assert.deepEqual(split(shifted, 100).seen, [
    [8, 100, 1, 1],
    [108, 100, 1, 2],
  ]);
});

test('splitGroEntry: an empty entry stays one (empty) datagram; a missing buffer gives none', () => {
  const empty = pool(Buffer.alloc(0));
  assert.deepEqual(
    split(empty, 1400).seen.map(([o, l, s]) => [o, l, s]),
    [[0, 0, 0]],
  );
  const views = viewBatch(empty, 4);
  const noBuf = { ...empty, bufs: [] };
  assert.equal(
    splitGroEntry(noBuf, 1, 1400, views, () => undefined),
    0,
  );
  assert.equal(views.count, 0);
});

/** Write control messages (level, type, data) into slot `i` of `t` and set its msg_controllen. */
function control(t: MmsgTable, i: number, msgs: [number, number, Buffer][], controlLen?: number): void {
  const c = t.control(i);
  c.fill(0);
  let at = 0;
  for (const [level, type, data] of msgs) {
    writeU64(c, at, CMSG_HEADER_BYTES + data.length);
    c.writeInt32LE(level, at + 8);
    c.writeInt32LE(type, at + 12);
    data.copy(c, at + CMSG_HEADER_BYTES);
    at += CMSG_HEADER_BYTES + ((data.length + 7) & ~7);
  }
  writeU64(t.mem, i * MMSGHDR_BYTES + MSG_CONTROLLEN_OFFSET, controlLen ?? at);
}

const int = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
};
const pktinfo6 = (address: string): Buffer => {
  const b = Buffer.alloc(20);
  writeAddressSlot(address, 6, b, 0);
  return b;
};

test('UDP_GRO control message: the segment size is read beside IPV6_PKTINFO and IPV6_TCLASS, in any order', () => {
  // PKTINFO (40) + TCLASS (24) + UDP_GRO (24), the most a receive carries, fits one slot's control area.
  assert.ok(CONTROL_SLOT_BYTES >= 88, `control area ${CONTROL_SLOT_BYTES} bytes`);
  const t = new MmsgTable(4, 6);
  const b = createDatagramBatch({ size: 4, bufferBytes: 64 }, 6);
  control(t, 2, [
    [IPPROTO_IPV6, IPV6_PKTINFO, pktinfo6('2001:db8::1')],
    [IPPROTO_IPV6, IPV6_TCLASS, int(0xb8)],
    [SOL_UDP, UDP_GRO, int(1372)],
  ]);
  assert.equal(t.readDestination(2, b, 0), true);
  assert.deepEqual([t.segmentSize, readAddressSlot(b.localAddrs, 0, 6), b.tos?.[0]], [1372, '2001:db8::1', 0xb8]);
  control(t, 3, [
    [SOL_UDP, UDP_GRO, int(1400)],
    [IPPROTO_IPV6, IPV6_PKTINFO, pktinfo6('2001:db8::2')],
  ]);
  assert.equal(t.readDestination(3, b, 1), true);
  assert.deepEqual([t.segmentSize, readAddressSlot(b.localAddrs, 1, 6)], [1400, '2001:db8::2']);
});

test('UDP_GRO control message: absent, zero, negative or cut short gives no segment size; no PKTINFO still fails', () => {
  const t = new MmsgTable(2, 6);
  const b = createDatagramBatch({ size: 2, bufferBytes: 64 }, 6);
  const info = pktinfo6('2001:db8::1');
  const cases: [string, [number, number, Buffer][], number | undefined, boolean, number][] = [
    ['absent', [[IPPROTO_IPV6, IPV6_PKTINFO, info]], undefined, true, 0],
    [
      'zero',
      [
        [IPPROTO_IPV6, IPV6_PKTINFO, info],
        [SOL_UDP, UDP_GRO, int(0)],
      ],
      undefined,
      true,
      0,
    ],
    [
      'negative',
      [
        [IPPROTO_IPV6, IPV6_PKTINFO, info],
        [SOL_UDP, UDP_GRO, int(-5)],
      ],
      undefined,
      true,
      0,
    ],
    [
      'two bytes',
      [
        [IPPROTO_IPV6, IPV6_PKTINFO, info],
        [SOL_UDP, UDP_GRO, Buffer.from([0x78, 5])],
      ],
      undefined,
      true,
      0,
    ],
    // The kernel ran out of control room in the middle of the UDP_GRO message (it also sets MSG_CTRUNC).
    [
      'cut',
      [
        [IPPROTO_IPV6, IPV6_PKTINFO, info],
        [SOL_UDP, UDP_GRO, int(1400)],
      ],
      40 + 16,
      true,
      0,
    ],
    // Without a destination the entry is dropped whatever its segment size.
    ['no PKTINFO', [[SOL_UDP, UDP_GRO, int(1400)]], undefined, false, 1400],
  ];
  for (const [what, msgs, len, found, size] of cases) {
    control(t, 0, [
      [SOL_UDP, UDP_GRO, int(999)],
      [IPPROTO_IPV6, IPV6_PKTINFO, pktinfo6('2001:db8::9')],
    ]);
    assert.equal(t.readDestination(0, b, 0), true);
    assert.equal(t.segmentSize, 999, 'a segment size before each case');
    control(t, 1, msgs, len);
    assert.deepEqual([t.readDestination(1, b, 1), t.segmentSize], [found, size], what);
  }
});
