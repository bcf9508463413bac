/**
 * NAT traversal (RFC 7296 2.23, RFC 3948) through a real NAT: a router namespace masquerades the left host
 * behind its own address. Both sides detect the NAT, float IKE to port 4500 and carry ESP in UDP, and a
 * ping goes through the tunnel.
 *
 *   left (192.0.2.1, inner 198.51.100.1) -- router (192.0.2.254 | 203.0.113.126, masquerade) -- right (203.0.113.2, inner 203.0.113.200)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import { Lab } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import type { LabHost } from '../helpers/lab.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import { StrongSwan } from '../helpers/strongswan.js';
import { pskConfig } from '../helpers/swanctl.js';
import type { IkeSaInfo } from '../../src/control/schema.js';

const sh = promisify(execFile);

async function ipIn(ns: string, ...args: string[]): Promise<void> {
  await sh('ip', ['-n', ns, ...args]);
}

for (const responder of ['tsipsec', 'strongswan'] as const) {
  const why = responder === 'strongswan' ? labSkip('nft', 'strongswan') : labSkip('nft');
  test(
    `NAT traversal through a masquerading router, ${responder} responding: NAT detected, ESP in UDP 4500, ping through`,
    { skip: why, timeout: 60_000 },
    async () => {
      const lab = await Lab.create('nat');
      const router = `${lab.left.ns.replace(/-l$/, '')}-nat`;
      const tag = String(process.pid % 100000);
      try {
        // Re-plumb the lab: left and right each talk to a router namespace instead of to each other.
        await sh('ip', ['netns', 'add', router]);
        lab.onDestroy(() => sh('ip', ['netns', 'del', router]).then(() => undefined));
        const { left, right } = lab;
        await ipIn(left.ns, 'link', 'del', left.dev);
        await sh('ip', ['link', 'add', `nl${tag}`, 'type', 'veth', 'peer', 'name', `nrl${tag}`]);
        await sh('ip', ['link', 'add', `nr${tag}`, 'type', 'veth', 'peer', 'name', `nrr${tag}`]);
        await sh('ip', ['link', 'set', `nl${tag}`, 'netns', left.ns, 'name', 'wan0']);
        await sh('ip', ['link', 'set', `nr${tag}`, 'netns', right.ns, 'name', 'wan0']);
        await sh('ip', ['link', 'set', `nrl${tag}`, 'netns', router, 'name', 'in0']);
        await sh('ip', ['link', 'set', `nrr${tag}`, 'netns', router, 'name', 'out0']);
        await ipIn(left.ns, 'addr', 'add', '192.0.2.1/24', 'dev', 'wan0');
        await ipIn(left.ns, 'link', 'set', 'wan0', 'up');
        await ipIn(left.ns, 'route', 'add', 'default', 'via', '192.0.2.254');
        await ipIn(right.ns, 'addr', 'del', `${right.inner4}/32`, 'dev', 'lo');
        await ipIn(right.ns, 'addr', 'add', '203.0.113.200/32', 'dev', 'lo');
        await ipIn(right.ns, 'addr', 'add', '203.0.113.2/25', 'dev', 'wan0');
        await ipIn(right.ns, 'link', 'set', 'wan0', 'up');
        await ipIn(router, 'link', 'set', 'lo', 'up');
        await ipIn(router, 'addr', 'add', '192.0.2.254/24', 'dev', 'in0');
        await ipIn(router, 'addr', 'add', '203.0.113.126/25', 'dev', 'out0');
        await ipIn(router, 'link', 'set', 'in0', 'up');
        await ipIn(router, 'link', 'set', 'out0', 'up');
        await sh('ip', ['netns', 'exec', router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
        const nft = `table ip nat {\n chain post {\n  type nat hook postrouting priority 100;\n  oifname "out0" masquerade\n }\n}\n`;
        const nftFile = `${lab.dir}/nat.nft`;
        fs.writeFileSync(nftFile, nft);
        await sh('ip', ['netns', 'exec', router, 'nft', '-f', nftFile]);

        const l: LabHost = { ...left, outer4: '192.0.2.1' };
        const r: LabHost = { ...right, outer4: '203.0.113.2', inner4: '203.0.113.200' };
        const rightConf = pskConfig({ me: r, peer: l, meId: 'right.nat', peerId: 'left.nat', remoteAddrs: '%any' });
        const b = responder === 'tsipsec' ? await TsipsecPeer.start(lab, right, rightConf) : undefined;
        const sw = responder === 'strongswan' ? await StrongSwan.start(lab, right, rightConf) : undefined;
        const a = await TsipsecPeer.start(
          lab,
          left,
          pskConfig({ me: l, peer: r, meId: 'left.nat', peerId: 'right.nat' }),
        );
        await a.call('up', { name: 'net', timeoutSec: 20 });
        const ping = await lab.exec(left, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '-I', l.inner4, r.inner4]);
        assert.match(ping, /3 received/, ping);
        const ours = ((await a.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas[0];
        assert.ok(ours);
        assert.equal(ours.natLocal, true, 'the initiator knows it is behind a NAT');
        assert.equal(ours.remotePort, 4500, 'IKE floated to 4500');
        assert.equal(ours.children[0]?.encap, true, 'ESP in UDP');
        assert.equal(ours.children[0]?.out.packets, 3);
        if (b !== undefined) {
          const theirs = ((await b.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas[0];
          assert.ok(theirs);
          assert.equal(theirs.natRemote, true, 'the responder knows its peer is behind a NAT');
          assert.equal(theirs.remoteAddr, '203.0.113.126', 'the responder sees the NAT address');
          assert.equal(theirs.children[0]?.in.packets, 3);
        }
        if (sw !== undefined) {
          const listed = await sw.listSas();
          assert.match(listed, /remote 'left\.nat' @ 203\.0\.113\.126\[\d+\]/, listed);
          assert.match(listed, /INSTALLED, TUNNEL-in-UDP/, listed);
        }
      } finally {
        await lab.destroy();
      }
    },
  );
}
