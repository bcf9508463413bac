import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/cli/run.js';
import { ControlServer } from '../../src/control/server.js';
import { ControlError } from '../../src/control/protocol.js';
import type { ChildSaInfo, IkeSaInfo, PoolInfo } from '../../src/control/schema.js';

function capture() {
  const o = { out: '', err: '' };
  return {
    o,
    io: { stdout: { write: (s: string) => (o.out += s) }, stderr: { write: (s: string) => (o.err += s) } },
  };
}

const child: ChildSaInfo = {
  name: 'net',
  uniqueId: 1,
  reqid: 1,
  state: 'INSTALLED',
  mode: 'tunnel',
  protocol: 'esp',
  encap: true,
  spiIn: 'c1a2b3c4',
  spiOut: 'd5e6f7a8',
  encryption: 'AES_GCM_16_128',
  integrity: null,
  esn: false,
  localTs: ['198.51.100.1/32'],
  remoteTs: ['203.0.113.1/32'],
  in: { bytes: 840, packets: 10 },
  out: { bytes: 840, packets: 10 },
  drops: { replay: 2, icv: 0 },
  installedSecAgo: 12,
  rekeyInSec: 3540,
  expiresInSec: 3948,
};
const ike: IkeSaInfo = {
  name: 'lab',
  uniqueId: 1,
  state: 'ESTABLISHED',
  initiator: true,
  localAddr: '192.0.2.1',
  localPort: 4500,
  remoteAddr: '192.0.2.2',
  remotePort: 4500,
  localId: 'left.lab',
  remoteId: 'right.lab',
  spiI: '0123456789abcdef',
  spiR: 'fedcba9876543210',
  proposal: 'AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519',
  natLocal: false,
  natRemote: false,
  establishedSecAgo: 12,
  rekeyInSec: 14388,
  children: [child],
  localVips: ['198.51.100.129', '2001:db8:1::1'],
  remoteVips: [],
  dns: ['203.0.113.53'],
  localEapId: 'carol',
  remoteEapId: null,
};
const pool: PoolInfo = {
  name: 'rw4',
  addrs: '198.51.100.128/25',
  family: 4,
  first: '198.51.100.129',
  last: '198.51.100.254',
  size: 126,
  online: 1,
  offline: 1,
  dns: ['203.0.113.53'],
  leases: [
    { address: '198.51.100.129', identity: 'carol@example.org', status: 'online' },
    { address: '198.51.100.130', identity: 'dave@example.org', status: 'offline' },
  ],
};

async function withFakeDaemon(fn: (sock: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-cli-'));
  const sock = path.join(dir, 'control.sock');
  const server = await ControlServer.listen(sock);
  server.handle('sas', () => ({ ikeSas: [ike] }));
  server.handle('pools', () => ({ pools: [pool] }));
  server.handle('up', (r) => {
    if (r.args['name'] === 'net') return { children: [child] };
    throw new ControlError('peer', 'peer answered AUTHENTICATION_FAILED for lab[2]: check the PSK and the identities');
  });
  try {
    await fn(sock);
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('sas prints the SAs in plain words and --json unchanged', async () => {
  await withFakeDaemon(async (sock) => {
    const c = capture();
    assert.equal(await run(['--control', sock, 'sas'], c.io), 0);
    assert.match(c.o.out, /^lab: #1, ESTABLISHED, IKEv2, 0123456789abcdef_i\* fedcba9876543210_r$/m);
    assert.match(c.o.out, /net: #1, reqid 1, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16_128/);
    assert.match(c.o.out, /in {2}c1a2b3c4, +840 bytes, +10 packets/);
    assert.match(c.o.out, /drops: replay 2$/m);
    assert.match(
      c.o.out,
      /^ {2}local {2}'left.lab' @ 192.0.2.1\[4500\] EAP: 'carol' \[198.51.100.129 2001:db8:1::1\]$/m,
    );
    assert.match(c.o.out, /^ {2}remote 'right.lab' @ 192.0.2.2\[4500\]$/m);
    assert.match(c.o.out, /^ {2}dns 203.0.113.53$/m);
    const j = capture();
    assert.equal(await run([`--control=${sock}`, 'sas', '--json'], j.io), 0);
    assert.deepEqual(JSON.parse(j.o.out), { ikeSas: [ike] });
  });
});

test('pools lists each pool with online / offline / size and its leases; --json unchanged', async () => {
  await withFakeDaemon(async (sock) => {
    const c = capture();
    assert.equal(await run(['--control', sock, 'pools'], c.io), 0);
    assert.match(c.o.out, /^rw4 {2}198.51.100.128\/25 +1 \/ 1 \/ 126$/m);
    assert.match(c.o.out, /^ {2}198.51.100.129 +online +'carol@example.org'$/m);
    assert.match(c.o.out, /^ {2}198.51.100.130 +offline +'dave@example.org'$/m);
    const j = capture();
    assert.equal(await run(['--control', sock, 'pools', '--json'], j.io), 0);
    assert.deepEqual(JSON.parse(j.o.out), { pools: [pool] });
  });
});

test('up exits 0 on success and 1 with the peer reason on failure', async () => {
  await withFakeDaemon(async (sock) => {
    const ok = capture();
    assert.equal(await run(['--control', sock, 'up', 'net'], ok.io), 0);
    assert.match(ok.o.out, /CHILD_SA net\{1\} established with SPIs c1a2b3c4_i d5e6f7a8_o/);
    const bad = capture();
    assert.equal(await run(['--control', sock, 'up', 'other'], bad.io), 1);
    assert.match(bad.o.err, /tsipsec up: peer answered AUTHENTICATION_FAILED/);
  });
});

test('usage errors exit 2 and print the command usage', async () => {
  const c = capture();
  assert.equal(await run(['up'], c.io), 2);
  assert.match(c.o.err, /up takes exactly one NAME[\s\S]*Usage: tsipsec \[--control SOCK\] up/);
  const d = capture();
  assert.equal(await run(['sas', '--jsn'], d.io), 2);
  assert.match(d.o.err, /unknown option '--jsn'/);
});

test('no daemon: a clear message and exit 1', async () => {
  const c = capture();
  assert.equal(await run(['--control', '/nonexistent/tsipsec.sock', 'sas'], c.io), 1);
  assert.match(c.o.err, /no daemon is listening on \/nonexistent\/tsipsec.sock/);
});
