/**
 * Property: random bytes and mutated valid messages fed to a responder never throw out of the engine,
 * never hit an internal error, and never change an established IKE_SA or its CHILD_SAs (nothing
 * unauthenticated gets through the SK payload's integrity check).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestRng } from '../../src/crypto/index.js';
import type { IkeEngine } from '../../src/ike/engine.js';
import { IkeSaState } from '../../src/ike/sa-state.js';
import { ADDR_I, ADDR_R, Pair } from './exchange-helper.js';

function snapshot(e: IkeEngine): string {
  return JSON.stringify(
    e
      .ikeSas()
      .filter((s) => s.state !== IkeSaState.CONNECTING)
      .map((s) => ({
        id: s.id,
        state: s.state,
        spiI: s.spiI.toString('hex'),
        spiR: s.spiR.toString('hex'),
        expected: s.expectedRequestId,
        next: s.nextRequestId,
        remote: s.remote,
        children: s.children.map((c) => [c.id, c.state, c.spiIn.toString('hex'), c.spiOut.toString('hex')]),
      })),
  );
}

test('hostile input: 6,000 random and mutated datagrams into an established responder', () => {
  const p = new Pair();
  const captured: Buffer[] = [];
  const keep = (): void => {
    for (const d of p.wire) if (d.sender === 'i') captured.push(Buffer.from(d.bytes));
  };
  p.initiate();
  keep();
  // Record a full life: establish, a CHILD_SA rekey, a DPD, a new CHILD_SA.
  while (p.wire.length > 0) {
    p.deliver();
    keep();
  }
  const [c] = p.events('i', 'childSaInstalled');
  const [e] = p.events('i', 'ikeSaEstablished');
  assert.ok(c && e);
  p.i.rekeyChild(c.child.id, p.nowMs);
  p.i.checkLiveness(e.ikeSaId, p.nowMs);
  p.pump();
  keep();
  while (p.wire.length > 0) {
    p.deliver();
    keep();
  }
  assert.ok(captured.length >= 5);
  const before = snapshot(p.r);
  const eventsBefore = p.eventsR.length;
  const rng = createTestRng('hostile');
  const u32 = (): number => rng.bytes(4).readUInt32BE(0);
  let fed = 0;
  for (let n = 0; n < 6000; n++) {
    let bytes: Buffer;
    const kind = n % 3;
    if (kind === 0) {
      bytes = rng.bytes(u32() % 600);
      if (bytes.length >= 28 && n % 2 === 0) {
        // Make it look like IKEv2 to get past the first checks: version 2.0, a real exchange type, right length.
        bytes[17] = 0x20;
        bytes[18] = 34 + (u32() % 4);
        bytes.writeUInt32BE(bytes.length, 24);
      }
    } else {
      const base = captured[u32() % captured.length] as Buffer;
      bytes = Buffer.from(base);
      const flips = 1 + (u32() % 3);
      for (let f = 0; f < flips; f++) {
        const at = u32() % bytes.length;
        bytes[at] = ((bytes[at] ?? 0) ^ (1 + (u32() % 255))) & 0xff;
      }
      if (kind === 2 && n % 5 === 0) bytes = bytes.subarray(0, u32() % bytes.length);
    }
    assert.doesNotThrow(() => p.r.receiveDatagram(bytes, ADDR_I, ADDR_R, p.nowMs));
    fed++;
  }
  p.r.handleTimer(p.nowMs);
  assert.equal(fed, 6000);
  assert.equal(p.r.drops.internal, 0, 'no exception inside the engine');
  assert.equal(snapshot(p.r), before, 'established SAs unchanged');
  p.pump();
  const newEvents = p.eventsR.slice(eventsBefore);
  assert.deepEqual(
    newEvents.filter((ev) => ev.type !== 'ikeSaFailed' && ev.type !== 'authFailed'),
    [],
    'no SA came or went',
  );
  const total = Object.values(p.r.drops).reduce((a, b) => a + b, 0);
  assert.ok(total > 3000, `drops counted: ${JSON.stringify(p.r.drops)}`);
  // The established IKE_SA still works afterwards.
  p.wire.length = 0;
  p.i.checkLiveness(e.ikeSaId, p.nowMs);
  p.run();
  assert.equal(p.i.ikeSas().find((s) => s.id === e.ikeSaId)?.state, IkeSaState.ESTABLISHED);
});

test('hostile input: 3,000 mutated responses and requests into an established initiator', () => {
  const p = new Pair();
  const captured: Buffer[] = [];
  const keep = (): void => {
    for (const d of p.wire) if (d.sender === 'r') captured.push(Buffer.from(d.bytes));
  };
  p.initiate();
  while (p.wire.length > 0) {
    keep();
    p.deliver();
  }
  const [c] = p.events('r', 'childSaInstalled');
  assert.ok(c);
  p.r.rekeyChild(c.child.id, p.nowMs); // the responder sends requests too
  p.pump();
  while (p.wire.length > 0) {
    keep();
    p.deliver();
  }
  assert.ok(captured.length >= 4);
  const before = snapshot(p.i);
  const eventsBefore = p.eventsI.length;
  const rng = createTestRng('hostile-initiator');
  const u32 = (): number => rng.bytes(4).readUInt32BE(0);
  for (let n = 0; n < 3000; n++) {
    const bytes = Buffer.from(captured[u32() % captured.length] as Buffer);
    const flips = 1 + (u32() % 3);
    for (let f = 0; f < flips; f++) {
      const at = u32() % bytes.length;
      bytes[at] = ((bytes[at] ?? 0) ^ (1 + (u32() % 255))) & 0xff;
    }
    assert.doesNotThrow(() => p.i.receiveDatagram(bytes, ADDR_R, ADDR_I, p.nowMs));
  }
  assert.equal(p.i.drops.internal, 0);
  assert.equal(snapshot(p.i), before);
  p.pump();
  assert.deepEqual(p.eventsI.slice(eventsBefore), []);
});
