/** IKE message fragmentation (RFC 7383) once both peers announced IKEV2_FRAGMENTATION_SUPPORTED. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PayloadType } from '../../src/ike/codec/constants.js';
import { decodeHeader } from '../../src/ike/codec/header.js';
import { Pair } from './exchange-helper.js';

const small = { engine: { fragmentSizeBytes: 150 } };

test('fragmentation: IKE_AUTH in SKF fragments both ways, reassembled after each is authenticated', () => {
  const p = new Pair(small, small);
  p.initiate();
  p.deliver('i');
  p.deliver('r');
  p.pump();
  // HDR, SKF(1/n) { IDi, ... } -->  HDR, SKF(2/n) --> ...
  const fromI = p.wire.filter((d) => d.sender === 'i');
  assert.ok(fromI.length > 1, `IKE_AUTH request in ${fromI.length} fragments`);
  for (const d of fromI) {
    assert.equal(decodeHeader(d.bytes).nextPayload, PayloadType.SKF);
    assert.ok(d.bytes.length <= 150);
  }
  // Deliver in reverse order: reassembly does not care.
  const frags = p.wire.splice(0, p.wire.length).reverse();
  for (const f of frags) p.deliverDatagram(f);
  assert.equal(p.events('r', 'ikeSaEstablished').length, 1);
  // <-- HDR, SKF(k/m) ...
  assert.ok(p.wire.filter((d) => d.sender === 'r').length > 1);
  p.run();
  assert.equal(p.events('i', 'childSaInstalled').length, 1);
  assert.deepEqual(
    p.events('i', 'childSaInstalled')[0]?.child.keysOut,
    p.events('r', 'childSaInstalled')[0]?.child.keysIn,
  );
});

test('fragmentation: a lost fragment is recovered by retransmitting the whole set', () => {
  const p = new Pair(small, small);
  p.initiate();
  p.deliver('i');
  p.deliver('r');
  p.pump();
  const n = p.wire.length;
  p.drop('i'); // first fragment lost
  for (let k = 1; k < n; k++) p.deliver('i');
  assert.equal(p.events('r', 'ikeSaEstablished').length, 0);
  p.advance(4000);
  p.run();
  assert.equal(p.events('r', 'ikeSaEstablished').length, 1);
  assert.equal(p.events('i', 'childSaInstalled').length, 1);
});

test('fragmentation: not used when one peer does not announce it', () => {
  const p = new Pair(small, { ...small, conn: { fragmentation: false } });
  p.initiate();
  p.deliver('i');
  p.deliver('r');
  p.pump();
  assert.equal(p.wire.length, 1);
  assert.equal(decodeHeader(p.wire[0]?.bytes ?? Buffer.alloc(28)).nextPayload, PayloadType.SK);
  p.run();
  assert.equal(p.events('i', 'childSaInstalled').length, 1);
});
