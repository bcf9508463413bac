/**
 * The machine has what the namespace and interop tests need: each missing program or strongSwan plugin is one
 * line naming the Debian package that brings it. Runs first (test/run.ts), so a machine set up by hand and
 * missing a package fails here with the fix instead of in a dozen interop tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { allPrerequisites, describeMissing, privilegeProblem } from './helpers/prerequisites.js';

/** An error printed as its lines alone: the stack of this file says nothing about a missing package. */
function missingError(lines: string[]): Error {
  const e = new Error(
    `${lines.length} prerequisite(s) missing; scripts/setup.sh installs them all:\n${lines.join('\n')}`,
  );
  e.stack = e.message;
  return e;
}

test('prerequisites: every program and strongSwan plugin the tests use is installed', () => {
  const missing = allPrerequisites().filter((p) => !p.present());
  if (missing.length > 0) throw missingError(missing.map(describeMissing));
});

const priv = privilegeProblem();
test(
  'prerequisites: root can make a network namespace (strict runs count a skip here as a failure)',
  { skip: priv },
  () => {
    const ns = `tsi-prereq-${process.pid}`;
    try {
      execFileSync('ip', ['netns', 'add', ns]);
      assert.match(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }), new RegExp(`^${ns}\\b`, 'm'));
    } finally {
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
  },
);
