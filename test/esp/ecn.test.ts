/** DSCP and ECN across a tunnel: RFC 6040 normal mode on encapsulation, its Figure 4 on decapsulation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ecn, decapsulateEcn, decapsulatedEcn, outerTrafficClass, readTrafficClass } from '../../src/esp/ecn.js';
import { ipv4, ipv4HeaderOk, ipv6, udp } from '../spd/packets.js';

const { NOT_ECT, ECT_0, ECT_1, CE } = Ecn;
const DROP = -1;

test('RFC 6040 Figure 4: every inner/outer ECN combination', () => {
  // rows: inner Not-ECT, ECT(0), ECT(1), CE; columns: outer Not-ECT, ECT(0), ECT(1), CE
  const table = [
    [NOT_ECT, [NOT_ECT, NOT_ECT, NOT_ECT, DROP]],
    [ECT_0, [ECT_0, ECT_0, ECT_1, CE]],
    [ECT_1, [ECT_1, ECT_1, ECT_1, CE]],
    [CE, [CE, CE, CE, CE]],
  ] as const;
  for (const [inner, row] of table)
    [NOT_ECT, ECT_0, ECT_1, CE].forEach((outer, k) =>
      assert.equal(decapsulatedEcn(outer, inner), row[k], `inner ${inner}, outer ${outer}`),
    );
});

test('encapsulation copies DSCP and ECN to the outer header (normal mode)', () => {
  for (const tc of [0x00, 0xb8 | ECT_0, 0x28 | CE, 0xff]) assert.equal(outerTrafficClass(tc), tc);
});

test('decapsulation into IPv4: ECN set, DSCP kept, header checksum still valid; CE over Not-ECT is dropped', () => {
  const dscp = 0x2e << 2; // EF
  // Recompute the header checksum for the TOS we set (the helper computed it for TOS 0).
  const fresh = ipv4('192.0.2.1', '198.51.100.1', 17, udp(1, 2), { id: 7 });
  fresh[1] = dscp | ECT_0;
  let sum = 0;
  fresh.writeUInt16BE(0, 10);
  for (let i = 0; i < 20; i += 2) sum += fresh.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  fresh.writeUInt16BE(~sum & 0xffff, 10);
  assert.ok(ipv4HeaderOk(fresh));
  assert.equal(decapsulateEcn(fresh, 0, fresh.length, CE), true);
  assert.equal(readTrafficClass(fresh, 0, fresh.length), dscp | CE, 'CE passed on, DSCP kept');
  assert.ok(ipv4HeaderOk(fresh), 'checksum updated incrementally');
  assert.equal(decapsulateEcn(fresh, 0, fresh.length, ECT_1), true);
  assert.equal(readTrafficClass(fresh, 0, fresh.length), dscp | CE, 'CE is never cleared');

  const notEct = ipv4('192.0.2.1', '198.51.100.1', 17, udp(1, 2));
  assert.equal(decapsulateEcn(notEct, 0, notEct.length, ECT_0), true);
  assert.equal(readTrafficClass(notEct, 0, notEct.length), NOT_ECT);
  assert.equal(decapsulateEcn(notEct, 0, notEct.length, CE), false, 'outer CE, inner Not-ECT: drop');
});

test('decapsulation into IPv6: the Traffic Class spans two bytes; the flow label is untouched', () => {
  const p = ipv6('2001:db8::1', '2001:db8::2', 17, udp(1, 2));
  p.writeUInt32BE((6 << 28) | ((0xb8 | ECT_1) << 20) | 0xabcde, 0);
  assert.equal(readTrafficClass(p, 0, p.length), 0xb8 | ECT_1);
  assert.equal(decapsulateEcn(p, 0, p.length, CE), true);
  assert.equal(p.readUInt32BE(0), ((6 << 28) | ((0xb8 | CE) << 20) | 0xabcde) >>> 0);
});
