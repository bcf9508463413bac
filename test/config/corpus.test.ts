import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/vectors.js';
import { parseSwanctlConf } from '../../src/config/swanctl-conf.js';
import { readIncludeFromDisk } from '../../src/config/load-swanctl-conf.js';
import { parseSettings } from '../../src/config/settings-parser.js';
import { resolveReferences } from '../../src/config/settings-references.js';
import { AUTH_KEYS, CHILD_KEYS, CONNECTION_KEYS, type KeyRule } from '../../src/config/swanctl-keys.js';
import { formatDiagnostic } from '../../src/config/config-error.js';
import type { SwanctlConfig } from '../../src/config/swanctl-model.js';

const CORPUS = path.join(repoRoot, 'test', 'config', 'corpus');
const files = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.conf'))
  .sort();

function load(name: string): SwanctlConfig {
  const file = path.join(CORPUS, name);
  const { config, warnings } = parseSwanctlConf(readFileSync(file, 'utf8'), {
    filename: file,
    readInclude: readIncludeFromDisk,
  });
  assert.deepEqual(warnings.map(formatDiagnostic), [], `${name} parses without warnings`);
  return config;
}

test('the corpus has files', () => {
  assert.ok(files.length >= 6);
});

for (const f of files) {
  test(`corpus ${f} parses without errors or warnings`, () => {
    const config = load(f);
    assert.ok(config.connections.length > 0);
  });
}

test('the corpus uses every supported connection, auth-round and child key', () => {
  const used = { conn: new Set<string>(), auth: new Set<string>(), child: new Set<string>() };
  for (const f of files) {
    const file = path.join(CORPUS, f);
    const { root } = parseSettings(readFileSync(file, 'utf8'), { filename: file, readInclude: readIncludeFromDisk });
    const conns = resolveReferences(root).sections.get('connections');
    for (const c of conns?.sections.values() ?? []) {
      for (const k of c.keys.keys()) used.conn.add(k);
      for (const sub of c.sections.values()) {
        if (sub.name === 'children') {
          for (const ch of sub.sections.values()) for (const k of ch.keys.keys()) used.child.add(k);
        } else for (const k of sub.keys.keys()) used.auth.add(k);
      }
    }
  }
  const supported = (t: Readonly<Record<string, KeyRule>>) =>
    Object.entries(t)
      .filter(([, r]) => r.status === 'supported')
      .map(([k]) => k);
  assert.deepEqual(
    supported(CONNECTION_KEYS).filter((k) => !used.conn.has(k)),
    [],
  );
  assert.deepEqual(
    supported(AUTH_KEYS).filter((k) => !used.auth.has(k)),
    [],
  );
  assert.deepEqual(
    supported(CHILD_KEYS).filter((k) => !used.child.has(k)),
    [],
  );
});

test('net2net-psk: every connection key lands in the model', () => {
  const c = load('net2net-psk.conf').connections[0];
  assert.ok(c);
  assert.deepEqual(
    [c.version, c.localPort, c.remotePort, c.encap, c.mobike, c.dpdDelaySec, c.fragmentation, c.unique, c.keyingtries],
    [2, 500, 500, false, false, 30, 'yes', 'replace', 0],
  );
  assert.deepEqual([c.rekeyTimeSec, c.reauthTimeSec, c.overTimeSec, c.randTimeSec], [14400, 0, 1440, 600]);
  assert.deepEqual(
    c.proposals.map((p) => p.text),
    ['aes128gcm16-prfsha256-x25519', 'aes256gcm16-prfsha384-ecp384', 'aes128-sha256-modp3072'],
  );
  const ch = c.children[0];
  assert.ok(ch);
  assert.deepEqual(
    [ch.rekeyTimeSec, ch.lifeTimeSec, ch.randTimeSec, ch.replayWindow, ch.startAction, ch.dpdAction, ch.closeAction],
    [3600, 3960, 360, 64, 'trap', 'restart', 'none'],
  );
  assert.deepEqual(
    ch.espProposals.map((p) => p.text),
    ['aes128gcm16-x25519', 'aes256-sha512'],
  );
});

test('host-host-transport-v6: IPv6 addresses, subnets and selectors with protocol and ports', () => {
  const config = load('host-host-transport-v6.conf');
  const c = config.connections[0];
  assert.ok(c);
  assert.deepEqual(c.remoteAddrs, [
    { kind: 'address', family: 6, address: '2001:db8::2' },
    { kind: 'subnet', family: 6, address: '2001:db8:1::', prefix: 48 },
  ]);
  assert.deepEqual([c.localPort, c.remotePort, c.encap, c.fragmentation], [4500, 4500, true, 'accept']);
  assert.equal(c.local[0]?.id, '2001:db8::1');
  const web = c.children[0];
  assert.deepEqual(
    web?.localTs.map((t) => [t.address.kind, t.protocol, t.portFrom, t.portTo]),
    [
      ['dynamic', 6, 443, 443],
      ['dynamic', 6, 8080, 8090],
    ],
  );
  assert.deepEqual(
    [web?.mode, web?.startAction, web?.closeAction, web?.dpdAction],
    ['transport', 'start', 'trap', 'trap'],
  );
  assert.equal(Buffer.from(config.secrets[0]?.secret ?? []).toString('hex'), '3f1e2d3c4b5a69788796a5b4c3d2e1f0');
});

