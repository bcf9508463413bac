/**
 * The memory twin of `headerIncluded` raw IPv4 sockets behaves like Linux with IP_HDRINCL (raw(7)): the
 * sender's header travels (options and Identification kept), total length and checksum are filled in, an
 * Identification of 0 is replaced only when DF is clear, a plain socket receives the payload alone, and a
 * header-included socket receiving from a plain one gets a header in front.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDatagramBatch } from '../../src/io/batch.js';
import { MemoryNetwork } from '../../src/io/memory-network.js';
import { readAddressSlot, writeAddressSlot } from '../../src/io/ip-address.js';
import { DatagramKind, IoError, type DatagramBatch } from '../../src/io/types.js';
import { checksum } from '../spd/packets.js';

const AH = 51;
const A = '192.0.2.1';
const B = '192.0.2.2';
const OPTIONS = Buffer.from([0x01, 0x01, 0x01, 0x00]);

interface Seen {
  bytes: Buffer;
  kind: number;
  from: string;
  to: string;
}

function collect(into: Seen[]): (b: DatagramBatch) => void {
  return (b) => {
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i] ?? 0;
      into.push({
        bytes: Buffer.from(b.bufs[i]!.subarray(off, off + (b.lengths[i] ?? 0))),
        kind: b.kinds[i] ?? 0,
        from: readAddressSlot(b.remoteAddrs, i, 4),
        to: readAddressSlot(b.localAddrs, i, 4),
      });
    }
  };
}

/** IPv4 header with 4 option bytes, protocol 51, total length and checksum deliberately left 0. */
function hdrincl(id: number, flags: number, payload: Buffer): Buffer {
  const p = Buffer.alloc(24 + payload.length);
  p[0] = 0x46;
  p.writeUInt16BE(id, 4);
  p.writeUInt16BE(flags, 6);
  p[8] = 33;
  p[9] = AH;
  p.set([192, 0, 2, 1], 12);
  p.set([192, 0, 2, 2], 16);
  OPTIONS.copy(p, 20);
  payload.copy(p, 24);
  return p;
}

function batchOf(packets: readonly Buffer[], to: string): DatagramBatch {
  const b = createDatagramBatch({ size: packets.length, bufferBytes: 256 }, 4);
  packets.forEach((p, i) => {
    p.copy(b.bufs[i]!, 8);
    b.offsets[i] = 8;
    b.lengths[i] = p.length;
    writeAddressSlot(to, 4, b.remoteAddrs, i);
  });
  b.count = packets.length;
  return b;
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

test('memory twin: header-included IPv4 AH sockets keep the header, fill length and checksum like Linux', async () => {
  const net = new MemoryNetwork();
  const a = net.raw(4, A, AH, 8, { headerIncluded: true });
  const b = net.raw(4, B, AH, 8, { headerIncluded: true });
  const atB: Seen[] = [];
  b.start(collect(atB));
  const body = Buffer.from('0405000000000a0b0c0d0000000100', 'hex');
  const sent = [hdrincl(0xbeef, 0, body), hdrincl(0, 0x4000, body), hdrincl(0, 0, body)];
  assert.equal(a.send(batchOf(sent, B)), 3);
  await settle();
  assert.equal(atB.length, 3);
  for (const [i, s] of atB.entries()) {
    assert.equal(s.kind, DatagramKind.AH);
    assert.equal(s.from, A);
    assert.equal(s.to, B);
    assert.equal(s.bytes.length, 24 + body.length);
    assert.equal(s.bytes.readUInt16BE(2), 24 + body.length, `${i}: total length filled in`);
    assert.equal(checksum(s.bytes.subarray(0, 24)), 0, `${i}: checksum filled in`);
    assert.deepEqual(s.bytes.subarray(20, 24), OPTIONS, `${i}: options kept`);
    assert.equal(s.bytes[8], 33, `${i}: TTL as sent`);
    assert.deepEqual(s.bytes.subarray(24), body, `${i}: payload`);
  }
  assert.equal(atB[0]!.bytes.readUInt16BE(4), 0xbeef, 'chosen identification kept');
  assert.equal(atB[1]!.bytes.readUInt16BE(4), 0, 'identification 0 with DF kept');
  assert.notEqual(atB[2]!.bytes.readUInt16BE(4), 0, 'identification 0 without DF replaced');
  await a.close();
  await b.close();
});

test('memory twin: header-included and plain IPv4 sockets interoperate (strip / add the header)', async () => {
  const net = new MemoryNetwork();
  const inc = net.raw(4, A, AH, 8, { headerIncluded: true });
  const plain = net.raw(4, B, AH, 8);
  const atInc: Seen[] = [];
  const atPlain: Seen[] = [];
  inc.start(collect(atInc));
  plain.start(collect(atPlain));
  const body = Buffer.from('3a0400000000abcd00000001', 'hex');
  inc.send(batchOf([hdrincl(7, 0, body)], B));
  plain.send(batchOf([body], A));
  await settle();
  assert.deepEqual(atPlain[0]!.bytes, body, 'plain socket: payload only');
  assert.equal(atPlain[0]!.from, A);
  const got = atInc[0]!.bytes;
  assert.equal(got.length, 20 + body.length, 'header-included socket: a 20-byte header in front');
  assert.equal(got[0], 0x45);
  assert.equal(got[9], AH);
  assert.deepEqual([...got.subarray(12, 20)], [192, 0, 2, 2, 192, 0, 2, 1]);
  assert.equal(checksum(got.subarray(0, 20)), 0);
  assert.deepEqual(got.subarray(20), body);
  await inc.close();
  await plain.close();
});

test('memory twin: headerIncluded is refused on IPv6, and a header-less slot is not sent', async () => {
  const net = new MemoryNetwork();
  assert.throws(() => net.raw(6, '2001:db8::1', AH, 8, { headerIncluded: true }), IoError);
  const a = net.raw(4, A, AH, 8, { headerIncluded: true });
  assert.equal(a.send(batchOf([Buffer.from('0000', 'hex')], B)), 0);
  assert.equal(a.stats.txErrors, 1);
  await a.close();
});
