import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExchangeType } from '../../src/ike/codec/constants.js';
import { Pair, describe } from './exchange-helper.js';

function established(
  o: ConstructorParameters<typeof Pair>[0] = {},
  r: ConstructorParameters<typeof Pair>[1] = {},
): Pair {
  const p = new Pair(o, r);
  p.initiate();
  p.run();
  assert.equal(p.events('i', 'childSaInstalled').length, 1);
  return p;
}

for (const starter of ['i', 'r'] as const) {
  test(`CHILD_SA rekey started by the ${starter === 'i' ? 'initiator' : 'responder'}`, () => {
    const p = established();
    const other = starter === 'i' ? 'r' : 'i';
    const engine = starter === 'i' ? p.i : p.r;
    const [old] = p.events(starter, 'childSaInstalled');
    assert.ok(old);
    engine.rekeyChild(old.child.id, p.nowMs);
    // HDR, SK { N(REKEY_SA), SA, Ni, TSi, TSr } -->
    const req = p.deliver(starter);
    assert.equal(describe(req).exchangeType, ExchangeType.CREATE_CHILD_SA);
    assert.equal(p.events(other, 'childSaInstalled').length, 2);
    // <-- HDR, SK { SA, Nr, TSi, TSr }
    p.deliver(other);
    const installed = p.events(starter, 'childSaInstalled');
    assert.equal(installed.length, 2);
    const fresh = installed[1];
    assert.ok(fresh);
    assert.equal(fresh.rekeyOf, old.child.id);
    assert.notEqual(fresh.child.spiIn, old.child.spiIn);
    // HDR, SK { D(ESP, old SPI) } -->
    const del = p.deliver(starter);
    assert.equal(describe(del).exchangeType, ExchangeType.INFORMATIONAL);
    // <-- HDR, SK { D(ESP, old SPI) }
    p.deliver(other);
    assert.equal(p.wire.length, 0);
    for (const side of ['i', 'r'] as const) {
      const deleted = p.events(side, 'childSaDeleted');
      assert.equal(deleted.length, 1, `side ${side}`);
      assert.equal(deleted[0]?.name, 'net');
    }
    assert.deepEqual(p.events('i', 'childSaDeleted')[0]?.spiIn, p.events('r', 'childSaDeleted')[0]?.spiOut);
    // Both sides keep exactly the new pair, keys matching crosswise.
    const ni = p.events('i', 'childSaInstalled')[1]?.child;
    const nr = p.events('r', 'childSaInstalled')[1]?.child;
    assert.ok(ni && nr);
    assert.equal(ni.spiIn, nr.spiOut);
    assert.deepEqual(ni.keysOut, nr.keysIn);
    assert.deepEqual(ni.keysIn, nr.keysOut);
    const sas = p.i.ikeSas();
    assert.equal(sas.length, 1);
    assert.equal(sas[0]?.children.length, 1);
    assert.equal(p.r.ikeSas()[0]?.children.length, 1);
  });
}

test('CHILD_SA rekey with PFS (esp_proposals with a KE method) changes the keys', () => {
  const p = established(
    { child: { proposals: ['aes256-sha512-modp3072'] } },
    { child: { proposals: ['aes256-sha512-modp3072'] } },
  );
  const [old] = p.events('i', 'childSaInstalled');
  assert.ok(old);
  assert.equal(old.child.integId, 14);
  p.i.rekeyChild(old.child.id, p.nowMs);
  // HDR, SK { N(REKEY_SA), SA, Ni, KEi, TSi, TSr } -->
  // <-- HDR, SK { SA, Nr, KEr, TSi, TSr }
  p.run();
  const ni = p.events('i', 'childSaInstalled')[1]?.child;
  const nr = p.events('r', 'childSaInstalled')[1]?.child;
  assert.ok(ni && nr);
  assert.deepEqual(ni.keysOut, nr.keysIn);
  assert.equal(ni.keysOut.encr.length, 32);
  assert.equal(ni.keysOut.integ.length, 64);
});

test('CHILD_SA rekey by lifetime: soft expiry by time starts a rekey; volume limits go to the data plane', () => {
  const lifetimes = {
    rekeyTimeSec: 100,
    lifeTimeSec: 200,
    randTimeSec: 10,
    rekeyBytes: 1000,
    lifeBytes: 5000,
    randBytes: 0,
    rekeyPackets: 0,
    lifePackets: 0,
    randPackets: 0,
  };
  const p = established(
    { child: { lifetimes } },
    { child: { lifetimes: { ...lifetimes, rekeyTimeSec: 1000, lifeTimeSec: 2000 } } },
  );
  const [c] = p.events('i', 'childSaInstalled');
  assert.ok(c);
  assert.deepEqual([c.child.rekeyBytes, c.child.lifeBytes], [1000, 5000], 'for the data plane to enforce');
  // Bytes: the data plane's soft limit was reached -> the daemon asks for a rekey.
  p.i.rekeyChild(c.child.id, p.nowMs);
  p.pump();
  assert.equal(describe(p.wire[0] ?? assert.fail('no request')).exchangeType, ExchangeType.CREATE_CHILD_SA);
  p.run();
  assert.equal(p.events('i', 'childSaInstalled').length, 2);
  assert.equal(p.events('i', 'childSaDeleted').length, 1);
  // Time: the new CHILD_SA is rekeyed between 90 and 100 s later (rand_time jitter).
  const next = p.i.nextTimerMs();
  assert.ok(next !== undefined && next - p.nowMs >= 90_000 && next - p.nowMs <= 100_000, `next timer ${next}`);
  p.advance(100_000);
  p.run();
  assert.equal(p.events('i', 'childSaInstalled').length, 3);
});
