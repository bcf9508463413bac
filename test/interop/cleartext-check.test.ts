/**
 * Issue 10 item 3 in namespaces (RFC 4301 5.2): cleartext from a protected source is not delivered. The right
 * host sends UDP datagrams from its protected inner address to a listener on the left host's protected inner
 * address, IPv4 and IPv6: once through the tunnel (delivered), once in the clear over the link, bypassing
 * its TUN with the daemon's mark (dropped by the left daemon's nft table and counted as `cleartext`).
 * The left host filters no reverse path (rp_filter 0, and IPv6 has none), as a gateway with asymmetric
 * routes, so only the daemon's check stands between the spoof and the listener.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Lab, waitFor } from '../helpers/lab.js';
import type { LabHost } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import { pskConfig } from '../helpers/swanctl.js';
import type { DaemonStats } from '../../src/control/schema.js';

const skip = labSkip('nft');
const TUNNEL_PORT = 5555;
const CLEAR_PORT = 5556;
const MARK = '0x7473';

/** (node -e puts the arguments from argv[1] on.) A UDP listener on both families and both ports, one line per datagram (`PORT TEXT`) into `file`. */
const LISTENER = `
const dgram = require('node:dgram');
const fs = require('node:fs');
for (const [type, addr] of [['udp4', process.argv[1]], ['udp6', process.argv[2]]])
  for (const port of [${TUNNEL_PORT}, ${CLEAR_PORT}]) {
    const s = dgram.createSocket(type);
    s.on('message', (m) => fs.appendFileSync(process.argv[3], port + ' ' + m.toString() + '\\n'));
    s.bind(port, addr, () => fs.appendFileSync(process.argv[3], 'bound ' + type + ' ' + port + '\\n'));
  }
`;

/** One datagram from `src` to `dst`:`port`. */
const SENDER = `
const dgram = require('node:dgram');
const [src, dst, port, text] = process.argv.slice(1); // node -e: the arguments follow argv[0]
const s = dgram.createSocket(src.includes(':') ? 'udp6' : 'udp4');
s.bind(0, src, () => s.send(text, Number(port), dst, (e) => { if (e) throw e; s.close(); }));
`;

test(
  'a spoofed cleartext UDP datagram from a protected source is dropped, the same through the tunnel delivered',
  {
    skip,
    timeout: 60_000,
  },
  async () => {
    const lab = await Lab.create('clear');
    try {
      const { left, right } = lab;
      const conf = (me: LabHost, peer: LabHost) =>
        pskConfig({
          me,
          peer,
          name: 'lab',
          secret: 'cleartext-check-psk-0123456789',
          children: [{ localTs: `${me.inner4}/32,${me.inner6}/128`, remoteTs: `${peer.inner4}/32,${peer.inner6}/128` }],
        });
      await lab.exec(left, 'sysctl', ['-qw', 'net.ipv4.conf.all.rp_filter=0', `net.ipv4.conf.${left.dev}.rp_filter=0`]);
      const b = await TsipsecPeer.start(lab, right, conf(right, left));
      const a = await TsipsecPeer.start(lab, left, conf(left, right));
      await a.call('up', { name: 'net', timeoutSec: 20 });

      const got = path.join(lab.dir, 'received.txt');
      fs.writeFileSync(got, '');
      lab.spawn(left, process.execPath, ['-e', LISTENER, left.inner4, left.inner6, got], { stdio: 'ignore' });
      await waitFor('the UDP listeners', () => fs.readFileSync(got, 'utf8').split('bound').length === 5);

      // The spoofer: packets to CLEAR_PORT carry the daemon's mark, so they skip the TUN and leave in the clear.
      const spoofNft = path.join(lab.dir, 'spoof.nft');
      fs.writeFileSync(
        spoofNft,
        `table inet spoof {\n  chain out { type route hook output priority -150; policy accept;\n` +
          `    udp dport ${CLEAR_PORT} meta mark set ${MARK}\n  }\n}\n`,
      );
      await lab.exec(right, 'nft', ['-f', spoofNft]);
      await lab.ip(right, 'route', 'add', `${left.inner4}/32`, 'via', left.outer4);
      await lab.ip(right, '-6', 'route', 'add', `${left.inner6}/128`, 'via', left.outer6);

      const send = (src: string, dst: string, port: number, text: string) =>
        lab.exec(right, process.execPath, ['-e', SENDER, src, dst, String(port), text]);
      await send(right.inner4, left.inner4, TUNNEL_PORT, 'tunnel-v4');
      await send(right.inner6, left.inner6, TUNNEL_PORT, 'tunnel-v6');
      await send(right.inner4, left.inner4, CLEAR_PORT, 'spoof-v4');
      await send(right.inner6, left.inner6, CLEAR_PORT, 'spoof-v6');
      // The spoofs went out: they are on the link in the clear (counted by the left daemon's table below).
      await waitFor('both tunnel datagrams', () =>
        /tunnel-v4[\s\S]*tunnel-v6|tunnel-v6[\s\S]*tunnel-v4/.test(fs.readFileSync(got, 'utf8')),
      );
      const dropped = async (): Promise<number> => ((await a.call('stats')) as DaemonStats).drops.cleartext ?? 0;
      await waitFor('two cleartext drops', async () => (await dropped()) >= 2);
      // Still give a late spoof the chance to arrive before looking.
      await send(right.inner4, left.inner4, TUNNEL_PORT, 'after');
      await waitFor('the datagram sent after the spoofs', () => fs.readFileSync(got, 'utf8').includes('after'));
      const lines = fs.readFileSync(got, 'utf8');
      assert.ok(!lines.includes('spoof'), `cleartext from a protected source was delivered:\n${lines}\n${a.log()}`);
      assert.equal(await dropped(), 2);
      void b;
    } finally {
      await lab.destroy();
    }
  },
);
