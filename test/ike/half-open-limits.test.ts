/**
 * What an unauthenticated peer can cost the responder (RFC 7296 2.6): no MODP above 3072 in the defaults,
 * half-open IKE_SAs limited per address (charon.block_threshold) and in total (charon.init_limit_half_open),
 * counted as they come and go, key exchange work bounded per second, and rate-limited log lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLineLogger } from '../../src/common/log.js';
import { KeGroup } from '../../src/crypto/ids.js';
import { ExchangeType, PayloadType } from '../../src/ike/codec/constants.js';
import { decodeMessage, encodeMessage } from '../../src/ike/codec/message.js';
import { KeBudget, keCostMs } from '../../src/ike/ke-budget.js';
import { parseProposal } from '../../src/ike/proposals.js';
import type { Endpoint } from '../../src/ike/events.js';
import { ADDR_R, Pair, describe, makeEngine } from './exchange-helper.js';

const from = (n: number): Endpoint => ({ address: `192.0.2.${n}`, port: 500 });

/** The initiator starts an IKE_SA from `src`; its IKE_SA_INIT request is delivered to the responder. */
function requestFrom(p: Pair, src: Endpoint): void {
  p.i.initiate('gw', src, ADDR_R, p.nowMs);
  p.deliver('i');
}

/** Responses the responder sent (and forget them). */
function responses(p: Pair): number {
  p.pump();
  const n = p.wire.filter((d) => d.sender === 'r').length;
  p.wire.length = 0;
  return n;
}

test('default IKE proposals offer no MODP group above 3072 bits', () => {
  const groups = parseProposal('default', 'ike').flatMap((pr) => pr.ke);
  assert.ok(groups.includes(KeGroup.MODP_3072));
  for (const g of [KeGroup.MODP_4096, KeGroup.MODP_6144, KeGroup.MODP_8192]) assert.ok(!groups.includes(g), `${g}`);
});

test('charon.block_threshold: the sixth half-open IKE_SA from one address is dropped, other addresses still served', () => {
  const p = new Pair({}, { engine: { cookieThreshold: 100, blockThreshold: 5 } });
  for (let n = 0; n < 5; n++) requestFrom(p, from(7));
  assert.equal(responses(p), 5);
  assert.equal(p.r.halfOpenCount(), 5);
  requestFrom(p, from(7));
  assert.equal(responses(p), 0, 'dropped without an answer');
  assert.equal(p.r.drops.halfOpenLimit, 1);
  assert.equal(p.r.halfOpenCount(), 5);
  requestFrom(p, from(8));
  assert.equal(responses(p), 1);
  assert.equal(p.r.halfOpenCount(), 6);
});

test('charon.init_limit_half_open: beyond the total, requests are dropped until half-open IKE_SAs go away', () => {
  const p = new Pair(
    {},
    { engine: { cookieThreshold: 100, blockThreshold: 0, initLimitHalfOpen: 3, halfOpenTimeoutSec: 30 } },
  );
  for (let n = 1; n <= 3; n++) requestFrom(p, from(n));
  assert.equal(responses(p), 3);
  requestFrom(p, from(4));
  assert.equal(responses(p), 0);
  assert.equal(p.r.drops.halfOpenLimit, 1);
  // The three time out (half_open_timeout); the counts follow.
  p.advance(31_000);
  p.wire.length = 0;
  assert.equal(p.r.halfOpenCount(), 0);
  requestFrom(p, from(4));
  assert.equal(responses(p), 1);
});

test('half-open counts follow IKE_SAs: an authenticated IKE_SA no longer counts, a deleted one neither', () => {
  const p = new Pair({}, { engine: { blockThreshold: 1 } });
  const id = p.initiate();
  // HDR, SAi1, KEi, Ni -->
  p.deliver('i');
  assert.equal(p.r.halfOpenCount(), 1);
  p.run();
  assert.equal(p.events('r', 'ikeSaEstablished').length, 1);
  assert.equal(p.r.halfOpenCount(), 0);
  // A second IKE_SA from the same address passes block_threshold = 1 again.
  requestFrom(p, from(1));
  assert.equal(responses(p), 1);
  assert.equal(p.r.halfOpenCount(), 1);
  p.i.terminate(id, p.nowMs);
  p.run();
  assert.equal(p.r.halfOpenCount(), 1);
  p.advance(31_000);
  assert.equal(p.r.halfOpenCount(), 0);
});

