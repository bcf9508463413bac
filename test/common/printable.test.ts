import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRINTABLE_MAX_CHARS, printable } from '../../src/common/printable.js';

test('printable: control characters, backslashes and non-ASCII escaped; printable ASCII kept', () => {
  assert.equal(printable('moon.example.org'), 'moon.example.org');
  assert.equal(printable('a\x1b[2Jb\nc\x00'), 'a\\x1b[2Jb\\x0ac\\x00');
  assert.equal(printable('back\\slash'), 'back\\\\slash');
  assert.equal(printable('\u202eevil'), '\\u{202e}evil');
  assert.equal(printable('caf\u00e9'), 'caf\\xe9');
});

test('printable: capped in length, with the full length named', () => {
  const long = 'x'.repeat(1000);
  const out = printable(long);
  assert.equal(out, `${'x'.repeat(PRINTABLE_MAX_CHARS)}...(1000 characters)`);
  assert.equal(printable('abcdef', 3), 'abc...(6 characters)');
});
