/** The test runner's own rules: only `*.test.js` files run, strictness under CI, skips read from TAP. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isStrict, skippedInTap, testFiles } from './helpers/test-run.js';

test('test files: only *.test.js under the folder, helpers and maps left out, sorted', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-files-'));
  try {
    fs.mkdirSync(path.join(dir, 'b'));
    fs.mkdirSync(path.join(dir, 'a'));
    for (const f of ['b/x.test.js', 'a/y.test.js', 'a/helpers.js', 'a/y.test.js.map', 'a/y.test.d.ts', 'z.test.js']) {
      fs.writeFileSync(path.join(dir, f), '');
    }
    assert.deepEqual(
      testFiles(dir).map((f) => path.relative(dir, f)),
      ['a/y.test.js', 'b/x.test.js', 'z.test.js'],
    );
    assert.deepEqual(testFiles(path.join(dir, 'a', 'helpers.js')), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('strict runs: CI set, unless TSIPSEC_TEST_STRICT says otherwise', () => {
  assert.equal(isStrict({}), false);
  assert.equal(isStrict({ CI: 'true' }), true);
  assert.equal(isStrict({ CI: 'false' }), false);
  assert.equal(isStrict({ CI: 'true', TSIPSEC_TEST_STRICT: '0' }), false);
  assert.equal(isStrict({ TSIPSEC_TEST_STRICT: '1' }), true);
});

test('skips are read from the TAP stream, nested subtests included', () => {
  const tap = [
    'TAP version 13',
    '# Subtest: a',
    'ok 1 - a',
    '    ok 1 - inner # SKIP needs root (network namespaces, TUN, raw sockets)',
    'ok 2 - strongSwan PSK # SKIP missing prerequisites: charon has no curve25519 plugin: apt-get install x',
    'not ok 3 - c',
    'ok 4 - d # TODO later',
  ].join('\n');
  assert.deepEqual(skippedInTap(tap), [
    { name: 'inner', reason: 'needs root (network namespaces, TUN, raw sockets)' },
    { name: 'strongSwan PSK', reason: 'missing prerequisites: charon has no curve25519 plugin: apt-get install x' },
  ]);
});
