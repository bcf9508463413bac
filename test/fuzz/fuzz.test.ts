/**
 * The bounded CI slice of the fuzz harness (test/fuzz/fuzz-target.ts; `npm run soak` runs millions): mutated
 * IKE datagrams, authenticated inner payloads, ESP, ESP-in-UDP and TUN packets into a pair with an
 * established tunnel. No input may crash anything, and afterwards both tunnels still carry an echo and the
 * IKE_SA still answers a liveness check. Figures are printed, never asserted.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FuzzTarget } from './fuzz-target.js';

const INPUTS = Number(process.env['TSIPSEC_FUZZ_INPUTS'] ?? 60_000);

for (const seed of [1, 2]) {
  test(`fuzz slice (seed ${seed}): ${INPUTS} mutated inputs, no crash, the tunnel still carries traffic`, async (t: TestContext) => {
    const target = await FuzzTarget.create(seed);
    try {
      const started = performance.now();
      await target.run(INPUTS);
      const seconds = (performance.now() - started) / 1000;
      const r = target.report;
      const health = await target.health();
      t.diagnostic(
        `${r.inputs} inputs in ${seconds.toFixed(1)} s (${Math.round(r.inputs / seconds)}/s): ` +
          `${JSON.stringify(r.byKind)}, ${r.scratchRebuilds} scratch re-establishments, ` +
          `${r.tunPacketsDelivered} packets delivered to the TUNs`,
      );
      assert.deepEqual(r.firstCrashes, [], 'no input crashed');
      assert.equal(r.crashes, 0);
      assert.equal(target.internalErrors(), 0);
      assert.deepEqual(health, { mainTunnel: true, encapTunnel: true, ikeAlive: true });
    } finally {
      await target.close();
    }
  });
}
