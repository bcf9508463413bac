import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/vectors.js';
import { AUTH_KEYS, CHILD_KEYS, CONNECTION_KEYS, type KeyRule } from '../../src/config/swanctl-keys.js';

const README = readFileSync(path.join(repoRoot, 'src', 'config', 'README.md'), 'utf8');

/** The paragraph of the Keys section that starts with `lead`. */
function paragraph(lead: string): string {
  const start = README.indexOf(`\n${lead}`);
  assert.ok(start >= 0, `README has a paragraph starting '${lead}'`);
  const end = README.indexOf('\n\n', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

const PARAGRAPHS: Record<KeyRule['status'], string> = {
  supported: 'Supported',
  kept: 'Kept but not used yet',
  ignored: 'Ignored with a warning',
  defaultOnly: 'Accepted with a warning at',
  refused: 'Refused',
};

test('the README key lists match the key tables', () => {
  for (const table of [CONNECTION_KEYS, AUTH_KEYS, CHILD_KEYS]) {
    for (const [key, rule] of Object.entries(table)) {
      assert.ok(paragraph(PARAGRAPHS[rule.status]).includes(`\`${key}\``), `${key} is listed as ${rule.status}`);
      for (const [status, lead] of Object.entries(PARAGRAPHS)) {
        if (status === rule.status) continue;
        // keys that exist at two levels with different treatment are not listed twice here, so a key must not
        // appear under another status for the same table
        const inOther = paragraph(lead).includes(`\`${key}\``);
        const sameNameElsewhere = [CONNECTION_KEYS, AUTH_KEYS, CHILD_KEYS].some(
          (t) => t !== table && t[key]?.status === status,
        );
        assert.ok(!inOther || sameNameElsewhere, `${key} is not also listed as ${status}`);
      }
    }
  }
});
