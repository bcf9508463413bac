/**
 * `headerIncluded` raw IPv4 AH sockets between two namespaces over veth: a packet whose IPv4 header we
 * built (chosen Identification, IPv4 options) is sealed with AH in transport mode, sent with IP_HDRINCL,
 * and received with its header intact, so the receiver's AH ICV (which covers the Identification,
 * RFC 4302 3.3.3.1.1.1) verifies. A plain socket next to it still gets the header stripped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AhInboundSa, AhOutboundSa } from '../../src/ah/index.js';
import { createIntegrity } from '../../src/crypto/index.js';
import { IntegId } from '../../src/crypto/ids.js';
import { createDatagramBatch } from '../../src/io/batch.js';
import { readAddressSlot, writeAddressSlot } from '../../src/io/ip-address.js';
import { IpProto } from '../../src/common/ip.js';
import { LinuxPacketSocket } from '../../src/io/linux/raw-socket.js';
import { DatagramKind, IoError, type DatagramBatch } from '../../src/io/types.js';
import { checksum, icmpEcho } from '../spd/packets.js';
import { addNetns, delNetns, openFdCount, rootSkip, sh, uniqueName, waitFor } from './netns.js';

const HMAC_KEY = Buffer.from('4142434445464748494a4b4c4d4e4f504142434445464748494a4b4c4d4e4f50', 'hex');
const SPI = 0x0a0b0c0d;
/** Stream Identifier option (RFC 791 3.1, type 136, length 4) padded with a NOP and an End of Option List. */
const OPTIONS = Buffer.from([0x88, 0x04, 0xbe, 0xef, 0x01, 0x01, 0x01, 0x00]);
const HEADROOM = 64;

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
        bytes: Buffer.from(b.bufs[i]?.subarray(off, off + (b.lengths[i] ?? 0)) ?? []),
        kind: b.kinds[i] ?? 0,
        from: readAddressSlot(b.remoteAddrs, i, 4),
        to: readAddressSlot(b.localAddrs, i, 4),
      });
    }
  };
}

/** An ICMP echo in an IPv4 header with options, written here byte by byte (RFC 791 3.1). */
function echoWithOptions(id: number, flags: number): Buffer {
  const icmp = icmpEcho(8, 0x7777, id & 0xff, Buffer.from('ah header-included'));
  const hl = 20 + OPTIONS.length;
  const p = Buffer.alloc(hl + icmp.length);
  p[0] = 0x40 | (hl / 4);
  p.writeUInt16BE(p.length, 2);
  p.writeUInt16BE(id, 4);
  p.writeUInt16BE(flags, 6);
  p[8] = 64;
  p[9] = 1;
  p.set([192, 0, 2, 1], 12);
  p.set([192, 0, 2, 2], 16);
  OPTIONS.copy(p, 20);
  p.writeUInt16BE(checksum(p.subarray(0, hl)), 10);
  icmp.copy(p, hl);
  return p;
}

/** Seal `plain` with AH (transport) in a batch slot with headroom, addressed to 192.0.2.2. */
function sealedBatch(out: AhOutboundSa, packets: readonly Buffer[]): DatagramBatch {
  const batch = createDatagramBatch({ size: packets.length, bufferBytes: 2048 }, 4);
  packets.forEach((p, i) => {
    const buf = batch.bufs[i]!;
    p.copy(buf, HEADROOM);
    const pkt = { buf, off: HEADROOM, len: p.length };
    assert.equal(out.seal(pkt), 'ok');
    batch.offsets[i] = pkt.off;
    batch.lengths[i] = pkt.len;
    writeAddressSlot('192.0.2.2', 4, batch.remoteAddrs, i);
  });
  batch.count = packets.length;
  return batch;
}