test('key exchange budget: requests beyond it are dropped, and served again once it refills', () => {
  // A budget of three x25519 key exchanges per second takes three requests at once.
  const keLimitMsPerSec = 3 * keCostMs(KeGroup.CURVE25519);
  const p = new Pair({}, { engine: { cookieThreshold: 100, blockThreshold: 0, keLimitMsPerSec } });
  for (let n = 1; n <= 3; n++) requestFrom(p, from(n));
  assert.equal(responses(p), 3);
  requestFrom(p, from(4));
  assert.equal(responses(p), 0);
  assert.equal(p.r.drops.keLimit, 1);
  p.nowMs += 1000;
  requestFrom(p, from(5));
  assert.equal(responses(p), 1);
});

test('key exchange budget: requests refused before any key exchange cost nothing', () => {
  const keLimitMsPerSec = 3 * keCostMs(KeGroup.CURVE25519);
  const p = new Pair({}, { engine: { cookieThreshold: 100, blockThreshold: 0, keLimitMsPerSec } });
  // Another initiator whose proposal the responder refuses (NO_PROPOSAL_CHOSEN): no key exchange is made.
  const stranger = makeEngine('i', { conn: { proposals: ['aes256-sha384-ecp384'] } });
  for (let n = 1; n <= 20; n++) {
    stranger.initiate('gw', from(100 + n), ADDR_R, p.nowMs);
    for (const d of stranger.datagramsToSend()) p.r.receiveDatagram(d.bytes, d.from, d.to, p.nowMs);
  }
  assert.equal(responses(p), 20, 'each refused with NO_PROPOSAL_CHOSEN');
  assert.equal(p.r.drops.keLimit, 0);
  for (let n = 1; n <= 3; n++) requestFrom(p, from(n));
  assert.equal(responses(p), 3, 'the budget is still whole');
});

test('key exchange budget: expensive groups cost more; one dearer than the budget runs at most once a second', () => {
  assert.ok(keCostMs(KeGroup.MODP_4096) > 10 * keCostMs(KeGroup.CURVE25519));
  const b = new KeBudget(3 * keCostMs(KeGroup.MODP_4096) + keCostMs(KeGroup.CURVE25519));
  assert.equal(b.take(KeGroup.MODP_4096, 0), true);
  assert.equal(b.take(KeGroup.MODP_4096, 0), true);
  assert.equal(b.take(KeGroup.MODP_4096, 0), true);
  assert.equal(b.take(KeGroup.MODP_4096, 0), false);
  assert.equal(b.take(KeGroup.CURVE25519, 0), true);
  assert.equal(b.take(KeGroup.CURVE25519, 0), false);
  assert.equal(b.take(KeGroup.CURVE25519, 1000), true, 'refilled');
  assert.ok(keCostMs(KeGroup.MODP_8192) > 100);
  const dear = new KeBudget(100);
  assert.equal(dear.take(KeGroup.MODP_8192, 0), true);
  assert.equal(dear.take(KeGroup.MODP_8192, 500), false);
  assert.equal(dear.take(KeGroup.MODP_8192, 3000), true);
  assert.equal(new KeBudget(0).take(KeGroup.MODP_8192, 0), true, '0 turns the bound off');
});

test('invalid IKE_SA_INIT requests are logged rate limited, with a count of the lines left out', () => {
  const lines: string[] = [];
  const log = createLineLogger({ level: 1, write: (l) => lines.push(l) });
  const p = new Pair({}, { engine: { log } });
  p.initiate();
  const init = p.take('i');
  assert.equal(describe(init).exchangeType, ExchangeType.IKE_SA_INIT);
  // The request without its KE payload: decodable, but against the IKE_SA_INIT message rules.
  const msg = decodeMessage(init.bytes);
  const bad = encodeMessage({ header: msg.header, payloads: msg.payloads.filter((x) => x.type !== PayloadType.KE) });
  for (let n = 0; n < 50; n++) p.r.receiveDatagram(bad, from(n + 1), ADDR_R, p.nowMs);
  const invalid = lines.filter((l) => /IKE_SA_INIT/.test(l));
  assert.ok(p.r.drops.malformed >= 50, JSON.stringify(p.r.drops));
  assert.ok(invalid.length > 0 && invalid.length <= 10, `${invalid.length} lines`);
  p.nowMs += 10_000;
  p.r.receiveDatagram(bad, from(99), ADDR_R, p.nowMs);
  assert.match(lines.at(-1) ?? '', /\(\d+ similar lines suppressed\)$/);
});
