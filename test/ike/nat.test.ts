/** NAT detection (RFC 7296 2.23): a NAT rewriting the initiator's address is detected and IKE floats to 4500. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair } from './exchange-helper.js';

test('NAT between the peers: detected on both sides, IKE_AUTH on port 4500 as a plain IKE message (the socket adds the marker)', () => {
  const p = new Pair();
  const natted = { address: '203.0.113.7', port: 31000 };
  const natted4500 = { address: '203.0.113.7', port: 31001 };
  p.initiate();
  // The NAT rewrites the source of everything the initiator sends.
  const rewrite = (port: number) => (port === 500 ? natted : natted4500);
  const fromI = (): void => {
    const d = p.take('i');
    p.r.receiveDatagram(d.bytes, rewrite(d.from.port), d.to, p.nowMs);
    p.pump();
  };
  const toI = (): void => {
    const d = p.take('r');
    p.i.receiveDatagram(
      d.bytes,
      d.from,
      d.to.port === 31000 ? { address: '192.0.2.1', port: 500 } : { address: '192.0.2.1', port: 4500 },
      p.nowMs,
    );
    p.pump();
  };
  fromI(); // HDR, SAi1, KEi, Ni, N(NAT_DETECTION_*) -->
  toI(); // <-- HDR, SAr1, KEr, Nr, N(NAT_DETECTION_*)
  const auth = p.wire[0];
  assert.ok(auth);
  assert.equal(auth.to.port, 4500);
  assert.equal(auth.from.port, 4500);
  assert.notDeepEqual(auth.bytes.subarray(0, 4), Buffer.alloc(4), 'no non-ESP marker: the IKE SPI comes first');
  fromI(); // HDR, SK { IDi, AUTH, SAi2, TSi, TSr } --> (to port 4500)
  toI(); // <-- HDR, SK { IDr, AUTH, SAr2, TSi, TSr }
  const [ei] = p.events('i', 'ikeSaEstablished');
  const [er] = p.events('r', 'ikeSaEstablished');
  assert.equal(ei?.natLocal, true);
  assert.equal(ei?.natRemote, false);
  assert.equal(er?.natRemote, true);
  assert.equal(er?.natLocal, false);
  const [ci] = p.events('i', 'childSaInstalled');
  const [cr] = p.events('r', 'childSaInstalled');
  assert.equal(ci?.child.encap, true);
  assert.equal(cr?.child.encap, true);
  assert.deepEqual(cr?.child.remote, natted4500);
});

test('no NAT: nothing detected, IKE stays on port 500', () => {
  const p = new Pair();
  p.initiate();
  p.run();
  const [ei] = p.events('i', 'ikeSaEstablished');
  assert.equal(ei?.natLocal, false);
  assert.equal(ei?.remote.port, 500);
  assert.equal(p.events('i', 'childSaInstalled')[0]?.child.encap, false);
});

test('no NAT: an authenticated request from another address is answered there, the IKE_SA does not move', () => {
  const p = new Pair();
  const idI = p.initiate();
  p.run();
  const [er] = p.events('r', 'ikeSaEstablished');
  assert.ok(er);
  const elsewhere = { address: '192.0.2.66', port: 500 };
  p.i.checkLiveness(idI, p.nowMs);
  // HDR, SK {} --> (its source rewritten on the way)
  const req = p.take('i');
  p.r.receiveDatagram(req.bytes, elsewhere, req.to, p.nowMs);
  p.pump();
  // <-- HDR, SK {} back to where the request came from (RFC 7296 2.11)
  const resp = p.take('r');
  assert.deepEqual(resp.to, elsewhere);
  // The IKE_SA stays with the peer's address: the responder's own request goes there (RFC 7296 2.23).
  p.r.checkLiveness(er.ikeSaId, p.nowMs);
  const own = p.take('r');
  assert.deepEqual(own.to, { address: '192.0.2.1', port: 500 });
  assert.deepEqual(p.r.ikeSas()[0]?.remote, { address: '192.0.2.1', port: 500 });
});

test('NAT detected: a changed mapping is followed for the IKE_SA', () => {
  const p = new Pair({ conn: { forceEncap: true } });
  const idI = p.initiate();
  p.run();
  const [er] = p.events('r', 'ikeSaEstablished');
  assert.equal(er?.natRemote, true);
  const remapped = { address: '192.0.2.1', port: 45000 };
  p.i.checkLiveness(idI, p.nowMs);
  const req = p.take('i');
  p.r.receiveDatagram(req.bytes, remapped, req.to, p.nowMs);
  p.pump();
  assert.deepEqual(p.take('r').to, remapped);
  p.r.checkLiveness(er?.ikeSaId ?? 0, p.nowMs);
  assert.deepEqual(p.take('r').to, remapped);
});
