import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SadError, SecurityAssociationDatabase } from '../../src/sad/sad.js';
import type { SaExpireEvent } from '../../src/sad/sad.js';
import type { SaEntryInit, SaLifetime } from '../../src/sad/security-association.js';
import { compileSelector } from '../../src/spd/selector.js';

const selectors = [compileSelector({ local: '192.0.2.0/24', remote: '198.51.100.0/24' })];

function init(
  direction: 'in' | 'out',
  spi: number,
  reqid = 1,
  lifetime?: SaLifetime,
  protocol: 'esp' | 'ah' = 'esp',
): SaEntryInit<string> {
  return {
    protocol,
    spi,
    direction,
    mode: 'tunnel',
    src: direction === 'out' ? '203.0.113.1' : '203.0.113.2',
    dst: direction === 'out' ? '203.0.113.2' : '203.0.113.1',
    reqid,
    selectors,
    engine: `engine-${spi.toString(16)}`,
    ...(lifetime === undefined ? {} : { lifetime }),
  };
}

test('inbound by SPI and protocol, outbound by reqid', () => {
  const sad = new SecurityAssociationDatabase<string>();
  const inEsp = sad.add(init('in', 0xc0000001));
  const inAh = sad.add(init('in', 0xc0000001, 1, undefined, 'ah'));
  const out = sad.add(init('out', 0xd0000001));
  assert.equal(sad.inbound('esp', 0xc0000001), inEsp);
  assert.equal(sad.inbound('ah', 0xc0000001), inAh);
  assert.equal(sad.inbound('esp', 0xc0000002), undefined);
  assert.equal(sad.inbound('esp', 0xd0000001), undefined, 'outbound SAs are not found by inbound SPI');
  assert.equal(sad.outboundFor(1), out);
  assert.equal(sad.outboundFor(2), undefined);
  assert.equal(sad.get({ protocol: 'esp', spi: 0xd0000001, dst: '203.0.113.2' }), out);
  assert.equal(sad.get({ protocol: 'esp', spi: 0xd0000001, dst: '203.0.113.9' }), undefined);
  assert.equal(sad.size, 3);
});

test('duplicate identities and inbound SPIs are refused', () => {
  const sad = new SecurityAssociationDatabase<string>();
  sad.add(init('in', 0x1000));
  assert.throws(() => sad.add(init('in', 0x1000)), SadError);
  sad.add(init('out', 0x2000));
  assert.throws(() => sad.add(init('out', 0x2000)), SadError);
});

test('rekey overlap: the newest outbound SA is used, deleting it falls back', () => {
  const sad = new SecurityAssociationDatabase<string>();
  const old = sad.add(init('out', 0x100, 7));
  const fresh = sad.add(init('out', 0x200, 7));
  assert.equal(sad.outboundFor(7), fresh);
  assert.equal(sad.remove({ protocol: 'esp', spi: 0x200, dst: '203.0.113.2' }), fresh);
  assert.equal(sad.outboundFor(7), old);
  sad.remove({ protocol: 'esp', spi: 0x100, dst: '203.0.113.2' });
  assert.equal(sad.outboundFor(7), undefined);
  assert.equal(sad.remove({ protocol: 'esp', spi: 0x100, dst: '203.0.113.2' }), undefined);
});

test('three outbound SAs on one reqid: removing an older one keeps the newest, removing the newest falls back', () => {
  const sad = new SecurityAssociationDatabase<string>();
  const first = sad.add(init('out', 0x100, 9));
  const second = sad.add(init('out', 0x200, 9));
  const third = sad.add(init('out', 0x300, 9));
  sad.add(init('out', 0x400, 10));
  const id = (spi: number) => ({ protocol: 'esp' as const, spi, dst: '203.0.113.2' });
  assert.equal(sad.outboundFor(9), third);
  assert.equal(sad.remove(id(0x200)), second);
  assert.equal(sad.outboundFor(9), third, 'an older SA went, the newest stays');
  assert.equal(sad.remove(id(0x300)), third);
  assert.equal(sad.outboundFor(9), first);
  const fourth = sad.add(init('out', 0x500, 9));
  assert.equal(sad.outboundFor(9), fourth);
  sad.remove(id(0x100));
  assert.equal(sad.outboundFor(9), fourth);
  sad.remove(id(0x500));
  assert.equal(sad.outboundFor(9), undefined);
  assert.equal(sad.outboundFor(10)?.spi, 0x400, 'other reqids untouched');
});

