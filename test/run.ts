/**
 * The test runner behind `npm test`: runs every compiled `*.test.js` under dist/test (and nothing else: helper
 * modules are not test files), the prerequisite check first, through `node --test`.
 *
 *   node dist/test/run.js                  every test
 *   node dist/test/run.js dist/test/esp    the test files under one or more folders or files
 *
 * Strict runs (CI, or TSIPSEC_TEST_STRICT=1) count every skipped test as a failure and list each with its
 * reason: a skip there means a missing package or privilege, and a suite that skips proves nothing.
 * TSIPSEC_TEST_STRICT=0 turns strictness off even under CI.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isStrict, skippedInTap, testFiles } from './helpers/test-run.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIRST = path.join(HERE, 'prerequisites.test.js');

async function main(): Promise<number> {
  const roots = process.argv.slice(2);
  const files = [...new Set((roots.length > 0 ? roots : [HERE]).flatMap((r) => testFiles(path.resolve(r))))];
  files.sort((a, b) => (a === FIRST ? -1 : b === FIRST ? 1 : a.localeCompare(b)));
  if (files.length === 0) {
    console.error(`run: no *.test.js files under ${roots.join(' ') || HERE} (run npm run build first)`);
    return 1;
  }
  const tapFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-tests-')), 'results.tap');
  const args = [
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  const tap = fs.existsSync(tapFile) ? fs.readFileSync(tapFile, 'utf8') : '';
  fs.rmSync(path.dirname(tapFile), { recursive: true, force: true });
  const skipped = skippedInTap(tap);
  if (isStrict(process.env) && skipped.length > 0) {
    console.error(
      `\nstrict run: ${skipped.length} skipped test(s) count as failures (install with scripts/setup.sh, run as root):`,
    );
    for (const s of skipped) console.error(`  ${s.name}: ${s.reason}`);
    return code === 0 ? 1 : code;
  }
  return code;
}

process.exitCode = await main();
