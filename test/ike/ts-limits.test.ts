/**
 * Caps on traffic selectors (an authenticated peer must not make us install 255 x 255 policies): at most 16
 * selectors per TSi/TSr payload and 64 policy pairs per CHILD_SA, received or after narrowing; beyond them
 * the CHILD_SA is refused with TS_UNACCEPTABLE and the IKE_SA stands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotifyType } from '../../src/ike/codec/constants.js';
import {
  MAX_TS_PAIRS,
  MAX_TS_PER_PAYLOAD,
  parseTrafficSelector,
  tsLimitViolation,
} from '../../src/ike/traffic-selectors.js';
import { Pair } from './exchange-helper.js';

const hosts = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}.${i + 1}/32`);

function refused(p: Pair): void {
  assert.equal(p.events('i', 'ikeSaEstablished').length, 1, 'the IKE_SA stands');
  assert.equal(p.events('r', 'ikeSaEstablished').length, 1);
  assert.equal(p.events('i', 'childSaFailed')[0]?.notifyType, NotifyType.TS_UNACCEPTABLE);
  assert.equal(p.events('i', 'childSaInstalled').length, 0);
  assert.equal(p.events('r', 'childSaInstalled').length, 0);
}

test('17 selectors in TSi: TS_UNACCEPTABLE, no CHILD_SA', () => {
  // HDR, SK { IDi, AUTH, SAi2, TSi(17 x /32), TSr(203.0.113.0/24) } -->
  const p = new Pair({ child: { localTs: hosts('198.51.100', 17) } });
  p.initiate();
  // <-- HDR, SK { IDr, AUTH, N(TS_UNACCEPTABLE) }
  p.run();
  refused(p);
});

test('9 x 8 selector pairs (72 > 64): TS_UNACCEPTABLE; 8 x 8 is installed', () => {
  const over = new Pair({ child: { localTs: hosts('198.51.100', 9), remoteTs: hosts('203.0.113', 8) } });
  over.initiate();
  over.run();
  refused(over);
  const at = new Pair({ child: { localTs: hosts('198.51.100', 8), remoteTs: hosts('203.0.113', 8) } });
  at.initiate();
  at.run();
  const [c] = at.events('r', 'childSaInstalled');
  assert.equal(c?.child.tsRemote.length, 8);
  assert.equal(c?.child.tsLocal.length, 8);
  assert.equal(at.events('i', 'childSaInstalled').length, 1);
});

test('narrowing that would answer with 17 selectors is refused rather than sent', () => {
  // The responder's remote_ts splits the proposed /24 into 17 hosts.
  const p = new Pair({}, { child: { remoteTs: hosts('198.51.100', 17) } });
  p.initiate();
  p.run();
  refused(p);
});

test('tsLimitViolation names the limit exceeded', () => {
  const ts = (n: number) => Array.from({ length: n }, () => parseTrafficSelector('192.0.2.0/24'));
  assert.equal(tsLimitViolation(ts(MAX_TS_PER_PAYLOAD), ts(4)), undefined);
  assert.match(tsLimitViolation(ts(1), ts(MAX_TS_PER_PAYLOAD + 1)) ?? '', /17 traffic selectors in one payload/);
  assert.equal(tsLimitViolation(ts(8), ts(MAX_TS_PAIRS / 8)), undefined);
  assert.match(tsLimitViolation(ts(9), ts(8)) ?? '', /9 x 8 traffic selector pairs, at most 64/);
});
