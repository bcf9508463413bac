/** The start-up warm-up moves its packets through every variant and gets them out intact on the far side. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestRng } from '../../src/crypto/rng.js';
import { warmUpDataplane } from '../../src/dataplane/warm-up.js';
import { openLoopbackUdpPair } from '../../src/io/linux/loopback-pair.js';

test('warm-up: AES-GCM and AES-CBC+HMAC, raw and in UDP, every packet sealed, opened and written intact', async () => {
  const report = await warmUpDataplane(createTestRng('warm-up'), 100);
  assert.equal(report.length, 4);
  for (const r of report) {
    assert.equal(r.packets, 128, 'rounded up to whole batches of 32');
    assert.equal(r.delivered, r.packets);
  }
});

test('warm-up over a real socket pair on the loopback address: every packet sent, received, opened intact', async () => {
  const link = openLoopbackUdpPair();
  try {
    const report = await warmUpDataplane(createTestRng('warm-up-link'), 128, link);
    assert.equal(report.length, 6, 'four memory variants, then AES-GCM and AES-CBC+HMAC over the sockets');
    for (const r of report) assert.equal(r.delivered, r.packets);
    const [gcm, cbc] = report.slice(4);
    assert.ok((gcm?.packets ?? 0) > 0 && (cbc?.packets ?? 0) > 0);
    assert.equal(
      link.a.stats.txPackets,
      (gcm?.packets ?? 0) + (cbc?.packets ?? 0),
      'each packet went through sendmmsg',
    );
    assert.equal(link.b.stats.rxPackets, link.a.stats.txPackets, 'and came back through recvmmsg');
  } finally {
    await link.close();
  }
});
