/** What test/run.ts decides: which files are tests, whether the run is strict, which tests were skipped. */
import fs from 'node:fs';
import path from 'node:path';

/** Every `*.test.js` under `root` (or `root` itself when it is one), sorted. */
export function testFiles(root: string): string[] {
  if (fs.statSync(root).isFile()) return root.endsWith('.test.js') ? [root] : [];
  return fs
    .readdirSync(root, { withFileTypes: true })
    .flatMap((e) => testFiles(path.join(root, e.name)))
    .sort();
}

/** Strict under CI (CI set and not false/0) or TSIPSEC_TEST_STRICT=1; TSIPSEC_TEST_STRICT=0 wins over CI. */
export function isStrict(env: NodeJS.ProcessEnv): boolean {
  if (env.TSIPSEC_TEST_STRICT !== undefined) return env.TSIPSEC_TEST_STRICT === '1';
  return env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
}

/** Skipped tests in a TAP stream: `ok 3 - name # SKIP reason`. */
export function skippedInTap(tap: string): { name: string; reason: string }[] {
  const out: { name: string; reason: string }[] = [];
  for (const line of tap.split('\n')) {
    const m = /^\s*ok \d+ - (.*?) # SKIP\s*(.*)$/.exec(line);
    if (m) out.push({ name: m[1] ?? '', reason: m[2] ?? '' });
  }
  return out;
}
