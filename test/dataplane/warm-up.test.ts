/** The start-up warm-up moves its packets through every variant and gets them out intact on the far side. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestRng } from '../../src/crypto/rng.js';
import { warmUpDataplane } from '../../src/dataplane/warm-up.js';

test('warm-up: AES-GCM and AES-CBC+HMAC, raw and in UDP, every packet sealed, opened and written intact', async () => {
  const report = await warmUpDataplane(createTestRng('warm-up'), 100);
  assert.equal(report.length, 4);
  for (const r of report) {
    assert.equal(r.packets, 128, 'rounded up to whole batches of 32');
    assert.equal(r.delivered, r.packets);
  }
});
