/**
 * The mmsghdr table's receive set-up: after a receive, only the slots the kernel filled (and slots given another
 * buffer) are set up again, and every slot the next recvmmsg may fill is ready for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatagramBatch } from '../../src/io/batch.js';
import {
  addressOf,
  MMSGHDR_BYTES,
  MSG_CONTROLLEN_OFFSET,
  MSG_FLAGS_OFFSET,
  MSG_NAMELEN_OFFSET,
} from '../../src/io/linux/libc.js';
import { CONTROL_SLOT_BYTES, MmsgTable } from '../../src/io/linux/mmsg-table.js';

const IOV_BASE = (t: MmsgTable, i: number): number => {
  const iov = Number(t.mem.readBigUInt64LE(i * MMSGHDR_BYTES + 16)) - t.address;
  return Number(t.mem.readBigUInt64LE(iov));
};

/** What recvmmsg writes into a slot it fills: the address and control lengths it used, and flags. */
function kernelFills(t: MmsgTable, i: number): void {
  const h = i * MMSGHDR_BYTES;
  t.mem.writeUInt32LE(16, h + MSG_NAMELEN_OFFSET);
  t.mem.writeBigUInt64LE(24n, h + MSG_CONTROLLEN_OFFSET);
  t.mem.writeInt32LE(0x20, h + MSG_FLAGS_OFFSET);
}

function ready(t: MmsgTable, i: number): boolean {
  const h = i * MMSGHDR_BYTES;
  return (
    t.mem.readUInt32LE(h + MSG_NAMELEN_OFFSET) === 32 &&
    t.mem.readBigUInt64LE(h + MSG_CONTROLLEN_OFFSET) === BigInt(CONTROL_SLOT_BYTES) &&
    t.mem.readInt32LE(h + MSG_FLAGS_OFFSET) === 0
  );
}

test('receive slots the kernel filled are set up again, the others kept; a new buffer is pointed at', () => {
  const t = new MmsgTable(4, 4);
  const batch = createDatagramBatch({ size: 4, bufferBytes: 256 }, 4);
  t.prepareReceive(batch, 4, 0);
  for (let i = 0; i < 4; i++) assert.ok(ready(t, i), `slot ${i} ready at first`);
  // One datagram arrived: the kernel wrote slot 0 only.
  kernelFills(t, 0);
  t.received(1);
  t.prepareReceive(batch, 4, 0);
  for (let i = 0; i < 4; i++) assert.ok(ready(t, i), `slot ${i} ready after one datagram`);
  // Three arrived, then the socket swapped slot 1's buffer (compaction) and slot 3's (kept elsewhere).
  for (let i = 0; i < 3; i++) kernelFills(t, i);
  t.received(3);
  const fresh = Buffer.alloc(256);
  batch.bufs[3] = fresh;
  t.prepareReceive(batch, 4, 0);
  for (let i = 0; i < 4; i++) assert.ok(ready(t, i), `slot ${i} ready after three`);
  assert.equal(IOV_BASE(t, 3), addressOf(fresh), 'slot 3 points at its new buffer');
  // Nothing received (EAGAIN): nothing to redo, and nothing is.
  t.received(-1);
  t.prepareReceive(batch, 4, 0);
  for (let i = 0; i < 4; i++) assert.ok(ready(t, i));
  // Another start offset re-points every slot.
  t.prepareReceive(batch, 4, 8);
  assert.equal(IOV_BASE(t, 2), addressOf(batch.bufs[2]!) + 8);
});