test('roadwarrior-responder: rounds sorted by round, ranges, base64 secret, reauth without rekey', () => {
  const config = load('roadwarrior-responder.conf');
  const c = config.connections[0];
  assert.ok(c);
  assert.deepEqual(
    c.local.map((r) => [r.name, r.id]),
    [
      ['local-first', 'vpn.example.org'],
      ['local-second', 'second@example.org'],
    ],
  );
  assert.deepEqual([c.rekeyTimeSec, c.reauthTimeSec, c.overTimeSec, c.randTimeSec], [0, 28800, 2880, 2880]);
  assert.deepEqual(c.localAddrs[1], { kind: 'range', family: 4, from: '203.0.113.6', to: '203.0.113.9' });
  assert.equal(Buffer.from(config.secrets[0]?.secret ?? []).toString('utf8'), 'secret-key-bytes');
  assert.deepEqual(config.secrets[1]?.ids, []);
});

test('templates: references and includes give each spoke the defaults and its own values', () => {
  const config = load('templates.conf');
  assert.deepEqual(
    config.connections.map((c) => [c.name, c.version, c.proposals[0]?.text, c.local[0]?.id, c.remote[0]?.id]),
    [
      ['spoke-a', 2, 'aes256gcm16-prfsha384-ecp384', 'hub.example.org', 'a.example.org'],
      ['spoke-b', 2, 'aes256gcm16-prfsha384-ecp384', 'hub.example.org', 'b.example.org'],
    ],
  );
  const b = config.connections[1]?.children[0];
  assert.deepEqual(b?.localTs[0]?.address, { kind: 'subnet', family: 6, address: '2001:db8:a::', prefix: 48 });
  assert.equal(b?.espProposals[0]?.text, 'aes256gcm16');
  // inherited keys point at the template, own keys at the included file
  assert.deepEqual(b?.keyOrigins['esp_proposals'], { file: path.join(CORPUS, 'templates.conf'), line: 14, column: 5 });
  assert.deepEqual(b?.keyOrigins['remote_ts'], {
    file: path.join(CORPUS, 'conf.d', 'spoke-b.conf'),
    line: 7,
    column: 13,
  });
  assert.equal(Buffer.from(config.secrets[0]?.secret ?? []).toString('utf8'), 'hub "quoted" key\twith tab');
  assert.equal(config.files.length, 3);
});

test('volume-lifetimes-ah: byte and packet limits, AH proposals', () => {
  const c = load('volume-lifetimes-ah.conf').connections[0];
  const ah = c?.children[0];
  assert.deepEqual([c?.rekeyTimeSec, c?.overTimeSec, c?.randTimeSec], [86400, 7200, 1800]);
  assert.deepEqual(
    [ah?.rekeyTimeSec, ah?.lifeTimeSec, ah?.randTimeSec, ah?.rekeyBytes, ah?.lifeBytes, ah?.randBytes],
    [2700, 3000, 300, 500 * 1024 ** 2, 600 * 1024 ** 2, 10 * 1024 ** 2],
  );
  assert.deepEqual([ah?.rekeyPackets, ah?.lifePackets, ah?.randPackets, ah?.replayWindow], [1000000, 1100000, 5000, 0]);
  assert.deepEqual(ah?.espProposals, []);
  const both = c?.children[1];
  assert.deepEqual(
    [both?.ahProposals.map((p) => p.text), both?.espProposals.map((p) => p.text), both?.lifeBytes],
    [['sha256'], ['aes128-sha256-esn'], Math.floor((1024 ** 3 * 110) / 100)],
  );
});

test('shunts: pass and drop children, trap|start, quoted id', () => {
  const c = load('shunts.conf').connections[0];
  assert.deepEqual(
    c?.children.map((ch) => [ch.name, ch.mode, ch.startAction]),
    [
      ['protect', 'tunnel', 'trap|start'],
      ['lan-bypass', 'pass', 'trap'],
      ['block-smtp', 'drop', 'trap'],
    ],
  );
  assert.equal(c?.local[0]?.id, 'CN=gateway one, O=Example');
  assert.deepEqual(
    c?.children[2]?.remoteTs.map((t) => [t.protocol, t.portFrom, t.portTo]),
    [[6, 25, 25]],
  );
});
