/**
 * Twenty strongSwan road warriors at once on our gateway (issue 13): each client its own namespace, link,
 * address, identity and charon (kernel-libipsec), all initiating together; each gets its own virtual IP from the
 * gateway's pool and pings the gateway's inner address from it. `tsipsec sas --json` on the gateway lists twenty
 * users with twenty distinct virtual IPs, and each user's CHILD_SA carried that user's echoes.
 *
 *   gateway  tsipsec  192.0.2.2 (right host), inner 203.0.113.1; one veth per client, 192.0.2.(16+4i+1)/30
 *   client i charon   192.0.2.(16+4i+2)/30, identity user<i>@lab, virtual IP from 198.51.100.128/25
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Lab } from '../helpers/lab.js';
import type { LabHost } from '../helpers/lab.js';
import { pskGatewayConfig } from '../helpers/swanctl.js';
import { labSkip } from '../helpers/prerequisites.js';
import { StrongSwan } from '../helpers/strongswan.js';
import { CLI, TsipsecPeer } from '../helpers/tsipsec.js';
import type { IkeSaInfo } from '../../src/control/schema.js';

const skip = labSkip('strongswan');
const run = promisify(execFile);

const CLIENTS = 20;
/** Charons started at a time (the machine is shared: twenty at once would crowd its cores). */
const START_BATCH = 5;
const PINGS = 3;
const SECRET = 'many-clients-psk-0123456789';
const POOL4 = '198.51.100.128/25';

function gatewayConf(gw: LabHost): string {
  return pskGatewayConfig(gw, POOL4, SECRET);
}

function clientConf(me: LabHost, gw: LabHost, id: string): string {
  return `connections {
  rw {
    local_addrs = ${me.outer4}
    remote_addrs = ${gw.outer4}
    vips = 0.0.0.0
    encap = yes
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = psk
      id = ${id}
    }
    remote {
      auth = psk
      id = gw.lab
    }
    children {
      net {
        remote_ts = ${gw.inner4}/32
        esp_proposals = aes128gcm16
      }
    }
  }
}
secrets {
  ike-rw {
    secret = "${SECRET}"
  }
}
`;
}

/**
 * Client host `i` of the gateway: its own namespace and a veth link to the gateway on a /30 of 192.0.2.0/24, with
 * a host route to the gateway's address. Deleted with the lab (its processes killed first).
 */
async function addClientHost(lab: Lab, gw: LabHost, i: number): Promise<LabHost> {
  const ns = `${gw.ns}m${i}`;
  const base = 16 + 4 * i;
  const [gwSide, clientSide] = [`192.0.2.${base + 1}`, `192.0.2.${base + 2}`];
  const tag = `${process.pid % 100000}x${i}`;
  const [tmpG, tmpC] = [`mg${tag}`, `mc${tag}`];
  lab.onDestroy(async () => {
    const pids = (await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }))).stdout.split(/\s+/);
    for (const pid of pids.filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  });
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['link', 'add', tmpG, 'type', 'veth', 'peer', 'name', tmpC]);
  await run('ip', ['link', 'set', tmpG, 'netns', gw.ns]);
  await run('ip', ['link', 'set', tmpC, 'netns', ns, 'name', 'veth0']);
  await lab.ip(gw, 'addr', 'add', `${gwSide}/30`, 'dev', tmpG);
  await lab.ip(gw, 'link', 'set', tmpG, 'up');
  const host: LabHost = { ns, outer4: clientSide, outer6: '', inner4: '', inner6: '', dev: 'veth0' };
  await lab.ip(host, 'link', 'set', 'lo', 'up');
  await lab.ip(host, 'addr', 'add', `${clientSide}/30`, 'dev', 'veth0');
  await lab.ip(host, 'link', 'set', 'veth0', 'up');
  await lab.ip(host, 'route', 'add', `${gw.outer4}/32`, 'via', gwSide);
  return host;
}

function inPool(address: string): boolean {
  const last = Number(address.split('.')[3]);
  return address.startsWith('198.51.100.') && last >= 128 && last <= 255;
}

