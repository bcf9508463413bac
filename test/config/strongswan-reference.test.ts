import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parseSettings } from '../../src/config/settings-parser.js';
import type { SettingsSection } from '../../src/config/settings-tree.js';
import { parseSwanctlConf } from '../../src/config/swanctl-conf.js';
import { ConfigError } from '../../src/config/config-error.js';
import { AUTH_KEYS, CHILD_KEYS, CONNECTION_KEYS, SECRET_TYPES, type KeyRule } from '../../src/config/swanctl-keys.js';

// strongSwan installs /etc/swanctl/swanctl.conf as a reference: every key of swanctl.conf(5), commented out, with
// its default. Uncommenting the `# key = value`, `# name {` and `# }` lines gives a file that names every key
// strongSwan knows, with strongSwan's defaults: an independent check of our key tables and default values.
const REFERENCE = '/etc/swanctl/swanctl.conf';
const present = existsSync(REFERENCE);

function uncommented(): string {
  return readFileSync(REFERENCE, 'utf8')
    .split('\n')
    .map((l) => {
      const m = /^(\s*)# (.*)$/.exec(l);
      const body = m?.[2] ?? '';
      return m !== null && (/^[\w<>-]+ =( .*)?$/.test(body) || /^[\w<>-]+ \{$/.test(body) || body === '}')
        ? `${m[1] ?? ''}${body}`
        : l;
    })
    .join('\n');
}

function reference(): SettingsSection {
  return parseSettings(uncommented(), { filename: REFERENCE, readInclude: () => [] }).root;
}

function child(s: SettingsSection | undefined, name: string): SettingsSection {
  const c = s?.sections.get(name);
  assert.ok(c, `reference has section ${name}`);
  return c;
}

test('the reference names only keys our tables know, at every level', { skip: !present }, () => {
  const root = reference();
  const conn = child(child(root, 'connections'), '<conn>');
  const unknown = (sec: SettingsSection, table: Readonly<Record<string, KeyRule>>) =>
    [...sec.keys.keys()].filter((k) => !k.includes('<suffix>') && table[k] === undefined);
  assert.deepEqual(unknown(conn, CONNECTION_KEYS), []);
  assert.deepEqual(unknown(child(conn, 'local<suffix>'), AUTH_KEYS), []);
  assert.deepEqual(unknown(child(conn, 'remote<suffix>'), AUTH_KEYS), []);
  assert.deepEqual(unknown(child(child(conn, 'children'), '<child>'), CHILD_KEYS), []);
  const types = [...child(root, 'secrets').sections.keys()].map((n) => n.replace('<suffix>', ''));
  assert.deepEqual(
    types.filter((t) => !(SECRET_TYPES as readonly string[]).includes(t)),
    [],
  );
  // and every key of our tables is one strongSwan documents
  const documented = new Set([
    ...conn.keys.keys(),
    ...child(conn, 'local<suffix>').keys.keys(),
    ...child(conn, 'remote<suffix>').keys.keys(),
    ...child(child(conn, 'children'), '<child>').keys.keys(),
  ]);
  const ours = [...Object.keys(CONNECTION_KEYS), ...Object.keys(AUTH_KEYS), ...Object.keys(CHILD_KEYS)];
  assert.deepEqual(
    ours.filter((k) => !documented.has(k)),
    [],
  );
});

/** The model without origins, to compare what two texts configure. */
function plain(v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v, (k, x: unknown) => (k === 'origin' || k === 'keyOrigins' ? undefined : x)),
  ) as unknown;
}

const BASE = (conn: string, ch: string) =>
  `connections { c {\n${conn}\n local { auth = psk }\n remote { auth = psk }\n children { x {\n${ch}\n } } } }\n`;

test(
  'each documented default, written out, configures exactly what leaving the key out does',
  { skip: !present },
  () => {
    const conn = child(child(reference(), 'connections'), '<conn>');
    const ch = child(child(conn, 'children'), '<child>');
    const absent = plain(parseSwanctlConf(BASE('', ''), { filename: 'base.conf' }).config.connections[0]);
    const checked: string[] = [];
    const notValues: string[] = [];
    const run = (sec: SettingsSection, table: Readonly<Record<string, KeyRule>>, asConn: boolean) => {
      for (const [key, kv] of sec.keys) {
        if (table[key]?.status !== 'supported' || kv.value === null) continue;
        const line = `${key} = ${kv.value}`;
        let model: unknown;
        try {
          model = plain(
            parseSwanctlConf(asConn ? BASE(line, '') : BASE('', line), { filename: 'x.conf' }).config.connections[0],
          );
        } catch (e) {
          assert.ok(e instanceof ConfigError);
          notValues.push(key);
          continue;
        }
        if (key === 'reauth_time') {
          // strongSwan (vici_config.c) applies the 4h rekey default only when neither rekey_time nor reauth_time is
          // set; any explicit reauth_time, even 0s, leaves rekey_time at 0 ("If a reauth_time is configured,
          // rekey_time defaults to zero", swanctl.conf(5)). So this default is not neutral when written out.
          assert.deepEqual(model, { ...(absent as object), rekeyTimeSec: 0, overTimeSec: 0, randTimeSec: 0 });
        } else assert.deepEqual(model, absent, `${line} changes nothing`);
        checked.push(key);
      }
    };
    run(conn, CONNECTION_KEYS, true);
    run(ch, CHILD_KEYS, false);
    // the reference writes derived defaults as prose ("10% of rekey_time/reauth_time", "rekey_time + 10%")
    assert.deepEqual(
      notValues.sort(),
      [
        'life_bytes',
        'life_packets',
        'life_time',
        'over_time',
        'rand_bytes',
        'rand_packets',
        'rand_time',
        'rand_time',
      ].sort(),
    );
    assert.ok(checked.length >= 20, `checked ${checked.length} defaults: ${checked.join(', ')}`);
  },
);