test('packet lifetime: soft once, hard once, then admit refuses with expired', () => {
  const events: SaExpireEvent<string>[] = [];
  const sad = new SecurityAssociationDatabase<string>((e) => events.push(e));
  const sa = sad.add(init('out', 0x300, 1, { softPackets: 3, hardPackets: 5 }));
  for (let i = 1; i <= 5; i++) {
    assert.equal(sad.admit(sa), true, `packet ${i} admitted`);
    sad.account(sa, 100, i);
    if (i < 3) assert.equal(events.length, 0);
    if (i === 3 || i === 4)
      assert.deepEqual(
        events.map((e) => [e.hard, e.reason]),
        [[false, 'packets']],
      );
  }
  assert.deepEqual(
    events.map((e) => [e.sa, e.hard, e.reason]),
    [
      [sa, false, 'packets'],
      [sa, true, 'packets'],
    ],
  );
  assert.equal(sad.admit(sa), false);
  assert.equal(sad.admit(sa), false);
  assert.equal(sa.drops.expired, 2);
  assert.equal(sa.packets, 5);
  assert.equal(sa.bytes, 500);
  assert.equal(sa.lastUseMs, 5);
  assert.equal(events.length, 2);
});

test('byte lifetime: crossing soft and hard in one packet raises only hard', () => {
  const events: SaExpireEvent<string>[] = [];
  const sad = new SecurityAssociationDatabase<string>((e) => events.push(e));
  const sa = sad.add(init('in', 0x400, 1, { softBytes: 1000, hardBytes: 1500 }));
  sad.account(sa, 999, 0);
  assert.equal(events.length, 0);
  sad.account(sa, 1, 0);
  assert.deepEqual(
    events.map((e) => [e.hard, e.reason]),
    [[false, 'bytes']],
  );
  const sb = sad.add(init('in', 0x401, 1, { softBytes: 1000, hardBytes: 1500 }));
  sad.account(sb, 1600, 0);
  assert.deepEqual(
    events.slice(1).map((e) => [e.sa.spi, e.hard, e.reason]),
    [[0x401, true, 'bytes']],
  );
  assert.equal(sad.admit(sb), false);
});

test('no limits: never expires', () => {
  const events: SaExpireEvent<string>[] = [];
  const sad = new SecurityAssociationDatabase<string>((e) => events.push(e));
  const sa = sad.add(init('out', 0x500));
  for (let i = 0; i < 1000; i++) sad.account(sa, 1400, i);
  assert.equal(events.length, 0);
  assert.equal(sa.bytes, 1_400_000);
});

test('moving the destination (NAT mapping) moves the identity', () => {
  const sad = new SecurityAssociationDatabase<string>();
  const sa = sad.add(init('out', 0x600));
  sad.moveDestination(sa, '198.51.100.77');
  assert.equal(sad.get({ protocol: 'esp', spi: 0x600, dst: '203.0.113.2' }), undefined);
  assert.equal(sad.get({ protocol: 'esp', spi: 0x600, dst: '198.51.100.77' }), sa);
  assert.equal(sad.outboundFor(1), sa);
});

test('JSON listing carries counters and drops by reason', () => {
  const sad = new SecurityAssociationDatabase<string>();
  const sa = sad.add(init('in', 0xabc));
  sad.countDrop(sa, 'icv');
  sad.countDrop(sa, 'replay');
  sad.countDrop(sa, 'replay');
  sad.account(sa, 84, 0);
  const j = sa.toJSON() as { spi: string; drops: Record<string, number>; packets: number; state: string };
  assert.equal(j.spi, '00000abc');
  assert.equal(j.drops.icv, 1);
  assert.equal(j.drops.replay, 2);
  assert.equal(j.packets, 1);
  assert.equal(j.state, 'active');
});

test('sequence-number expiry (RFC 4303 3.3.3): soft once, then hard once', () => {
  const events: SaExpireEvent<string>[] = [];
  const sad = new SecurityAssociationDatabase<string>((e) => events.push(e));
  const sa = sad.add(init('out', 0x700));
  sad.expireBySequence(sa, false);
  sad.expireBySequence(sa, false);
  assert.deepEqual(
    events.map((e) => [e.hard, e.reason]),
    [[false, 'packets']],
  );
  sad.expireBySequence(sa, true);
  sad.expireBySequence(sa, true);
  assert.deepEqual(
    events.map((e) => [e.hard, e.reason]),
    [
      [false, 'packets'],
      [true, 'packets'],
    ],
  );
  assert.equal(sad.admit(sa), false);
});