test(
  `${CLIENTS} strongSwan clients at once on our gateway: each its own virtual IP, each pinging through`,
  { skip, timeout: 240_000 },
  async () => {
    const lab = await Lab.create('mcl');
    let ours: TsipsecPeer | undefined;
    const theirs: StrongSwan[] = [];
    try {
      const gw = lab.right;
      ours = await TsipsecPeer.start(lab, gw, gatewayConf(gw), 1);
      const hosts: LabHost[] = [];
      for (let i = 0; i < CLIENTS; i++) hosts.push(await addClientHost(lab, gw, i));
      for (let i = 0; i < CLIENTS; i += START_BATCH) {
        const batch = hosts.slice(i, i + START_BATCH);
        const started = await Promise.all(
          batch.map((h, j) => StrongSwan.start(lab, h, clientConf(h, gw, `user${i + j}@lab`))),
        );
        theirs.push(...started);
      }

      // All at once.
      const initiated = await Promise.all(theirs.map((sw) => sw.swanctl('--initiate', '--child', 'net')));
      for (const out of initiated) assert.match(out, /initiate completed successfully/);

      // The gateway's listing, through the CLI as a user would read it.
      const { stdout } = await run(process.execPath, [CLI, '--control', ours.control, 'sas', '--json']);
      const { ikeSas } = JSON.parse(stdout) as { ikeSas: IkeSaInfo[] };
      assert.equal(ikeSas.length, CLIENTS, `${CLIENTS} IKE_SAs:\n${stdout.slice(0, 2000)}`);
      const users = ikeSas.map((s) => s.remoteId).sort();
      assert.deepEqual(users, hosts.map((_, i) => `user${i}@lab`).sort(), 'one IKE_SA per user');
      const vips = ikeSas.map((s) => s.remoteVips[0] ?? '');
      assert.equal(new Set(vips).size, CLIENTS, `distinct virtual IPs: ${vips.join(' ')}`);
      for (const v of vips) assert.ok(inPool(v), `${v} from the pool ${POOL4}`);
      const vipOf = new Map(ikeSas.map((s) => [s.remoteId, s.remoteVips[0] ?? '']));

      // Every client pings from its own virtual IP, all at the same time.
      const pings = await Promise.all(
        hosts.map((h, i) =>
          lab
            .exec(h, 'ping', ['-c', String(PINGS), '-i', '0.2', '-W', '3', '-I', vipOf.get(`user${i}@lab`)!, gw.inner4])
            .catch((e: Error) => e.message),
        ),
      );
      // The machine is shared and loaded: one echo of a client may be lost on the way, never more.
      const received = new Map<string, number>();
      for (const [i, out] of pings.entries()) {
        const n = Number(/(\d+) received/.exec(out)?.[1] ?? 0);
        assert.ok(n >= PINGS - 1, `user${i}: ${out}`);
        received.set(`user${i}@lab`, n);
      }

      // Each user's CHILD_SA carried its own echoes: every request that reached the gateway came in on it and its
      // reply went out on it (the echoes a client got back were among them).
      const after = ((await ours.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas;
      for (const s of after) {
        const c = s.children[0];
        const got = received.get(s.remoteId) ?? PINGS;
        assert.ok(c, `${s.remoteId} has a CHILD_SA`);
        assert.deepEqual(c.remoteTs, [`${s.remoteVips[0]}/32`], `${s.remoteId}'s CHILD_SA is narrowed to its VIP`);
        assert.ok(c.in.packets >= got && c.in.packets <= PINGS, `${s.remoteId}: ${JSON.stringify(c)}`);
        assert.equal(c.out.packets, c.in.packets, `${s.remoteId}: ${JSON.stringify(c)}`);
      }
    } catch (e) {
      const charon = theirs.map((t) => t.log().slice(-800)).join('\n---\n');
      const stats = ours === undefined ? '' : JSON.stringify(await ours.call('stats').catch(() => 'no stats'));
      throw new Error(
        `${(e as Error).message}\n--- tsipsec stats ---\n${stats}\n--- tsipsec log ---\n${ours?.log().slice(-5000)}` +
          `\n--- charon ---\n${charon}`,
      );
    } finally {
      await lab.destroy();
    }
  },
);
