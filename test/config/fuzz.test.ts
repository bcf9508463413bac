import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/vectors.js';
import { parseSwanctlConf } from '../../src/config/swanctl-conf.js';
import { ConfigError } from '../../src/config/config-error.js';
import { memoryFiles } from './memory-files.js';

/** Small deterministic generator (mulberry32), so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  '{',
  '}',
  '=',
  '"',
  '#',
  '\n',
  '\\',
  ':',
  ',',
  '.',
  ' ',
  '\t',
  '\r',
  '[',
  ']',
  '/',
  '-',
  '|',
  '*',
  'include ',
  'connections',
  'children',
  'local',
  'remote',
  'secrets',
  'ike-x',
  'secret',
  'id',
  'c1',
  'x',
  'version',
  'local_addrs',
  'remote_ts',
  'local_ts',
  'mode',
  'rekey_time',
  'life_bytes',
  'start_action',
  'proposals',
  'esp_proposals',
  'auth',
  'psk',
  'pubkey',
  'eap',
  'yes',
  'no',
  '4h',
  '1g',
  '0x',
  '0s',
  '192.0.2.1',
  '198.51.100.0/24',
  '2001:db8::/32',
  '203.0.113.1-203.0.113.9',
  'dynamic',
  '[tcp/http]',
  '%any',
  'trap|start',
  'tunnel',
  'beet',
  'inc.conf',
  '*.conf',
  'conn-defaults',
  'connections.c1',
  '\u00e9',
  '\u0000',
];

const FILES = {
  '/f/inc.conf': 'c1 { version = 2 }\n',
  '/f/a.conf': 'include a.conf\n',
  '/f/b.conf': 'secrets { ike-b { secret = 0sAA== } }\n',
};

function check(text: string, seed: number): void {
  try {
    parseSwanctlConf(text, {
      filename: '/f/swanctl.conf',
      readInclude: memoryFiles(FILES),
      validateProposal: (p) => (p.length % 3 === 0 ? 'rejected by the test hook' : undefined),
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) {
      assert.fail(`seed ${seed}: ${String(e)} for input ${JSON.stringify(text)}`);
    }
    assert.ok(e.diagnostics.length > 0);
    for (const d of e.diagnostics) {
      assert.ok(d.origin.line >= 1 && d.origin.column >= 1, `seed ${seed}: origin ${JSON.stringify(d.origin)}`);
    }
  }
}

test('random token soup only ever yields a result or a ConfigError', () => {
  for (let seed = 1; seed <= 3000; seed++) {
    const r = rng(seed);
    const n = Math.floor(r() * 60);
    let text = '';
    for (let i = 0; i < n; i++) text += PIECES[Math.floor(r() * PIECES.length)];
    check(text, seed);
  }
});

test('mutated corpus files only ever yield a result or a ConfigError', () => {
  const dir = path.join(repoRoot, 'test', 'config', 'corpus');
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith('.conf'))
    .map((f) => readFileSync(path.join(dir, f), 'utf8'));
  for (let seed = 1; seed <= 1500; seed++) {
    const r = rng(seed * 7919);
    let text = sources[seed % sources.length] as string;
    const edits = 1 + Math.floor(r() * 4);
    for (let k = 0; k < edits; k++) {
      const at = Math.floor(r() * text.length);
      const op = r();
      const piece = PIECES[Math.floor(r() * PIECES.length)] as string;
      if (op < 0.4) text = text.slice(0, at) + piece + text.slice(at);
      else if (op < 0.8) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(r() * 8));
      else text = text.slice(0, at) + piece + text.slice(at + piece.length);
    }
    check(text, seed);
  }
});

test('deep nesting and long inputs are refused, not a stack overflow', () => {
  check('a {'.repeat(100000), 0);
  check(`${'a { '.repeat(5000)}${'} '.repeat(5000)}`, 0);
  check(`a = "${'\\'.repeat(10001)}`, 0);
  check(`x : ${Array.from({ length: 2000 }, (_, i) => `s${i}`).join(', ')} { }`, 0);
  assert.throws(() => parseSwanctlConf('a {'.repeat(100), { filename: 'x' }), /nested deeper than 64 levels/);
});
