/** `tsipsec daemon` refuses what it must refuse before touching the system. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/cli/run.js';

function capture() {
  const o = { out: '', err: '' };
  return { o, io: { stdout: { write: (s: string) => (o.out += s) }, stderr: { write: (s: string) => (o.err += s) } } };
}

const CONF = `connections {
  c {
    local_addrs = 192.0.2.1
    remote_addrs = 192.0.2.2
    local {
      auth = psk
      id = a.example
    }
    remote {
      auth = psk
    }
  }
}
secrets {
  ike-1 {
    secret = "not-for-other-users"
  }
}
`;

test('a swanctl.conf with secrets that other users can read is refused with file:line and the fix', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-daemon-'));
  try {
    const file = path.join(dir, 'swanctl.conf');
    fs.writeFileSync(file, CONF);
    fs.chmodSync(file, 0o644);
    const c = capture();
    assert.equal(await run(['daemon', '--config', file, '--control', path.join(dir, 's.sock')], c.io), 1);
    assert.match(c.o.err, /swanctl\.conf:16:\d+: this file holds secrets but every user can read it \(mode 644\)/);
    assert.match(c.o.err, /chmod 600/);
    assert.equal(fs.existsSync(path.join(dir, 's.sock')), false, 'no control socket was opened');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('daemon usage errors: --config is required, --log-level is range-checked', async () => {
  const a = capture();
  assert.equal(await run(['daemon'], a.io), 2);
  assert.match(a.o.err, /--config FILE is required/);
  const b = capture();
  assert.equal(await run(['daemon', '--config', '/x', '--log-level', '9'], b.io), 2);
  assert.match(b.o.err, /--log-level takes -1\.\.4/);
});
