import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControlServer } from '../../src/control/server.js';
import { ControlClient, ControlClientError } from '../../src/control/client.js';
import { ControlError } from '../../src/control/protocol.js';

function tempSocket(): { dir: string; sock: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-ctl-'));
  return { dir, sock: path.join(dir, 'run', 'control.sock') };
}

test('control round trip: results, handler errors, unknown commands, mode 0600', async () => {
  const { dir, sock } = tempSocket();
  const server = await ControlServer.listen(sock);
  try {
    assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
    server.handle('echo', (r) => r.args);
    server.handle('fail', () => {
      throw new ControlError('unknown-name', "no connection or child named 'x'");
    });
    const client = await ControlClient.connect(sock);
    try {
      assert.deepEqual(await client.call('echo', { a: 1 }), { a: 1 });
      await assert.rejects(client.call('fail'), (e: unknown) => {
        assert.ok(e instanceof ControlClientError);
        assert.equal(e.code, 'unknown-name');
        assert.match(e.message, /no connection or child named 'x'/);
        return true;
      });
      await assert.rejects(client.call('nope'), /unknown command 'nope'/);
    } finally {
      client.close();
    }
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(fs.existsSync(sock), false);
});

test('a second daemon on a live socket is refused; a stale socket file is replaced', async () => {
  const { dir, sock } = tempSocket();
  const first = await ControlServer.listen(sock);
  try {
    await assert.rejects(ControlServer.listen(sock), /in use by another daemon/);
  } finally {
    await first.close();
  }
  fs.writeFileSync(sock, '');
  const again = await ControlServer.listen(sock);
  await again.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('connecting without a daemon says how to start one', async () => {
  const { dir, sock } = tempSocket();
  await assert.rejects(ControlClient.connect(sock), /no daemon is listening.*tsipsec daemon --config/);
  fs.rmSync(dir, { recursive: true, force: true });
});
