import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../src/cli/run.js';

function capture() {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } },
    out: () => out,
    err: () => err,
  };
}

test('tsipsec --help prints usage and exits 0', async () => {
  const c = capture();
  assert.equal(await run(['--help'], c.io), 0);
  assert.match(c.out(), /^Usage: tsipsec/);
});

test('tsipsec --version prints the package version', async () => {
  const c = capture();
  assert.equal(await run(['--version'], c.io), 0);
  assert.match(c.out(), /^tsipsec \d+\.\d+\.\d+\n$/);
});

test('an unknown command is refused with a hint', async () => {
  const c = capture();
  assert.equal(await run(['frobnicate'], c.io), 2);
  assert.match(c.err(), /unknown command 'frobnicate'.*--help/);
});
