/**
 * TUN offloads without a device: GSO super-packets split into segments whose headers and checksums are checked
 * against the RFC 1071 definition computed here, CHECKSUM_PARTIAL completion, GRO planning and super-packet
 * building (which must split back into the very segments it was built from), and hostile headers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildSuperPacket,
  completeChecksum,
  decodeVnetHeader,
  GsoType,
  newVnetHeader,
  planCoalesce,
  splitGso,
  VIRTIO_NET_HDR_LENGTH,
  VNET_F_NEEDS_CSUM,
  type SegmentSink,
  type VnetHeader,
} from '../../src/io/tun-offload.js';
import { addrBytes, checksum, ipv4, ipv6 } from '../spd/packets.js';

const TCP = 6;
const UDP = 17;
const FIN = 0x01;
const PSH = 0x08;
const ACK = 0x10;
const CWR = 0x80;

/** A TCP header (with a 12-byte timestamp option block) and payload; checksum left 0. */
function tcp(seq: number, flags: number, payload: Uint8Array, ack = 0x01020304): Buffer {
  const h = Buffer.alloc(32 + payload.length);
  h.writeUInt16BE(40000, 0);
  h.writeUInt16BE(5201, 2);
  h.writeUInt32BE(seq >>> 0, 4);
  h.writeUInt32BE(ack, 8);
  h[12] = 8 << 4;
  h[13] = flags;
  h.writeUInt16BE(502, 14);
  Buffer.from([1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9]).copy(h, 20);
  h.set(payload, 32);
  return h;
}

function pseudoSum(src: Uint8Array, dst: Uint8Array, protocol: number, len: number): number {
  const p = Buffer.alloc(src.length * 2 + 4);
  p.set(src, 0);
  p.set(dst, src.length);
  p.writeUInt16BE(protocol, src.length * 2);
  p.writeUInt16BE(len, src.length * 2 + 2);
  return ~checksum(p) & 0xffff;
}

/** True when the transport checksum of an IPv4 or IPv6 (no extension) packet verifies. */
function l4ChecksumOk(pkt: Buffer): boolean {
  const v6 = pkt[0]! >> 4 === 6;
  const l4 = v6 ? 40 : (pkt[0]! & 15) * 4;
  const src = pkt.subarray(v6 ? 8 : 12, v6 ? 24 : 16);
  const dst = pkt.subarray(v6 ? 24 : 16, v6 ? 40 : 20);
  const proto = v6 ? pkt[6]! : pkt[9]!;
  return checksum(pkt.subarray(l4), pseudoSum(src, dst, proto, pkt.length - l4)) === 0;
}

function withL4Checksum(pkt: Buffer): Buffer {
  const v6 = pkt[0]! >> 4 === 6;
  const l4 = v6 ? 40 : 20;
  const field = l4 + ((v6 ? pkt[6] : pkt[9]) === TCP ? 16 : 6);
  pkt.writeUInt16BE(0, field);
  const src = pkt.subarray(v6 ? 8 : 12, v6 ? 24 : 16);
  const dst = pkt.subarray(v6 ? 24 : 16, v6 ? 40 : 20);
  pkt.writeUInt16BE(checksum(pkt.subarray(l4), pseudoSum(src, dst, v6 ? pkt[6]! : pkt[9]!, pkt.length - l4)), field);
  return pkt;
}

function collect(room = 1500): { sink: SegmentSink; out: Buffer[] } {
  const out: Buffer[] = [];
  let cur: Buffer | undefined;
  return {
    out,
    sink: {
      next: (need) => {
        if (need > room) return undefined;
        cur = Buffer.alloc(64 + room);
        return { buf: cur, off: 64 };
      },
      done: (len) => {
        out.push(Buffer.from(cur!.subarray(64, 64 + len)));
      },
    },
  };
}

const payload = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff));
const gso = (type: number, size: number, csumStart: number): VnetHeader => ({
  flags: VNET_F_NEEDS_CSUM,
  gsoType: type,
  hdrLen: 0,
  gsoSize: size,
  csumStart,
  csumOffset: type === GsoType.UDP_L4 ? 6 : 16,
});

