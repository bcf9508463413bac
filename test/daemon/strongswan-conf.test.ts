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
import { charonLimits, charonSettings, retransmitGiveUpSec } from '../../src/daemon/strongswan-conf.js';
import { DEFAULT_RETRANSMIT } from '../../src/ike/config.js';
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

test('charon.retransmit_* and keep_alive are read; a missing retransmit_* keeps our default; bad values name file:line', () => {
  const s = charonSettings(
    'charon {\n  retransmit_tries = 3\n  retransmit_timeout = 0.5\n  retransmit_base = 2\n  keep_alive = 10s\n}\n',
    '/etc/strongswan.conf',
  );
  assert.deepEqual(s.retransmit, { timeoutSec: 0.5, base: 2, tries: 3, limitSec: DEFAULT_RETRANSMIT.limitSec });
  assert.equal(s.keepAliveSec, 10);
  // 0.5 + 1 + 2 + 4 (capped at the limit of 4 s): the IKEv2 DPD timeout.
  assert.equal(retransmitGiveUpSec(s.retransmit), 7.5);
  assert.deepEqual(charonSettings('charon {\n  keep_alive = 0\n}\n', 'x.conf'), { limits: {}, keepAliveSec: 0 });
  assert.deepEqual(charonSettings('charon { }\n', 'x.conf'), { limits: {} }, 'absent: the defaults');
  assert.throws(
    () => charonSettings('charon {\n  retransmit_base = 0.5\n}\n', '/etc/strongswan.conf'),
    /strongswan\.conf:2:\d+: charon\.retransmit_base = 0\.5: not a back-off base/,
  );
  assert.throws(
    () => charonSettings('charon {\n\n  retransmit_tries = -1\n}\n', '/etc/strongswan.conf'),
    /strongswan\.conf:3:\d+: charon\.retransmit_tries = -1: not a count/,
  );
  assert.throws(
    () => charonSettings('charon {\n  keep_alive = often\n}\n', '/etc/strongswan.conf'),
    /strongswan\.conf:2:\d+: charon\.keep_alive = often: not an interval/,
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
