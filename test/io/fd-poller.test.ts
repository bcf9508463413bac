import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

const pollerUrl = new URL('../../src/io/linux/fd-poller.js', import.meta.url).href;

/** Run `script` in a child node whose stdin is a pipe we write `input` into; resolve with its stdout and code. */
function runChild(script: string, input: string): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ out, code });
    });
    child.stdin.write(input);
  });
}

test('fd poller: a readable pipe wakes the callback; close() stops it and lets the process exit', async () => {
  const script = `
    import { readSync } from 'node:fs';
    import { pollReadable } from ${JSON.stringify(pollerUrl)};
    const buf = Buffer.alloc(64);
    const poller = pollReadable(0, () => {
      const n = readSync(0, buf, 0, 64, null);
      process.stdout.write('read:' + buf.toString('utf8', 0, n) + ';');
      poller.close();
      poller.close();
    });`;
  const { out, code } = await runChild(script, 'ping');
  assert.equal(out, 'read:ping;');
  assert.equal(code, 0, 'no handle left keeping the loop alive');
});

test('fd poller: an exception thrown by the receiver surfaces as an uncaught exception (koffi would swallow it)', async () => {
  const script = `
    import { pollReadable } from ${JSON.stringify(pollerUrl)};
    process.on('uncaughtException', (e) => { process.stdout.write('surfaced:' + e.message); process.exit(0); });
    pollReadable(0, () => { throw new Error('receiver bug'); });`;
  const { out, code } = await runChild(script, 'x');
  assert.equal(out, 'surfaced:receiver bug');
  assert.equal(code, 0);
});
