/**
 * DSCP and ECN through tunnel-mode ESP, per packet (RFC 4301 5.1.2.1, RFC 6040 normal mode): the outer header
 * of each packet on the wire carries the inner packet's traffic class; a CE mark set on the outer header on
 * the way reaches the inner header at the far end, and a CE mark over a Not-ECT inner packet is a counted drop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ecn } from '../../src/esp/ecn.js';
import { HOST_A, HOST_B, OUTER_A, OUTER_B, SPI_A_TO_B, makePeers, nextWrites, settle } from './two-peers.js';
import { ipv4, ipv4HeaderOk, udp } from '../spd/packets.js';

const EF = 0x2e << 2;
const AF11 = 0x0a << 2;

/** An inner UDP packet with TOS `tos` and a valid header checksum. */
function inner(tos: number, port: number): Buffer {
  const p = ipv4(HOST_A, HOST_B, 17, udp(port, 9, Buffer.from('dscp/ecn')));
  p[1] = tos;
  p.writeUInt16BE(0, 10);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += p.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  p.writeUInt16BE(~sum & 0xffff, 10);
  return p;
}

for (const encap of [false, true]) {
  test(`ESP${encap ? ' in UDP' : ''} tunnel: the outer TOS of each packet is the inner one`, async () => {
    const p = await makePeers({ encap });
    try {
      const protocol = encap ? 17 : 50;
      const seen: number[] = [];
      p.net.drop = (pkt, proto) => {
        if (proto === protocol && pkt.srcAddr === OUTER_A) seen.push(pkt.tos ?? -1);
        return false;
      };
      const sent = [inner(EF | Ecn.ECT_0, 1), inner(AF11, 2), inner(0, 3), inner(EF | Ecn.CE, 4)];
      const atB = nextWrites(p.b.tun, sent.length);
      for (const s of sent) p.a.tun.inject(s);
      const got = await atB;
      assert.deepEqual(seen, [EF | Ecn.ECT_0, AF11, 0, EF | Ecn.CE], 'per packet, DSCP and ECN copied');
      assert.deepEqual(got, sent, 'inner packets unchanged when nothing marked them on the way');
    } finally {
      await p.close();
    }
  });
}

test('a CE mark on the outer header reaches the inner header; over a Not-ECT inner packet it is a counted drop', async () => {
  const p = await makePeers();
  try {
    p.net.alter = (pkt, proto) => {
      if (proto === 50 && pkt.srcAddr === OUTER_A) pkt.tos = (pkt.tos ?? 0) | Ecn.CE; // a congested router
    };
    const ect = inner(AF11 | Ecn.ECT_0, 1);
    const notEct = inner(AF11, 2);
    const atB = nextWrites(p.b.tun, 1);
    p.a.tun.inject(notEct);
    p.a.tun.inject(ect);
    const [got] = await atB;
    await settle();
    assert.ok(got);
    assert.equal(got[1], AF11 | Ecn.CE, 'CE set, DSCP kept');
    assert.ok(ipv4HeaderOk(got), 'inner header checksum updated');
    assert.equal(got.readUInt16BE(20), 1, 'the ECN-capable packet, not the other');
    const u = await p.b.dp.querySa({ protocol: 'esp', spi: SPI_A_TO_B, dst: OUTER_B });
    assert.equal(u.drops.ecn, 1, 'the Not-ECT packet under a CE mark');
    assert.equal(u.packets, 1);
  } finally {
    await p.close();
  }
});
