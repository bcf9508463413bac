/** The kernel boundary as the IKE daemon sees it: argument checks, SPI allocation, TS conversion. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelError } from '../../src/kernel/kernel-ipsec.js';
import { selectorFromTs, selectorsFromTs } from '../../src/kernel/selectors-from-ts.js';
import { CompiledSelector } from '../../src/spd/selector.js';
import { FlowKey, PortKind } from '../../src/spd/flow.js';
import { addressWords } from '../../src/spd/address.js';
import type { EncrId } from '../../src/crypto/ids.js';
import { KEY_A_TO_B, OUTER_A, OUTER_B, SPI_A_TO_B, makePeers, saArgs } from './two-peers.js';

test('allocSpi: outside the reserved range, unique, and not colliding with installed SAs', async () => {
  const p = await makePeers();
  try {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const spi = await p.a.dp.allocSpi({ protocol: 'esp', src: OUTER_B, dst: OUTER_A });
      assert.ok(spi >= 256 && spi <= 0xffffffff);
      assert.ok(!seen.has(spi));
      seen.add(spi);
    }
  } finally {
    await p.close();
  }
});

test('addSa / delSa / querySa / updateSa refuse what they cannot do with KernelError', async () => {
  const p = await makePeers();
  const dp = p.a.dp;
  const sel = [p.selA];
  try {
    await assert.rejects(
      dp.addSa({ ...saArgs(0x3000, true, OUTER_B, OUTER_A, sel, {}, KEY_A_TO_B), protocol: 'ah' }),
      KernelError,
    );
    await assert.rejects(
      dp.addSa(saArgs(255, true, OUTER_B, OUTER_A, sel, {}, KEY_A_TO_B)),
      KernelError,
      'reserved SPI',
    );
    await assert.rejects(
      dp.addSa(saArgs(0x3000, true, OUTER_B, '2001:db8::1', sel, {}, KEY_A_TO_B)),
      KernelError,
      'mixed families',
    );
    await assert.rejects(
      dp.addSa(saArgs(0x3000, true, OUTER_B, OUTER_A, sel, {}, KEY_A_TO_B.subarray(0, 10))),
      KernelError,
      'wrong key length',
    );
    await assert.rejects(
      dp.addSa({
        ...saArgs(0x3000, true, OUTER_B, OUTER_A, sel, {}, KEY_A_TO_B),
        enc: { id: 99 as EncrId, key: KEY_A_TO_B },
      }),
      KernelError,
      'unknown algorithm',
    );
    await assert.rejects(
      dp.addSa(saArgs(0x3000, true, OUTER_B, OUTER_A, [{ local: '192.0.2.0/33', remote: 'any4' }], {}, KEY_A_TO_B)),
      KernelError,
      'bad selector',
    );
    await assert.rejects(
      dp.addSa(saArgs(SPI_A_TO_B, false, OUTER_A, OUTER_B, sel, {}, KEY_A_TO_B)),
      KernelError,
      'duplicate',
    );
    await assert.rejects(dp.delSa({ protocol: 'esp', spi: 0x9999, dst: OUTER_A }), KernelError);
    await assert.rejects(dp.querySa({ protocol: 'esp', spi: 0x9999, dst: OUTER_A }), KernelError);
    await assert.rejects(dp.updateSa({ id: { protocol: 'esp', spi: 0x9999, dst: OUTER_A } }), KernelError);
    await assert.rejects(
      dp.addPolicy({ direction: 'out', selector: { local: 'any4', remote: 'any4' }, action: 'protect' }),
      KernelError,
    );
    await assert.rejects(dp.delPolicy(12345), KernelError);
    // Nothing half-installed by the failures.
    assert.equal(dp.sad.size, 2);
  } finally {
    await p.close();
  }
});

test('updateSa moves an outbound SA to a new peer address (MOBIKE / NAT)', async () => {
  const p = await makePeers();
  try {
    const id = { protocol: 'esp' as const, spi: SPI_A_TO_B, dst: OUTER_B };
    await p.a.dp.updateSa({ id, dst: '203.0.113.77' });
    await assert.rejects(p.a.dp.querySa(id), KernelError);
    const moved = await p.a.dp.querySa({ ...id, dst: '203.0.113.77' });
    assert.equal(moved.packets, 0);
    const json = p.a.dp.toJSON() as { sas: { dst: string }[] };
    assert.ok(json.sas.some((s) => s.dst === '203.0.113.77'));
  } finally {
    await p.close();
  }
});

const v4 = (s: string): Uint8Array => Uint8Array.from(s.split('.').map(Number));

test('IKEv2 traffic selectors become selector pairs (RFC 7296 2.9: every combination)', () => {
  const tsI = [
    { ipProtocol: 0, startPort: 0, endPort: 65535, startAddr: v4('192.0.2.0'), endAddr: v4('192.0.2.127') },
    { ipProtocol: 17, startPort: 500, endPort: 500, startAddr: v4('192.0.2.200'), endAddr: v4('192.0.2.200') },
  ];
  const tsR = [
    { ipProtocol: 0, startPort: 0, endPort: 65535, startAddr: v4('198.51.100.0'), endAddr: v4('198.51.100.255') },
  ];
  const pairs = selectorsFromTs(tsI, tsR);
  assert.equal(pairs.length, 2);
  assert.deepEqual(pairs[0], { local: '192.0.2.0-192.0.2.127', remote: '198.51.100.0-198.51.100.255' });
  assert.deepEqual(pairs[1], {
    local: '192.0.2.200-192.0.2.200',
    remote: '198.51.100.0-198.51.100.255',
    protocol: 17,
    localPort: { start: 500, end: 500 },
    remotePort: 'any',
  });
  assert.equal(new CompiledSelector(pairs[0]!).toString(), '192.0.2.0/25 === 198.51.100.0/24');
  // Different protocols on the two sides cannot form a pair.
  assert.equal(selectorFromTs({ ...tsI[1]!, ipProtocol: 6 }, { ...tsR[0]!, ipProtocol: 17 }), undefined);
  // IPv6 ends come in the project's one text form (RFC 5952: compressed).
  const v6 = (hex: string): Buffer => Buffer.from(hex, 'hex');
  const host6 = {
    ...tsI[0]!,
    startAddr: v6('20010db8000000000000000000000001'),
    endAddr: v6('20010db8000000000000000000000001'),
  };
  const net6 = {
    ...tsR[0]!,
    startAddr: v6('20010db8000b00000000000000000000'),
    endAddr: v6('20010db8000bffffffffffffffffffff'),
  };
  assert.deepEqual(selectorFromTs(host6, net6), {
    local: '2001:db8::1-2001:db8::1',
    remote: '2001:db8:b::-2001:db8:b:ffff:ffff:ffff:ffff:ffff',
  });
});

test('ICMP traffic selectors: type/code taken from whichever side names it', () => {
  const any = { startPort: 0, endPort: 65535, startAddr: v4('192.0.2.0'), endAddr: v4('192.0.2.255') };
  const echo = {
    startPort: 8 << 8,
    endPort: (8 << 8) | 0xff,
    startAddr: v4('198.51.100.0'),
    endAddr: v4('198.51.100.255'),
  };
  const s = selectorFromTs({ ...any, ipProtocol: 1 }, { ...echo, ipProtocol: 1 });
  assert.ok(s !== undefined);
  const sel = new CompiledSelector(s);
  const key = new FlowKey().set(
    4,
    addressWords('192.0.2.1').words,
    addressWords('198.51.100.1').words,
    1,
    8 << 8,
    0,
    PortKind.TYPE_CODE,
  );
  assert.equal(sel.matches(key, false), true);
  key.typeCode = 0;
  assert.equal(sel.matches(key, false), false);
});