test(
  'AH over IPv4 with IP_HDRINCL between two namespaces: our header arrives intact and the ICV verifies',
  { skip: rootSkip },
  async () => {
    const fdsBefore = openFdCount();
    const nsA = uniqueName('tsi-ah');
    const nsB = uniqueName('tsi-ah');
    try {
      addNetns(nsA);
      addNetns(nsB);
      sh('ip', ['-n', nsA, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', nsB]);
      sh('ip', ['-n', nsA, 'addr', 'add', '192.0.2.1/24', 'dev', 'veth0']);
      sh('ip', ['-n', nsB, 'addr', 'add', '192.0.2.2/24', 'dev', 'veth1']);
      sh('ip', ['-n', nsA, 'link', 'set', 'veth0', 'up']);
      sh('ip', ['-n', nsB, 'link', 'set', 'veth1', 'up']);

      const a = new LinuxPacketSocket({ family: 4, protocol: IpProto.AH, netns: nsA, headerIncluded: true });
      const b = new LinuxPacketSocket({ family: 4, protocol: IpProto.AH, netns: nsB, headerIncluded: true });
      const plain = new LinuxPacketSocket({ family: 4, protocol: IpProto.AH, netns: nsB });
      try {
        assert.equal(a.headerIncluded, true);
        assert.equal(plain.headerIncluded, false);
        const atB: Seen[] = [];
        const atPlain: Seen[] = [];
        b.start(collect(atB));
        plain.start(collect(atPlain));

        const integ = (): ReturnType<typeof createIntegrity> =>
          createIntegrity(IntegId.AUTH_HMAC_SHA2_256_128, HMAC_KEY);
        const out = new AhOutboundSa({ spi: SPI, mode: 'transport', integrity: integ(), esn: false });
        const inb = new AhInboundSa({ spi: SPI, mode: 'transport', integrity: integ(), esn: false, replayWindow: 32 });
        // A chosen identification, and (the data plane's case for Identification 0) 0 with DF set, which
        // the kernel leaves alone.
        const plainPackets = [echoWithOptions(0xc0de, 0), echoWithOptions(0, 0x4000)];
        const batch = sealedBatch(out, plainPackets);
        const sent = [0, 1].map((i) =>
          Buffer.from(batch.bufs[i]!.subarray(batch.offsets[i]!, batch.offsets[i]! + batch.lengths[i]!)),
        );
        assert.equal(a.send(batch), 2);
        await waitFor(() => atB.length >= 2 && atPlain.length >= 2, 3000, 'AH packets');

        const hl = 20 + OPTIONS.length;
        for (let i = 0; i < 2; i++) {
          const got = atB[i]!;
          const want = sent[i]!;
          assert.equal(got.kind, DatagramKind.AH);
          assert.equal(got.from, '192.0.2.1');
          assert.equal(got.to, '192.0.2.2');
          assert.equal(got.bytes.readUInt16BE(4), plainPackets[i]!.readUInt16BE(4), `packet ${i}: identification kept`);
          assert.deepEqual(got.bytes.subarray(20, hl), OPTIONS, `packet ${i}: options kept`);
          assert.equal(got.bytes[9], IpProto.AH);
          // Header and payload byte for byte (no router in between: TTL too; the kernel's checksum is valid).
          assert.deepEqual(got.bytes, want, `packet ${i}: whole datagram`);
          assert.equal(checksum(got.bytes.subarray(0, hl)), 0, `packet ${i}: header checksum`);
          // The default socket next to it still strips the header: payload starts at the AH.
          assert.deepEqual(atPlain[i]!.bytes, want.subarray(hl), `packet ${i}: plain socket strips the header`);

          const pkt = { buf: Buffer.from(got.bytes), off: 0, len: got.bytes.length };
          assert.equal(inb.open(pkt), 'ok', `packet ${i}: AH ICV verifies on the received header`);
          assert.deepEqual(
            pkt.buf.subarray(pkt.off + hl, pkt.off + pkt.len),
            plainPackets[i]!.subarray(hl),
            `packet ${i}: payload`,
          );
        }
      } finally {
        await a.close();
        await b.close();
        await plain.close();
      }
    } finally {
      delNetns(nsA);
      delNetns(nsB);
    }
    assert.equal(openFdCount(), fdsBefore, 'every fd closed');
  },
);

test('headerIncluded is refused on IPv6 raw sockets', { skip: rootSkip }, () => {
  assert.throws(
    () => new LinuxPacketSocket({ family: 6, protocol: IpProto.AH, headerIncluded: true }),
    (e: unknown) => e instanceof IoError && /IPv4 raw sockets only/.test(e.message),
  );
});
