/** The IKE setup-rate load generator against an in-process responder engine over memory: setups, figures, failures. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IkeLoadGenerator, percentile, sourceIdentity } from '../../bench/ike-load.js';
import { nodeRng } from '../../src/crypto/index.js';
import { childConfig, connectionConfig } from '../../src/ike/config.js';
import { IkeEngine } from '../../src/ike/engine.js';
import type { Endpoint } from '../../src/ike/events.js';

const PSK = Buffer.from('load generator test key');
const R4: Endpoint = { address: '192.0.2.2', port: 500 };
const R6: Endpoint = { address: '2001:db8::2', port: 500 };
const sources = (n: number): Endpoint[] =>
  Array.from({ length: n }, (_, i) =>
    i % 2 === 0
      ? { address: `198.51.100.${10 + i}`, port: 500 }
      : { address: `2001:db8:1::${(i + 16).toString(16)}`, port: 500 },
  );

function responder(psk: Uint8Array, seen: Set<string>): IkeEngine {
  return new IkeEngine({
    connections: [
      connectionConfig({
        name: 'gw',
        localId: { type: 'fqdn', value: 'gw.example.org' },
        proposals: ['aes128gcm16-prfsha256-x25519'],
        children: [
          childConfig({ name: 'net', proposals: ['aes128gcm16'], localTs: ['203.0.113.0/24', '2001:db8:2::/64'] }),
        ],
      }),
    ],
    psk: (_local, remote) => {
      seen.add('value' in remote ? String(remote.value) : 'any');
      return psk;
    },
    rng: nodeRng,
    cookieThreshold: 1000,
    blockThreshold: 0,
  });
}

/** Moves datagrams both ways until the generator's batch ends; the clock steps 1 ms per round. */
function run(gen: IkeLoadGenerator, r: IkeEngine, startMs: number): number {
  let now = startMs;
  for (let round = 0; round < 10_000 && gen.busy; round++) {
    now += 1;
    for (const d of gen.pump(now)) r.receiveDatagram(d.bytes, d.from, d.to, now);
    if (r.nextTimerMs() !== undefined && (r.nextTimerMs() ?? Infinity) <= now) r.handleTimer(now);
    for (const d of r.datagramsToSend()) gen.receive(d, now);
    while (r.nextEvent() !== undefined);
  }
  return now;
}

test('20 IKE_SAs with a CHILD_SA each, from 20 sources of both families, then a CHILD_SA more on 5 of them', () => {
  const seen = new Set<string>();
  const r = responder(PSK, seen);
  const gen = new IkeLoadGenerator({
    sources: sources(20),
    responder: (s) => (s.address.includes(':') ? R6 : R4),
    psk: PSK,
    rng: nodeRng,
  });
  gen.startBatch(20, 8, 1000);
  const end = run(gen, r, 1000);
  const res = gen.result();
  assert.equal(res.asked, 20);
  assert.equal(res.established, 20);
  assert.equal(res.failed, 0);
  assert.equal(gen.established, 20);
  assert.equal(r.ikeSas().filter((sa) => sa.children.length === 1).length, 20);
  assert.equal(seen.size, 20, 'one identity per source');
  assert.ok(seen.has(sourceIdentity(19)));
  assert.ok(res.p50Ms > 0 && res.p50Ms <= res.p90Ms && res.p90Ms <= res.p99Ms && res.p99Ms <= res.maxMs);
  assert.ok(res.perSec > 0 && Number.isFinite(res.perSec));

  gen.startChildren(5, end);
  const end2 = run(gen, r, end);
  assert.equal(gen.childrenInstalled, 5);
  assert.equal(r.ikeSas().filter((sa) => sa.children.length === 2).length, 5);

  gen.startTerminate(end2);
  run(gen, r, end2);
  assert.equal(gen.busy, false);
  assert.equal(gen.established, 0);
  assert.equal(r.ikeSas().length, 0, 'the responder deleted them all');
});

test('setups the responder refuses are counted as failed, not established', () => {
  const r = responder(Buffer.from('another key'), new Set());
  const gen = new IkeLoadGenerator({
    sources: sources(4),
    responder: (s) => (s.address.includes(':') ? R6 : R4),
    psk: PSK,
    rng: nodeRng,
  });
  gen.startBatch(4, 4, 1000);
  run(gen, r, 1000);
  const res = gen.result();
  assert.equal(res.established, 0);
  assert.equal(res.failed, 4);
  assert.equal(gen.busy, false);
});

test('percentiles by nearest rank', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile([7], 90), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
});