test('GSO TCPv4: segments of gso_size with their own lengths, IDs, sequence numbers, flags and checksums', () => {
  const data = payload(5000);
  const superPacket = ipv4('198.51.100.1', '203.0.113.1', TCP, tcp(0xfffff000, ACK | PSH | FIN | CWR, data), {
    id: 0xfffe,
  });
  const { sink, out } = collect();
  assert.equal(splitGso(superPacket, 0, superPacket.length, gso(GsoType.TCPV4, 1348, 20), sink), 'ok');
  assert.deepEqual(
    out.map((p) => p.length),
    [1400, 1400, 1400, 20 + 32 + (5000 - 3 * 1348)],
  );
  out.forEach((p, i) => {
    assert.equal(checksum(p.subarray(0, 20)), 0, `IPv4 header checksum of segment ${i}`);
    assert.equal(p.readUInt16BE(2), p.length);
    assert.equal(p.readUInt16BE(4), (0xfffe + i) & 0xffff);
    assert.equal(p.readUInt32BE(24), (0xfffff000 + i * 1348) >>> 0, 'sequence number');
    const flags = p[33]!;
    const last = i === out.length - 1;
    assert.equal((flags & (PSH | FIN)) !== 0, last, `PSH/FIN on the last segment only (${i})`);
    assert.equal((flags & CWR) !== 0, i === 0, 'CWR on the first only');
    assert.ok(flags & ACK);
    assert.ok(l4ChecksumOk(p), `TCP checksum of segment ${i}`);
    assert.deepEqual(p.subarray(20, 24), superPacket.subarray(20, 24), 'ports');
    assert.deepEqual(p.subarray(40, 52), superPacket.subarray(40, 52), 'options');
  });
  assert.deepEqual(Buffer.concat(out.map((p) => p.subarray(52))), data);
});

test('GSO TCPv6 and UDP_L4 (USO) split with valid checksums; payload bytes kept in order', () => {
  const data = payload(3000);
  const v6 = ipv6('2001:db8::1', '2001:db8::2', TCP, tcp(7, ACK, data));
  const a = collect();
  assert.equal(splitGso(v6, 0, v6.length, gso(GsoType.TCPV6, 1200, 40), a.sink), 'ok');
  assert.equal(a.out.length, 3);
  for (const p of a.out) {
    assert.equal(p.readUInt16BE(4), p.length - 40);
    assert.ok(l4ChecksumOk(p));
  }
  assert.deepEqual(Buffer.concat(a.out.map((p) => p.subarray(72))), data);

  const u = Buffer.alloc(8 + 2500);
  u.writeUInt16BE(4500, 0);
  u.writeUInt16BE(4500, 2);
  payload(2500).copy(u, 8);
  const udp4 = ipv4('192.0.2.1', '192.0.2.2', UDP, u);
  const b = collect();
  assert.equal(splitGso(udp4, 0, udp4.length, gso(GsoType.UDP_L4, 1000, 20), b.sink), 'ok');
  assert.deepEqual(
    b.out.map((p) => p.readUInt16BE(24)),
    [1008, 1008, 508],
    'UDP lengths',
  );
  assert.ok(b.out.every(l4ChecksumOk));
  assert.deepEqual(Buffer.concat(b.out.map((p) => p.subarray(28))), payload(2500));
});

test('CHECKSUM_PARTIAL: the pseudo-header sum in the field is completed into the real checksum', () => {
  const seg = ipv4('198.51.100.1', '203.0.113.1', TCP, tcp(1, ACK, payload(333)));
  const expected = Buffer.from(withL4Checksum(Buffer.from(seg)));
  seg.writeUInt16BE(pseudoSum(addrBytes('198.51.100.1'), addrBytes('203.0.113.1'), TCP, seg.length - 20), 36);
  assert.ok(completeChecksum(seg, 0, seg.length, gso(GsoType.NONE, 0, 20)));
  assert.deepEqual(seg, expected);
  assert.equal(completeChecksum(seg, 0, seg.length, { ...gso(GsoType.NONE, 0, 20), csumStart: seg.length }), false);
});

function segments(flow: number, startSeq: number, sizes: number[], lastFlags = ACK | PSH): Buffer[] {
  let seq = startSeq;
  return sizes.map((n, i) => {
    const p = ipv4(
      '198.51.100.1',
      `203.0.113.${flow}`,
      TCP,
      tcp(seq, i === sizes.length - 1 ? lastFlags : ACK, payload(n)),
    );
    seq += n;
    return withL4Checksum(p);
  });
}

function batchOf(pkts: Buffer[]): { bufs: Buffer[]; offs: Int32Array; lens: Int32Array } {
  const bufs = pkts.map((p) => {
    const b = Buffer.alloc(p.length + 100);
    p.copy(b, 100);
    return b;
  });
  return { bufs, offs: Int32Array.from(pkts.map(() => 100)), lens: Int32Array.from(pkts.map((p) => p.length)) };
}

