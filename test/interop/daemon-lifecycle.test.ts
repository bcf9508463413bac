/**
 * The daemon as an operator drives it: SIGHUP reloads swanctl.conf (a broken file is refused and the old
 * configuration kept), SIGTERM deletes the SAs, telling the peer, and exits 0; `load` reports file:line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Lab, waitFor } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import type { LabHost } from '../helpers/lab.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import { pskConfig } from '../helpers/swanctl.js';
import type { ConnectionInfo, IkeSaInfo } from '../../src/control/schema.js';

const skip = labSkip();

function conf(me: LabHost, peer: LabHost, withV6 = false): string {
  const v6 = { name: 'v6', localTs: `${me.inner6}/128`, remoteTs: `${peer.inner6}/128` };
  return pskConfig({ me, peer, name: 'life', children: withV6 ? [{}, v6] : [{}] });
}

test(
  'SIGHUP reloads, a broken file is refused, SIGTERM deletes SAs at the peer and exits 0',
  { skip, timeout: 60_000 },
  async () => {
    const lab = await Lab.create('life');
    try {
      const { left, right } = lab;
      const b = await TsipsecPeer.start(lab, right, conf(right, left));
      const a = await TsipsecPeer.start(lab, left, conf(left, right));
      await a.call('up', { name: 'net', timeoutSec: 20 });

      // SIGHUP with a second child: it appears in conns, the SAs stay up.
      fs.writeFileSync(a.configFile, conf(left, right, true));
      a.process.kill('SIGHUP');
      await waitFor('the reload', async () => {
        const { connections } = (await a.call('conns')) as { connections: ConnectionInfo[] };
        return connections[0]?.children.length === 2;
      });
      assert.equal(((await a.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas.length, 1, 'SAs survive a reload');

      // A broken file: refused with file:line, old configuration kept.
      fs.writeFileSync(a.configFile, 'connections {\n  life {\n    remote_adrs = 192.0.2.2\n  }\n}\n');
      a.process.kill('SIGHUP');
      await waitFor('the refusal in the log', () => /reload of .* refused/.test(a.log()));
      assert.match(a.log(), /swanctl\.conf:3:\d+: .*remote_adrs.*did you mean 'remote_addrs'/);
      const { connections } = (await a.call('conns')) as { connections: ConnectionInfo[] };
      assert.equal(connections[0]?.children.length, 2, 'the old configuration stays');
      await assert.rejects(a.call('load', { file: a.configFile }), /swanctl\.conf:3:\d+/);

      // SIGTERM: DELETE reaches the peer, the daemon exits 0 and removes its socket.
      const exited = new Promise<number | null>((r) => a.process.once('exit', (code) => r(code)));
      a.process.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.match(a.log(), /SIGTERM: deleting SAs and stopping/);
      await waitFor(
        'the peer to drop the IKE_SA',
        async () => ((await b.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas.length === 0,
      );
      assert.match(b.log(), /deleted by peer/);
      assert.equal(fs.existsSync(a.control), false, 'control socket removed');
      const rules = await lab.exec(left, 'ip', ['rule', 'list']);
      assert.doesNotMatch(rules, /lookup 220/, 'routing rule removed');
    } finally {
      await lab.destroy();
    }
  },
);
