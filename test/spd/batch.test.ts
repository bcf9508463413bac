/**
 * Batches of policies (a CHILD_SA's selector pairs): inserted and removed in the order one-by-one inserts
 * would give, all or nothing, and found through the index afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowKey, PortKind } from '../../src/spd/flow.js';
import { addressWords, SelectorError } from '../../src/spd/address.js';
import { SecurityPolicyDatabase } from '../../src/spd/spd.js';
import type { PolicyInput } from '../../src/spd/spd.js';

function flow(src: string, dst: string): FlowKey {
  const s = addressWords(src);
  const d = addressWords(dst);
  return new FlowKey().set(s.family, s.words, d.words, 17, 1000, 2000, PortKind.PORTS);
}

/** 8 x 8 host pairs each way, as a CHILD_SA with eight selectors a side installs them. */
function pairs(reqid: number): PolicyInput[] {
  const out: PolicyInput[] = [];
  for (let a = 1; a <= 8; a++)
    for (let b = 1; b <= 8; b++) {
      const local = `192.0.2.${a}/32`;
      const remote = `198.51.100.${b}/32`;
      out.push({ direction: 'out', selector: { local, remote }, action: 'protect', reqid });
      out.push({ direction: 'in', selector: { local, remote }, action: 'protect', reqid });
    }
  return out;
}

test('addPolicies: 128 policies, all found by lookup', () => {
  const spd = new SecurityPolicyDatabase();
  const added = spd.addPolicies(pairs(7));
  assert.equal(added.length, 128);
  assert.equal(spd.size, 128);
  assert.equal(spd.lookup('out', flow('192.0.2.3', '198.51.100.8'))?.reqid, 7);
  assert.equal(spd.lookup('in', flow('198.51.100.5', '192.0.2.1'))?.reqid, 7);
  assert.equal(spd.lookup('out', flow('192.0.2.9', '198.51.100.8')), undefined);
});

test('addPolicies gives the order one add after the other gives (priority, then insertion)', () => {
  const inputs: PolicyInput[] = [
    { direction: 'out', selector: { local: 'any4', remote: 'any4' }, action: 'discard', priority: 50 },
    { direction: 'out', selector: { local: '192.0.2.0/24', remote: 'any4' }, action: 'bypass' },
    { direction: 'out', selector: { local: '192.0.2.1/32', remote: 'any4' }, action: 'protect', reqid: 1 },
    { direction: 'out', selector: { local: 'any4', remote: 'any4' }, action: 'bypass', priority: 50 },
    { direction: 'out', selector: { local: '192.0.2.1/32', remote: 'any4' }, action: 'protect', reqid: 2 },
  ];
  const one = new SecurityPolicyDatabase();
  one.add({ direction: 'out', selector: { local: 'any4', remote: 'any4' }, action: 'bypass', priority: 50 });
  for (const i of inputs) one.add(i);
  const batch = new SecurityPolicyDatabase();
  batch.add({ direction: 'out', selector: { local: 'any4', remote: 'any4' }, action: 'bypass', priority: 50 });
  batch.addPolicies(inputs);
  const shape = (spd: SecurityPolicyDatabase) => spd.list('out').map((p) => `${p.action}/${p.reqid}/${p.priority}`);
  assert.deepEqual(shape(batch), shape(one));
  assert.deepEqual(
    batch.list('out').map((p) => p.id),
    [...batch.list('out')].sort((a, b) => a.priority - b.priority || a.seq - b.seq).map((p) => p.id),
  );
});

test('addPolicies is all or nothing: a bad selector or a protect without reqid inserts none', () => {
  const spd = new SecurityPolicyDatabase();
  const good = pairs(3).slice(0, 10);
  assert.throws(
    () =>
      spd.addPolicies([
        ...good,
        { direction: 'out', selector: { local: '192.0.2.0/40', remote: 'any4' }, action: 'bypass' },
      ]),
    SelectorError,
  );
  assert.throws(
    () =>
      spd.addPolicies([...good, { direction: 'out', selector: { local: 'any4', remote: 'any4' }, action: 'protect' }]),
    RangeError,
  );
  assert.equal(spd.size, 0);
  assert.equal(spd.lookup('out', flow('192.0.2.1', '198.51.100.1')), undefined, 'nothing left in the index');
});

test('removePolicies: many out at once, the rest still found', () => {
  const spd = new SecurityPolicyDatabase();
  const first = spd.addPolicies(pairs(1));
  spd.addPolicies([{ direction: 'out', selector: { local: 'any4', remote: 'any4' }, action: 'bypass' }]);
  assert.equal(spd.removePolicies([...first.map((p) => p.id), 9999]), 128);
  assert.equal(spd.size, 1);
  assert.equal(spd.lookup('out', flow('192.0.2.3', '198.51.100.8'))?.action, 'bypass');
  assert.equal(spd.lookup('in', flow('198.51.100.5', '192.0.2.1')), undefined);
  assert.equal(spd.remove(first[0]!.id), false);
});
