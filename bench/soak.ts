/**
 * Soak: the fuzz harness (test/fuzz/fuzz-target.ts) for millions of inputs into a pair with an established
 * tunnel. Reports inputs per second, crashes (must be 0), memory growth and whether the tunnels still carry
 * traffic (and IKE still answers) at the end; exits 1 on a crash or a dead tunnel.
 *
 *   npm run soak                       10,000,000 inputs, seed 1
 *   npm run soak -- 1000000 7          1,000,000 inputs, seed 7   (or SOAK_INPUTS, SOAK_SEED)
 */
import { FuzzTarget } from '../test/fuzz/fuzz-target.js';

const total = Number(process.argv[2] ?? process.env['SOAK_INPUTS'] ?? 10_000_000);
const seed = Number(process.argv[3] ?? process.env['SOAK_SEED'] ?? 1);
const CHUNK = 100_000;
const gc = (globalThis as { gc?: () => void }).gc;

function heapMiB(): number {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

if (!Number.isInteger(total) || total <= 0 || !Number.isInteger(seed)) {
  process.stderr.write('usage: soak [INPUTS] [SEED]\n');
  process.exit(2);
}
const target = await FuzzTarget.create(seed);
// Warm up (JIT, pools, the first half-open IKE_SAs) before taking the baseline.
const warm = Math.min(CHUNK, Math.floor(total / 10));
await target.run(warm);
const baseHeap = heapMiB();
const baseRss = process.memoryUsage().rss / 2 ** 20;
const started = performance.now();
let last = started;
for (let done = warm; done < total;) {
  const n = Math.min(CHUNK, total - done);
  await target.run(n);
  done += n;
  if (performance.now() - last > 10_000 || done === total) {
    last = performance.now();
    const rate = (done - warm) / ((last - started) / 1000);
    process.stdout.write(
      `${done} inputs, ${Math.round(rate)}/s, crashes ${target.report.crashes}, heap ${heapMiB().toFixed(1)} MiB\n`,
    );
  }
}
const seconds = (performance.now() - started) / 1000;
const r = target.report;
const heap = heapMiB();
const rss = process.memoryUsage().rss / 2 ** 20;
const health = await target.health();
await target.close();
const ok =
  r.crashes === 0 && target.internalErrors() === 0 && health.mainTunnel && health.encapTunnel && health.ikeAlive;
process.stdout.write(
  [
    `soak: ${r.inputs} inputs (seed ${seed}) in ${seconds.toFixed(0)} s: ${Math.round((r.inputs - warm) / seconds)} inputs/s`,
    `  by kind: ${Object.entries(r.byKind)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `  crashes: ${r.crashes}${r.firstCrashes.map((c) => `\n    input ${c.input} (${c.kind}): ${c.what}`).join('')}`,
    `  memory: heap ${baseHeap.toFixed(1)} -> ${heap.toFixed(1)} MiB (${(heap - baseHeap).toFixed(1)} MiB), ` +
      `rss ${baseRss.toFixed(0)} -> ${rss.toFixed(0)} MiB${gc === undefined ? ' (no --expose-gc: heap figures include garbage)' : ''}`,
    `  tunnel at the end: ESP ${health.mainTunnel ? 'passes' : 'DEAD'}, ESP in UDP ${health.encapTunnel ? 'passes' : 'DEAD'}, ` +
      `IKE liveness ${health.ikeAlive ? 'answered' : 'NOT answered'}; ${r.scratchRebuilds} scratch re-establishments`,
    '',
  ].join('\n'),
);
process.exit(ok ? 0 : 1);
