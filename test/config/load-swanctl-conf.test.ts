import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSwanctlConf, expandGlob } from '../../src/config/load-swanctl-conf.js';
import { ConfigError, formatDiagnostic } from '../../src/config/config-error.js';
import { sharedBench } from '../helpers/vectors.js';

function withDir(f: (dir: string) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsipsec-config-'));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function write(file: string, text: string, mode: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  chmodSync(file, mode);
}

function errorOf(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a ConfigError');
}

const CONN = 'connections { c { local { auth = psk } remote { auth = psk } children { x { } } } }\n';

test('loads a file and its wildcard includes from disk, in sorted order, relative to the including file', () => {
  withDir((dir) => {
    write(path.join(dir, 'swanctl.conf'), 'include conf.d/*.conf\ninclude secrets/psk.secrets\n', 0o600);
    write(path.join(dir, 'conf.d/20-b.conf'), CONN.replace('c {', 'b {'), 0o644);
    write(path.join(dir, 'conf.d/10-a.conf'), CONN.replace('c {', 'a {'), 0o644);
    write(path.join(dir, 'conf.d/.hidden.conf'), 'broken {', 0o644);
    mkdirSync(path.join(dir, 'conf.d/dir.conf'));
    write(path.join(dir, 'secrets/psk.secrets'), 'secrets { ike-1 { secret = 0sAAEC } }\n', 0o600);
    const { config } = loadSwanctlConf(path.join(dir, 'swanctl.conf'));
    assert.deepEqual(
      config.connections.map((c) => c.name),
      ['a', 'b'],
    );
    assert.deepEqual(Buffer.from(config.secrets[0]?.secret ?? []).toString('hex'), '000102');
    assert.deepEqual(config.files, [
      path.join(dir, 'swanctl.conf'),
      path.join(dir, 'conf.d/10-a.conf'),
      path.join(dir, 'conf.d/20-b.conf'),
      path.join(dir, 'secrets/psk.secrets'),
    ]);
    assert.deepEqual(expandGlob(path.join(dir, 'conf.d/[12]0-?.conf')), [
      path.join(dir, 'conf.d/10-a.conf'),
      path.join(dir, 'conf.d/20-b.conf'),
    ]);
  });
});

test('refuses a world-readable file that holds secrets, and says how to fix it', () => {
  withDir((dir) => {
    const file = path.join(dir, 'swanctl.conf');
    write(file, `${CONN}secrets {\n  ike-1 {\n    secret = "k"\n  }\n}\n`, 0o644);
    const e = errorOf(() => loadSwanctlConf(file));
    assert.equal(
      e.message,
      `${file}:4:5: this file holds secrets but every user can read it (mode 644) (run: chmod 600 ${file} (and chown it to the user the daemon runs as))`,
    );
    chmodSync(file, 0o600);
    assert.equal(loadSwanctlConf(file).config.secrets.length, 1);
    chmodSync(file, 0o400);
    assert.equal(loadSwanctlConf(file).config.secrets.length, 1);
  });
});

test('refuses group-readable, group-writable and world-writable secret files too, naming who and the fix', () => {
  withDir((dir) => {
    const file = path.join(dir, 'swanctl.conf');
    write(file, `${CONN}secrets {\n  ike-1 {\n    secret = "k"\n  }\n}\n`, 0o640);
    const fix = `(run: chmod 600 ${file} (and chown it to the user the daemon runs as))`;
    const cases: [number, string][] = [
      [0o640, 'its group can read it (mode 640)'],
      [0o620, 'its group can write it (mode 620)'],
      [0o660, 'its group can read it and its group can write it (mode 660)'],
      [0o602, 'every user can write it (mode 602)'],
      [0o666, 'every user can read it and every user can write it (mode 666)'],
    ];
    for (const [mode, words] of cases) {
      chmodSync(file, mode);
      assert.equal(
        errorOf(() => loadSwanctlConf(file)).message,
        `${file}:4:5: this file holds secrets but ${words} ${fix}`,
      );
    }
    chmodSync(file, 0o640);
    const { warnings } = loadSwanctlConf(file, { allowWorldReadableSecrets: true });
    assert.match(formatDiagnostic(warnings[warnings.length - 1]!), /its group can read it \(mode 640\)/);
    chmodSync(file, 0o700);
    assert.equal(loadSwanctlConf(file).config.secrets.length, 1, 'execute bits do not expose the secret');
  });
});

test('a world-readable included file with secrets is refused at that file; allowWorldReadableSecrets downgrades to a warning', () => {
  withDir((dir) => {
    const file = path.join(dir, 'swanctl.conf');
    const secrets = path.join(dir, 'private', 'eap.secrets');
    write(file, `${CONN}include private/*.secrets\n`, 0o600);
    // even a secret type this project does not use is protected
    write(secrets, 'secrets { eap-user { id = u\n  secret = pw } }\n', 0o604);
    const e = errorOf(() => loadSwanctlConf(file));
    assert.deepEqual(e.origin, { file: secrets, line: 2, column: 3 });
    const { warnings } = loadSwanctlConf(file, { allowWorldReadableSecrets: true });
    assert.match(
      formatDiagnostic(warnings[warnings.length - 1]!),
      /eap.secrets:2:3: this file holds secrets but every user can read it \(mode 604\)/,
    );
  });
});

test('a world-readable file without secrets is fine', () => {
  withDir((dir) => {
    const file = path.join(dir, 'swanctl.conf');
    write(file, CONN, 0o644);
    assert.equal(loadSwanctlConf(file).config.connections.length, 1);
  });
});

test('the shared bench configs are world-readable and hold a PSK: refused unless explicitly allowed', () => {
  const file = path.join(sharedBench, 'swanctl-left.conf');
  const e = errorOf(() => loadSwanctlConf(file));
  assert.match(e.message, /swanctl-left.conf:23:21: this file holds secrets but every user can read it/);
  const { config, warnings } = loadSwanctlConf(file, { allowWorldReadableSecrets: true });
  assert.equal(config.connections[0]?.name, 'lab');
  assert.equal(warnings.length, 1);
});

test('a missing main file is a ConfigError naming the file', () => {
  withDir((dir) => {
    const file = path.join(dir, 'nope.conf');
    const e = errorOf(() => loadSwanctlConf(file));
    assert.match(
      e.message,
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:1: cannot read the configuration: ENOENT`),
    );
  });
});
