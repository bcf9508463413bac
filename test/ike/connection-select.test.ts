/**
 * Which connection answers a peer (responder): local_addrs and remote_addrs checked at IKE_SA_INIT and again
 * at IKE_AUTH, best match first (exact address > subnet > range > %any; then identity quality).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotifyType, PayloadType } from '../../src/ike/codec/constants.js';
import { decodeMessage } from '../../src/ike/codec/message.js';
import { childConfig, connectionConfig } from '../../src/ike/config.js';
import type { AddressMatch, ConnectionConfig, IkeIdentity } from '../../src/ike/config.js';
import { connectionsForAuth, connectionsForInit } from '../../src/ike/connection-select.js';
import type { Endpoint } from '../../src/ike/events.js';
import { ADDR_R, Pair } from './exchange-helper.js';

const SUN: IkeIdentity = { type: 'fqdn', value: 'sun.example.org' };
const MOON: IkeIdentity = { type: 'fqdn', value: 'moon.example.org' };
const any: AddressMatch = { kind: 'any' };
const addr = (address: string): AddressMatch => ({ kind: 'address', address });

/** A responder connection whose child offers `remoteNet` behind the peer (TSi) and 203.0.113.0/24 here. */
function site(name: string, remoteAddrs: AddressMatch[], remoteNet: string, o: Partial<ConnectionConfig> = {}) {
  return connectionConfig({
    name,
    localId: SUN,
    remoteAddrs,
    proposals: ['aes128gcm16-prfsha256-x25519'],
    children: [
      childConfig({
        name: `${name}-net`,
        proposals: ['aes128gcm16'],
        localTs: ['203.0.113.0/24'],
        remoteTs: [remoteNet],
      }),
    ],
    ...o,
  });
}

const siteA = site('siteA', [addr('192.0.2.2')], '198.51.100.0/25');
const siteB = site('siteB', [addr('192.0.2.3')], '198.51.100.128/25');

/** Initiator at `from` (identity moon) against a responder with `conns`. */
function pairFrom(conns: ConnectionConfig[]): Pair {
  return new Pair({}, { engine: { connections: conns } });
}

function initiateFrom(p: Pair, from: Endpoint): void {
  p.i.initiate('gw', from, ADDR_R, p.nowMs);
  p.pump();
}

test('two connections told apart by remote_addrs: the peer at .3 gets siteB and siteB traffic, never siteA', () => {
  for (const order of [
    [siteA, siteB],
    [siteB, siteA],
  ]) {
    const p = pairFrom(order);
    initiateFrom(p, { address: '192.0.2.3', port: 500 });
    p.run();
    const [ike] = p.events('r', 'ikeSaEstablished');
    assert.equal(ike?.name, 'siteB');
    const [child] = p.events('r', 'childSaInstalled');
    assert.equal(child?.child.name, 'siteB-net');
    assert.deepEqual(
      p.events('i', 'childSaInstalled')[0]?.child.tsLocal.map((t) => t.startAddr.join('.')),
      ['198.51.100.128'],
    );
  }
});

test('a peer at an address no connection lists is refused at IKE_SA_INIT with NO_PROPOSAL_CHOSEN', () => {
  const p = pairFrom([siteA, siteB]);
  initiateFrom(p, { address: '192.0.2.4', port: 500 });
  // HDR, SAi1, KEi, Ni -->
  p.deliver('i');
  assert.equal(p.r.ikeSas().length, 0, 'no state kept');
  // <-- HDR, N(NO_PROPOSAL_CHOSEN)
  const r = p.deliver('r');
  const n = decodeMessage(r.bytes).payloads[0];
  assert.equal(n?.type === PayloadType.NOTIFY ? n.notifyType : 0, NotifyType.NO_PROPOSAL_CHOSEN);
  assert.equal(p.events('r', 'ikeSaEstablished').length, 0);
});

