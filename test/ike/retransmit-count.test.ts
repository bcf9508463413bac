/** The engine counts the requests it sends again (shown by `tsipsec stats` as IKE retransmits). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair } from './exchange-helper.js';

test('retransmits are counted: one per resend, none when nothing is lost', () => {
  const clean = new Pair({ engine: { retransmit: { timeoutSec: 4, base: 1.8, tries: 3, limitSec: 0 } } });
  clean.initiate();
  clean.run();
  assert.equal(clean.i.retransmits, 0);

  const p = new Pair({ engine: { retransmit: { timeoutSec: 4, base: 1.8, tries: 3, limitSec: 0 } } });
  p.initiate();
  // HDR, SAi1, KEi, Ni -->   (lost twice)
  p.drop('i');
  p.advance(4000);
  p.drop('i');
  p.advance(7200);
  p.run();
  assert.equal(p.i.retransmits, 2);
  assert.equal(p.r.retransmits, 0);
  assert.equal(p.events('i', 'ikeSaEstablished').length, 1);
});
