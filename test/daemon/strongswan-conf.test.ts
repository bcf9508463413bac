/**
 * strongswan.conf's half-open limits reach the engine: read from the file (with includes and references, as
 * strongSwan reads it), refused with file:line when they are no counts, and honoured by a running daemon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/cli/run.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { charonLimits } from '../../src/daemon/strongswan-conf.js';
import { createLineLogger } from '../../src/common/log.js';
import { nodeRng } from '../../src/crypto/rng.js';
import { conf, configOf, settle, TwoDaemons } from './memory-daemons.js';

test('charon.cookie_threshold, block_threshold and init_limit_half_open are read; others are left alone', () => {
  const limits = charonLimits(
    `charon {
  cookie_threshold = 3
  block_threshold = 0
  init_limit_half_open = 250
  threads = 16
  plugins { random { load = yes } }
}
`,
    '/etc/strongswan.conf',
  );
  assert.deepEqual(limits, { cookieThreshold: 3, blockThreshold: 0, initLimitHalfOpen: 250 });
  assert.deepEqual(charonLimits('charon { }\n', 'x.conf'), {}, 'absent: the engine defaults');
  assert.deepEqual(charonLimits('libstrongswan { }\n', 'x.conf'), {});
  assert.throws(
    () => charonLimits('charon {\n  block_threshold = many\n}\n', '/etc/strongswan.conf'),
    /strongswan\.conf:2:\d+: charon\.block_threshold = many: not a count/,
  );
});

test('tsipsec daemon --strongswan-conf refuses a bad value with file:line before touching the system', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-swanconf-'));
  try {
    const swanctl = path.join(dir, 'swanctl.conf');
    fs.writeFileSync(swanctl, conf('left'), { mode: 0o600 });
    const strongswan = path.join(dir, 'strongswan.conf');
    fs.writeFileSync(strongswan, 'charon {\n  cookie_threshold = -1\n}\n');
    const o = { err: '' };
    const io = { stdout: { write: () => true }, stderr: { write: (s: string) => (o.err += s) } };
    const argv = ['daemon', '--config', swanctl, '--strongswan-conf', strongswan, '--control', path.join(dir, 's')];
    assert.equal(await run(argv, io), 1);
    assert.match(o.err, /strongswan\.conf:2:\d+: charon\.cookie_threshold = -1: not a count/);
    assert.equal(fs.existsSync(path.join(dir, 's')), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a daemon given cookie_threshold = 0 demands a COOKIE of every IKE_SA_INIT', async () => {
  const t = new TwoDaemons(conf('left'), conf('right'));
  // The right daemon again, with the limits a strongswan.conf gave it.
  await t.right.daemon.stop(0);
  const logs: string[] = [];
  const right = new Daemon({
    config: configOf(conf('right')),
    io: t.right.io,
    rng: nodeRng,
    log: createLineLogger({ level: 2, write: (l) => logs.push(l) }),
    limits: { cookieThreshold: 0 },
  });
  await right.start();
  await t.left.daemon.start();
  await settle();
  try {
    await t.left.daemon.up('net', 10);
    await settle();
    const stats = await right.stats();
    assert.equal(stats.ikeIn, 3, 'IKE_SA_INIT, IKE_SA_INIT with the COOKIE, IKE_AUTH');
    assert.equal((await right.sas()).ikeSas.length, 1, 'and the IKE_SA came up');
  } finally {
    await Promise.all([t.left.daemon.stop(0), right.stop(0)]);
  }
});