test('GRO: one flow in order becomes one super-packet that splits back into the same segments', () => {
  const segs = segments(1, 1000, [1348, 1348, 1348, 600]);
  const { bufs, offs, lens } = batchOf(segs);
  const plan = planCoalesce(bufs, offs, lens, segs.length);
  assert.deepEqual(plan.runs, [{ members: [0, 1, 2, 3], gsoSize: 1348 }]);
  const out = Buffer.alloc(70_000);
  const n = buildSuperPacket(bufs, offs, lens, plan.runs[0]!.members, 1348, out, 0);
  const h = newVnetHeader();
  decodeVnetHeader(out, 0, h);
  assert.equal(h.gsoType, GsoType.TCPV4);
  assert.equal(h.gsoSize, 1348);
  assert.equal(h.csumStart, 20);
  assert.equal(h.flags, VNET_F_NEEDS_CSUM);
  assert.equal(n, VIRTIO_NET_HDR_LENGTH + 52 + 3 * 1348 + 600);
  const again = collect();
  assert.equal(splitGso(out, VIRTIO_NET_HDR_LENGTH, n - VIRTIO_NET_HDR_LENGTH, h, again.sink), 'ok');
  assert.equal(again.out.length, 4);
  // The ID of each segment is the first one's plus its index, as the kernel's segmentation does too.
  again.out.forEach((p, i) => {
    const want = Buffer.from(segs[i]!);
    want.writeUInt16BE(0x1234 + i, 4);
    want.writeUInt16BE(0, 10);
    want.writeUInt16BE(checksum(want.subarray(0, 20)), 10);
    assert.deepEqual(p, want, `segment ${i}`);
  });
});

test('GRO: interleaved flows make one run each; gaps, bad checksums, SYN and size changes are left alone', () => {
  const a = segments(1, 0, [1000, 1000, 1000]);
  const b = segments(2, 5000, [1000, 1000]);
  const interleaved = [a[0]!, b[0]!, a[1]!, b[1]!, a[2]!];
  let x = batchOf(interleaved);
  assert.deepEqual(
    planCoalesce(x.bufs, x.offs, x.lens, interleaved.length).runs.map((r) => r.members),
    [
      [0, 2, 4],
      [1, 3],
    ],
  );
  const gap = segments(1, 0, [1000, 1000, 1000]);
  x = batchOf([gap[0]!, gap[2]!]);
  assert.deepEqual(
    planCoalesce(x.bufs, x.offs, x.lens, 2).runs.map((r) => r.members),
    [[0], [1]],
  );
  const bad = segments(1, 0, [1000, 1000]);
  bad[1]!.writeUInt8(bad[1]!.readUInt8(60) ^ 0xff, 60);
  x = batchOf(bad);
  assert.deepEqual(
    planCoalesce(x.bufs, x.offs, x.lens, 2).runs.map((r) => r.members),
    [[0], [1]],
  );
  const syn = segments(1, 0, [1000, 1000]);
  syn[1]!.writeUInt8(syn[1]!.readUInt8(33) | 0x02, 33);
  withL4Checksum(syn[1]!);
  x = batchOf(syn);
  assert.deepEqual(
    planCoalesce(x.bufs, x.offs, x.lens, 2).runs.map((r) => r.members),
    [[0], [1]],
  );
  // A larger segment after a smaller one, and anything after a PSH, starts a new run.
  const grow = segments(1, 0, [500, 1000]);
  x = batchOf(grow);
  assert.deepEqual(
    planCoalesce(x.bufs, x.offs, x.lens, 2).runs.map((r) => r.members),
    [[0], [1]],
  );
  const pushed = [...segments(1, 0, [1000, 1000], ACK | PSH), ...segments(1, 2000, [1000])];
  x = batchOf(pushed);
  assert.deepEqual(
    planCoalesce(x.bufs, x.offs, x.lens, 3).runs.map((r) => r.members),
    [[0, 1], [2]],
  );
});

test('hostile GSO headers and bytes: a result, never a throw, never a segment over the room given', () => {
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const base = segments(1, 0, [4000])[0]!;
  for (let i = 0; i < 3000; i++) {
    const pkt = Buffer.from(base.subarray(0, rnd(base.length + 1)));
    for (let k = rnd(4); k > 0; k--) if (pkt.length > 0) pkt[rnd(pkt.length)] = rnd(256);
    const h: VnetHeader = {
      flags: rnd(4),
      gsoType: [0, 1, 3, 4, 5, 9][rnd(6)]!,
      hdrLen: rnd(200),
      gsoSize: [0, 1, 7, 536, 1348, 65535][rnd(6)]!,
      csumStart: [0, 20, 40, rnd(70000)][rnd(4)]!,
      csumOffset: [6, 16, rnd(70000)][rnd(3)]!,
    };
    const c = collect(1500);
    const r = splitGso(pkt, 0, pkt.length, h, c.sink);
    assert.ok(['ok', 'badGso', 'sinkFull'].includes(r));
    assert.ok(c.out.every((p) => p.length <= 1500));
    completeChecksum(pkt, 0, pkt.length, h);
    const x = batchOf([pkt, base]);
    planCoalesce(x.bufs, x.offs, x.lens, 2);
  }
});
