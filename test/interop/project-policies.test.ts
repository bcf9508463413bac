/**
 * Policies beyond a plain tunnel, project to project: a trap policy (`start_action = trap`) whose first
 * packets start IKE and are delivered once the tunnel is up, and `pass` / `drop` children next to a
 * transport-mode child that protects everything else between the two hosts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Lab, waitFor } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import { pskConfig } from '../helpers/swanctl.js';
import type { LabHost } from '../helpers/lab.js';
import type { DaemonStats, IkeSaInfo } from '../../src/control/schema.js';

const skip = labSkip();

const SECRET = 'policies-psk-0123456789';

test(
  'trap policy: the first packets start IKE, wait, and arrive through the tunnel',
  { skip, timeout: 60_000 },
  async () => {
    const lab = await Lab.create('trap');
    try {
      const { left, right } = lab;
      const conf = (me: LabHost, peer: LabHost, action: string) =>
        pskConfig({ me, peer, name: 't', secret: SECRET, children: [{ settings: { start_action: action } }] });
      const b = await TsipsecPeer.start(lab, right, conf(right, left, 'none'));
      const a = await TsipsecPeer.start(lab, left, conf(left, right, 'trap'));
      assert.equal(((await a.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas.length, 0, 'nothing up before traffic');
      const ping = await lab.exec(left, 'ping', ['-c', '3', '-i', '0.3', '-W', '3', '-I', left.inner4, right.inner4]);
      const diag = JSON.stringify([await a.call('stats'), await b.call('stats')]);
      assert.match(
        ping,
        /3 received/,
        `queued packets are sent once the SA is installed: ${diag}\n${a.log()}\n${b.log()}`,
      );
      const { ikeSas } = (await a.call('sas')) as { ikeSas: IkeSaInfo[] };
      assert.equal(ikeSas[0]?.children[0]?.out.packets, 3);
    } finally {
      await lab.destroy();
    }
  },
);

test('pass and drop children beside a transport-mode child', { skip, timeout: 60_000 }, async () => {
  const lab = await Lab.create('shunt');
  try {
    const { left, right } = lab;
    const conf = (me: LabHost, peer: LabHost) =>
      pskConfig({
        me,
        peer,
        name: 'host',
        secret: SECRET,
        children: [
          { name: 'all', localTs: null, remoteTs: null, settings: { mode: 'transport', start_action: 'trap' } },
          {
            name: 'ping-in-clear',
            localTs: `${me.outer4}/32`,
            remoteTs: `${peer.outer4}/32[icmp]`,
            settings: { mode: 'pass' },
          },
          {
            name: 'discard',
            localTs: `${me.outer4}/32`,
            remoteTs: `${peer.outer4}/32[udp/9]`,
            settings: { mode: 'drop' },
          },
        ],
      });
    await TsipsecPeer.start(lab, right, conf(right, left));
    const a = await TsipsecPeer.start(lab, left, conf(left, right));
    const pcap = path.join(lab.dir, 'link.pcap');
    const dump = lab.spawn(left, 'tcpdump', ['-i', left.dev, '-nn', '-U', '-w', pcap], { stdio: 'ignore' });
    await waitFor('tcpdump', () => fs.existsSync(pcap));
    await new Promise((r) => setTimeout(r, 300));
    // ICMP is passed in the clear (both sides pass it), so no IKE is needed for it.
    const ping = await lab.exec(left, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', right.outer4]);
    assert.match(ping, /2 received/);
    assert.equal(((await a.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas.length, 0, 'pass traffic starts no IKE');
    // UDP to port 9 is dropped; other UDP is protected by the transport-mode child (its trap starts IKE).
    await lab.exec(left, 'bash', ['-c', `for i in 1 2 3; do echo discard > /dev/udp/${right.outer4}/9; done`]);
    await lab.exec(left, 'bash', ['-c', `echo protected > /dev/udp/${right.outer4}/7`]);
    await waitFor('the transport SA', async () => ((await a.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas.length > 0);
    await new Promise((r) => setTimeout(r, 500));
    const stats = (await a.call('stats')) as DaemonStats;
    assert.ok((stats.drops['discard'] ?? 0) >= 3, `discarded: ${JSON.stringify(stats.drops)}`);
    dump.kill('SIGINT');
    await new Promise((r) => dump.once('exit', r));
    const seen = execFileSync('tcpdump', ['-nn', '-r', pcap], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    assert.match(seen, /ICMP echo request/, 'the pass child sent ICMP in the clear');
    assert.doesNotMatch(seen, /\.9: UDP/, 'no UDP to port 9 on the wire');
    assert.doesNotMatch(seen, /\.7: UDP/, 'no plaintext UDP to port 7 on the wire');
    assert.match(seen, /ESP\(spi=/, 'the protected datagram left as ESP');
  } finally {
    await lab.destroy();
  }
});

test(
  'close_action = start: when the peer deletes the IKE_SA, it is initiated again',
  { skip, timeout: 60_000 },
  async () => {
    const lab = await Lab.create('close');
    try {
      const { left, right } = lab;
      const conf = (me: LabHost, peer: LabHost, closeAction: string) =>
        pskConfig({ me, peer, name: 'c', secret: SECRET, children: [{ settings: { close_action: closeAction } }] });
      const b = await TsipsecPeer.start(lab, right, conf(right, left, 'start'));
      const a = await TsipsecPeer.start(lab, left, conf(left, right, 'none'));
      await a.call('up', { name: 'net', timeoutSec: 20 });
      const first = ((await b.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas[0];
      assert.equal(first?.initiator, false, 'right is the responder at first');
      await a.call('down', { name: 'c' });
      // right sees "deleted by peer" and, with close_action = start, initiates a new IKE_SA itself.
      await waitFor(
        'right to initiate again',
        async () =>
          ((await b.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas.some((s) => s.initiator && s.children.length > 0),
        15_000,
      );
      const ping = await lab.exec(left, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '-I', left.inner4, right.inner4]);
      assert.match(ping, /2 received/);
    } finally {
      await lab.destroy();
    }
  },
);

test(
  'keyingtries: a failed initiation is tried again, then given up; unsupported keys warn, reauth_time does not',
  { skip, timeout: 60_000 },
  async () => {
    const lab = await Lab.create('tries');
    try {
      const { left, right } = lab;
      const conf = (me: LabHost, peer: LabHost, ike: string, extra: Record<string, string>) =>
        pskConfig({ me, peer, name: 'k', secret: SECRET, settings: { proposals: ike, ...extra } });
      await TsipsecPeer.start(lab, right, conf(right, left, 'aes256-sha512-modp4096', {}));
      const a = await TsipsecPeer.start(
        lab,
        left,
        conf(left, right, 'aes128gcm16-prfsha256-x25519', { keyingtries: '3', reauth_time: '2h', mobike: 'yes' }),
      );
      assert.doesNotMatch(a.log(), /reauth_time/); // supported: no warning
      assert.doesNotMatch(a.log(), /mobike: MOBIKE/, 'mobike = yes is supported: no warning');
      await assert.rejects(a.call('up', { name: 'net', timeoutSec: 10 }), /NO_PROPOSAL_CHOSEN/);
      await waitFor('three tries', () => /giving up after 3 keying tries/.test(a.log()), 15_000);
      assert.equal((a.log().match(/CREATED -> CONNECTING \(initiate\)/g) ?? []).length, 3);
    } finally {
      await lab.destroy();
    }
  },
);
