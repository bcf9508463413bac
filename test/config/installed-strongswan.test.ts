import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parseSettings } from '../../src/config/settings-parser.js';
import { resolveReferences } from '../../src/config/settings-references.js';
import { valueOf, type SettingsSection } from '../../src/config/settings-tree.js';
import { parseSwanctlConf } from '../../src/config/swanctl-conf.js';
import { readIncludeFromDisk } from '../../src/config/load-swanctl-conf.js';

// The configuration files the strongSwan packages install (Debian: strongswan-charon, libstrongswan,
// strongswan-swanctl) are real-world input for the shared syntax: dozens of files, nested includes, comments.
const STRONGSWAN_CONF = '/etc/strongswan.conf';
const SWANCTL_CONF = '/etc/swanctl/swanctl.conf';

function sec(root: SettingsSection, dotted: string): SettingsSection | undefined {
  let s: SettingsSection | undefined = root;
  for (const p of dotted.split('.')) s = s?.sections.get(p);
  return s;
}

test('the installed strongswan.conf and everything it includes parse', { skip: !existsSync(STRONGSWAN_CONF) }, () => {
  const { root, files } = parseSettings(readFileSync(STRONGSWAN_CONF, 'utf8'), {
    filename: STRONGSWAN_CONF,
    readInclude: readIncludeFromDisk,
  });
  const resolved = resolveReferences(root);
  assert.ok(files.length > 10, `strongswan.d is included (${files.length} files)`);
  assert.ok(sec(resolved, 'charon.plugins'), 'charon.plugins is there');
  if (existsSync('/etc/strongswan.d/charon/random.conf')) {
    assert.equal(valueOf(sec(resolved, 'charon.plugins.random') as SettingsSection, 'load'), 'yes');
  }
  if (existsSync('/etc/strongswan.d/charon/bypass-lan.conf')) {
    assert.equal(valueOf(sec(resolved, 'charon.plugins.bypass-lan') as SettingsSection, 'load'), 'no');
  }
});

test(
  'the installed example swanctl.conf (every setting commented out) parses',
  { skip: !existsSync(SWANCTL_CONF) },
  () => {
    const { config } = parseSwanctlConf(readFileSync(SWANCTL_CONF, 'utf8'), {
      filename: SWANCTL_CONF,
      readInclude: readIncludeFromDisk,
    });
    assert.equal(config.files[0], SWANCTL_CONF);
    assert.ok(Object.isFrozen(config));
  },
);