test('IKE_AUTH checks the addresses again: a better identity match at another address is not taken', () => {
  // siteA names the peer's identity exactly but lists .2; siteB accepts any identity at .3.
  const a = site('siteA', [addr('192.0.2.2')], '198.51.100.0/25', { remoteId: MOON });
  const p = pairFrom([a, siteB]);
  initiateFrom(p, { address: '192.0.2.3', port: 500 });
  p.run();
  assert.equal(p.events('r', 'ikeSaEstablished')[0]?.name, 'siteB');
  assert.equal(p.events('r', 'childSaInstalled')[0]?.child.name, 'siteB-net');
});

test('IKE_AUTH from an address the connection does not list fails authentication', () => {
  const p = pairFrom([siteA, siteB]);
  initiateFrom(p, { address: '192.0.2.3', port: 500 });
  p.deliver('i');
  p.deliver('r');
  // HDR, SK { IDi, IDr, AUTH, SAi2, TSi, TSr } --> from an address of no connection
  const auth = p.take('i');
  p.deliverDatagram({ ...auth, from: { address: '192.0.2.99', port: 500 } });
  assert.equal(p.events('r', 'ikeSaEstablished').length, 0);
  assert.equal(p.events('r', 'authFailed').length, 1);
  assert.equal(p.events('r', 'childSaInstalled').length, 0);
});

test('ranking: exact address beats subnet beats range beats %any, whatever the configuration order', () => {
  const anyConn = site('any', [any], '198.51.100.0/24');
  const range = site('range', [{ kind: 'range', from: '192.0.2.0', to: '192.0.2.9' }], '198.51.100.0/24');
  const subnet = site('subnet', [{ kind: 'subnet', address: '192.0.2.0', prefix: 24 }], '198.51.100.0/24');
  const narrow = site('narrow', [{ kind: 'subnet', address: '192.0.2.0', prefix: 28 }], '198.51.100.0/24');
  const exact = site('exact', [addr('192.0.2.3')], '198.51.100.0/24');
  const conns = [anyConn, range, subnet, narrow, exact];
  assert.deepEqual(
    connectionsForInit(conns, '198.51.100.1', '192.0.2.3').map((c) => c.name),
    ['exact', 'narrow', 'subnet', 'range', 'any'],
  );
  assert.deepEqual(
    connectionsForInit(conns, '198.51.100.1', '192.0.2.200').map((c) => c.name),
    ['subnet', 'any'],
  );
  // %any4 does not take IPv6 peers; a DNS name (not resolved by the engine) matches nothing.
  const v4 = site('v4', [{ kind: 'any', family: 4 }], '198.51.100.0/24');
  const dns = site('dns', [{ kind: 'dns', name: 'peer.example.org' }], '198.51.100.0/24');
  assert.deepEqual(
    connectionsForInit([v4, dns, anyConn], '2001:db8::1', '2001:db8::3').map((c) => c.name),
    ['any'],
  );
});

test('ranking: local_addrs must match too; then identity quality breaks ties', () => {
  const here = site('here', [any], '198.51.100.0/24', { localAddrs: [addr('198.51.100.1')] });
  const there = site('there', [any], '198.51.100.0/24', { localAddrs: [addr('198.51.100.2')] });
  assert.deepEqual(
    connectionsForInit([there, here], '198.51.100.1', '192.0.2.3').map((c) => c.name),
    ['here'],
  );
  const anyId = site('anyId', [any], '198.51.100.0/24');
  const moonId = site('moonId', [any], '198.51.100.0/24', { remoteId: MOON });
  const otherId = site('otherId', [any], '198.51.100.0/24', { remoteId: { type: 'fqdn', value: 'x.example.org' } });
  assert.deepEqual(
    connectionsForAuth([anyId, otherId, moonId], '198.51.100.1', '192.0.2.3', MOON, undefined).map((c) => c.name),
    ['moonId', 'anyId'],
  );
  // IDr names an identity only one connection has.
  const mars = site('mars', [any], '198.51.100.0/24', { localId: { type: 'fqdn', value: 'mars.example.org' } });
  assert.deepEqual(
    connectionsForAuth([mars, anyId], '198.51.100.1', '192.0.2.3', MOON, SUN).map((c) => c.name),
    ['anyId'],
  );
});
