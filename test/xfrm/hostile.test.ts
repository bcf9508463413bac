/**
 * Hostile input: random character strings, random word soups from the xfrm vocabulary and mutated valid lines
 * either parse or raise XfrmError, never anything else; whatever parses also formats, maps and lists without
 * throwing anything but XfrmError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestRng } from '../../src/crypto/index.js';
import {
  XfrmError,
  formatPolicy,
  formatState,
  formatXfrmCommand,
  parseXfrmLine,
  policyToAddPolicyArgs,
  stateToAddSaArgs,
} from '../../src/xfrm/index.js';
import { KEY16, KEY20, KEY32, SA } from './helpers.js';

const VOCAB = [
  'ip',
  'xfrm',
  'state',
  'policy',
  'add',
  'del',
  'get',
  'list',
  'flush',
  'src',
  'dst',
  'proto',
  'esp',
  'ah',
  'spi',
  'reqid',
  'mode',
  'tunnel',
  'transport',
  'replay-window',
  'flag',
  'esn',
  'af-unspec',
  'aead',
  'enc',
  'auth',
  'auth-trunc',
  "'rfc4106(gcm(aes))'",
  "'cbc(aes)'",
  'sha1',
  'cipher_null',
  '""',
  KEY16,
  KEY20,
  KEY32,
  '0x',
  '128',
  '96',
  '0',
  '4500',
  'encap',
  'espinudp',
  '0.0.0.0',
  'sel',
  'sport',
  'dport',
  'type',
  'code',
  'udp',
  'icmp',
  'dir',
  'in',
  'out',
  'fwd',
  'priority',
  'tmpl',
  'action',
  'allow',
  'block',
  'level',
  'use',
  'required',
  'limit',
  'byte-soft',
  'tfcpad',
  '192.0.2.1',
  '198.51.100.0/24',
  '2001:db8::1',
  '2001:db8::/33',
  '#',
  "'",
  '"',
  '\\',
  '0x1000',
  '077',
  '99999999999',
];

function exercise(line: string): void {
  let cmd;
  try {
    cmd = parseXfrmLine(line);
  } catch (e) {
    assert.ok(e instanceof XfrmError, `${line}\n -> ${String(e)}`);
    return;
  }
  try {
    formatXfrmCommand(cmd);
    if (cmd.object === 'state' && cmd.verb === 'add') {
      formatState({ state: cmd });
      stateToAddSaArgs(cmd, { isLocalAddress: (a) => a === cmd.src });
    }
    if (cmd.object === 'policy' && cmd.verb === 'add') {
      formatPolicy({ policy: cmd });
      policyToAddPolicyArgs(cmd);
    }
  } catch (e) {
    assert.ok(e instanceof XfrmError, `${line}\n -> ${String(e)}`);
  }
}

test('random characters only give XfrmError', () => {
  const rng = createTestRng('xfrm-hostile-chars');
  for (let i = 0; i < 3000; i++) {
    const bytes = rng.bytes(1 + (rng.bytes(1)[0]! % 80));
    exercise(Buffer.from(bytes).toString('latin1'));
  }
});

test('random word soups from the xfrm vocabulary only give commands or XfrmError', () => {
  const rng = createTestRng('xfrm-hostile-words');
  let parsed = 0;
  for (let i = 0; i < 5000; i++) {
    const r = rng.bytes(40);
    const n = 2 + (r[0]! % 30);
    const words = ['state', 'policy'][r[1]! % 2]!;
    const verb = ['add', 'del', 'list', 'flush', 'get'][r[2]! % 5]!;
    const rest: string[] = [];
    for (let j = 0; j < n; j++) rest.push(VOCAB[(r[3 + j]! + 256 * (r[(j + 7) % 40]! % 2)) % VOCAB.length]!);
    const line = `${words} ${verb} ${rest.join(' ')}`;
    try {
      parseXfrmLine(line);
      parsed++;
    } catch {
      // counted below through exercise
    }
    exercise(line);
  }
  assert.ok(parsed > 0, 'some soups parse');
});

test('valid lines with a word dropped, doubled or swapped only give commands or XfrmError', () => {
  const lines = [
    `${SA} replay-window 64 flag esn aead 'rfc4106(gcm(aes))' ${KEY20} 128 encap espinudp 4500 4500 0.0.0.0 sel src 203.0.113.0/24 dst 198.51.100.0/24 proto udp dport 53`,
    `${SA} enc 'cbc(aes)' ${KEY16} auth-trunc 'hmac(sha256)' ${KEY32} 128 dir in limit byte-hard 10`,
    'policy add src 203.0.113.0/24 dst 198.51.100.0/24 proto tcp sport 1 dir out priority 5 tmpl src 192.0.2.1 dst 198.51.100.2 proto esp mode tunnel reqid 1',
  ];
  const rng = createTestRng('xfrm-hostile-mutations');
  for (const line of lines) {
    const words = line.split(' ');
    for (let i = 0; i < words.length; i++) {
      exercise([...words.slice(0, i), ...words.slice(i + 1)].join(' '));
      exercise([...words.slice(0, i + 1), ...words.slice(i)].join(' '));
      const j = rng.bytes(1)[0]! % words.length;
      const swapped = [...words];
      [swapped[i], swapped[j]] = [swapped[j]!, swapped[i]!];
      exercise(swapped.join(' '));
    }
  }
});
