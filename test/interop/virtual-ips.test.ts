/**
 * Road warriors against strongSwan 5.9 with PSK, in network namespaces: strongSwan as the client of our gateway
 * (its virtual IPs from our IPv4 and IPv6 pools, with DNS servers) and our client against a strongSwan gateway
 * with `pools` (the addresses on our TUN, the DNS servers in the namespace's /etc/netns/NAME/resolv.conf).
 * Each pings from its virtual IPs, IPv4 and IPv6, through the tunnel. The left host is the client, the right one
 * the gateway with 203.0.113.1 and 2001:db8:2::1 behind it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { Lab, netnsEtc } from '../helpers/lab.js';
import type { LabHost } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import { StrongSwan } from '../helpers/strongswan.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import type { IkeSaInfo, PoolInfo } from '../../src/control/schema.js';

const skip = labSkip('strongswan');

const SECRET = 'road-warrior-psk-0123456789';
const POOL4 = '198.51.100.128/25';
const POOL6 = '2001:db8:3::/64';
const DNS4 = '203.0.113.53';
const DNS6 = '2001:db8:2::53';
const VIP4 = '198.51.100.129';
const VIP6 = '2001:db8:3::1';

function gatewayConf(gw: LabHost, o: { addrs4?: string; pools?: string } = {}): string {
  return `connections {
  rw {
    local_addrs = ${gw.outer4}
    pools = ${o.pools ?? 'rw4, rw6'}
    encap = yes
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = psk
      id = gw.lab
    }
    remote {
      auth = psk
    }
    children {
      net {
        local_ts = ${gw.inner4}/32, ${gw.inner6}/128
        esp_proposals = aes128gcm16
      }
    }
  }
}
pools {
  rw4 {
    addrs = ${o.addrs4 ?? POOL4}
    dns = ${DNS4}
  }
  rw6 {
    addrs = ${POOL6}
    dns = ${DNS6}
  }
}
secrets {
  ike-rw {
    secret = "${SECRET}"
  }
}
`;
}

function clientConf(me: LabHost, gw: LabHost, id: string, vips = '0.0.0.0, ::'): string {
  return `connections {
  rw {
    local_addrs = ${me.outer4}
    remote_addrs = ${gw.outer4}
    vips = ${vips}
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
        remote_ts = ${gw.inner4}/32, ${gw.inner6}/128
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

async function ping(lab: Lab, from: LabHost, src: string | undefined, to: string): Promise<void> {
  const args = ['-c', '3', '-i', '0.2', '-W', '2', ...(src !== undefined ? ['-I', src] : []), to];
  const out = await lab.exec(from, 'ping', args);
  assert.match(out, /3 received/, out);
}

function logs(ours: TsipsecPeer | undefined, theirs: StrongSwan | undefined): string {
  return `\n--- tsipsec log ---\n${ours?.log().slice(-5000)}\n--- charon log ---\n${theirs?.log().slice(-5000)}`;
}

test(
  'strongSwan client of our gateway: IPv4 and IPv6 virtual IPs and DNS from our pools',
  { skip, timeout: 90_000 },
  async () => {
    const lab = await Lab.create('rwg');
    let ours: TsipsecPeer | undefined;
    let theirs: StrongSwan | undefined;
    try {
      const { left: client, right: gw } = lab;
      ours = await TsipsecPeer.start(lab, gw, gatewayConf(gw));
      theirs = await StrongSwan.start(lab, client, clientConf(client, gw, 'carol@lab'));
      assert.match(await theirs.swanctl('--initiate', '--child', 'net'), /initiate completed successfully/);
      const sw = await theirs.listSas();
      assert.ok(sw.includes(`[${VIP4} ${VIP6}]`) || (sw.includes(VIP4) && sw.includes(VIP6)), sw);
      const { ikeSas } = (await ours.call('sas')) as { ikeSas: IkeSaInfo[] };
      assert.equal(ikeSas.length, 1);
      assert.deepEqual(ikeSas[0]?.remoteVips, [VIP4, VIP6]);
      assert.equal(ikeSas[0]?.remoteId, 'carol@lab');
      assert.deepEqual(ikeSas[0]?.children[0]?.remoteTs, [`${VIP4}/32`, `${VIP6}/128`]);
      await ping(lab, client, VIP4, gw.inner4);
      await ping(lab, client, VIP6, gw.inner6);
      const { pools } = (await ours.call('pools')) as { pools: PoolInfo[] };
      assert.deepEqual(
        pools.map((p) => [p.name, p.online, p.leases[0]?.identity]),
        [
          ['rw4', 1, 'carol@lab'],
          ['rw6', 1, 'carol@lab'],
        ],
      );
      // strongSwan received both DNS servers (without its resolve plugin it does not install them).
      const charon = theirs.log();
      assert.match(
        charon,
        /parsed IKE_AUTH response 1 \[.*CPRP\(ADDR ADDR6 DNS DNS6\)/,
        `DNS reached strongSwan:${logs(ours, theirs)}`,
      );
      assert.match(charon, /processing INTERNAL_IP4_DNS attribute/);
      assert.match(charon, /processing INTERNAL_IP6_DNS attribute/);
    } catch (e) {
      throw new Error(`${(e as Error).message}${logs(ours, theirs)}`);
    } finally {
      await lab.destroy();
    }
  },
);

test(
  'our client of a strongSwan gateway: addresses on the TUN, pings from them, DNS in the namespace',
  { skip, timeout: 90_000 },
  async () => {
    const lab = await Lab.create('rwc');
    let ours: TsipsecPeer | undefined;
    let theirs: StrongSwan | undefined;
    const { left: client, right: gw } = lab;
    const etc = netnsEtc(lab, client);
    try {
      theirs = await StrongSwan.start(lab, gw, gatewayConf(gw));
      ours = await TsipsecPeer.start(lab, client, clientConf(client, gw, 'dave@lab'));
      await ours.call('up', { name: 'rw', timeoutSec: 20 });
      const { ikeSas } = (await ours.call('sas')) as { ikeSas: IkeSaInfo[] };
      assert.deepEqual(ikeSas[0]?.localVips, [VIP4, VIP6]);
      assert.deepEqual(ikeSas[0]?.dns, [DNS4, DNS6]);
      const tun = await lab.ip(client, 'addr', 'show');
      assert.ok(tun.includes(`${VIP4}/32`) && tun.includes(`${VIP6}/128`), tun);
      const resolv = fs.readFileSync(path.join(etc, 'resolv.conf'), 'utf8');
      assert.match(resolv, new RegExp(`^nameserver ${DNS4}$`, 'm'));
      assert.match(resolv, new RegExp(`^nameserver ${DNS6}$`, 'm'));
      // No -I: the routes into the TUN carry the virtual IPs as source.
      await ping(lab, client, undefined, gw.inner4);
      await ping(lab, client, undefined, gw.inner6);
      const sw = await theirs.swanctl('--list-sas');
      assert.ok(sw.includes(VIP4) && sw.includes(VIP6), sw);

      await ours.call('down', { name: 'rw' });
      await waitGone(lab, client);
      assert.equal(fs.existsSync(path.join(etc, 'resolv.conf')), false, 'resolv.conf removed with the IKE_SA');
    } catch (e) {
      throw new Error(`${(e as Error).message}${logs(ours, theirs)}`);
    } finally {
      await lab.destroy();
    }
  },
);

/** Waits until the virtual IPs left the client's interfaces. */
async function waitGone(lab: Lab, client: LabHost): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const addrs = await lab.ip(client, 'addr', 'show');
    if (!addrs.includes(VIP4) && !addrs.includes(VIP6)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`virtual IPs still on the client:\n${await lab.ip(client, 'addr', 'show')}`);
}

const run = promisify(execFile);
const CLIENTS = 4;

/**
 * One more client host for the gateway of `lab`: its own namespace and a veth link to the gateway on a /30 of
 * 192.0.2.0/24 (192.0.2.(16+4i+1) on the gateway, .(16+4i+2) on the client), with a host route to the
 * gateway's address 192.0.2.2. The namespace is deleted with the lab.
 */
async function addClientHost(lab: Lab, gw: LabHost, i: number): Promise<LabHost> {
  const ns = `${gw.ns}c${i}`;
  const base = 16 + 4 * i;
  const [gwSide, clientSide] = [`192.0.2.${base + 1}`, `192.0.2.${base + 2}`];
  const tag = `${process.pid % 100000}${i}`;
  const [tmpG, tmpC] = [`rwg${tag}`, `rwc${tag}`];
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

test(
  `${CLIENTS} strongSwan clients at once on our gateway, each pinging from its own virtual IP`,
  { skip, timeout: 180_000 },
  async () => {
    const lab = await Lab.create('rwm');
    let ours: TsipsecPeer | undefined;
    const theirs: StrongSwan[] = [];
    try {
      const gw = lab.right;
      ours = await TsipsecPeer.start(lab, gw, gatewayConf(gw));
      const hosts: LabHost[] = [];
      for (let i = 0; i < CLIENTS; i++) hosts.push(await addClientHost(lab, gw, i));
      for (const [i, h] of hosts.entries())
        theirs.push(await StrongSwan.start(lab, h, clientConf(h, gw, `user${i}@lab`)));
      const initiated = await Promise.all(theirs.map((sw) => sw.swanctl('--initiate', '--child', 'net')));
      for (const out of initiated) assert.match(out, /initiate completed successfully/);

      const { ikeSas } = (await ours.call('sas')) as { ikeSas: IkeSaInfo[] };
      assert.equal(ikeSas.length, CLIENTS);
      const byUser = new Map(ikeSas.map((s) => [s.remoteId, s.remoteVips]));
      const v4 = hosts.map((_, i) => byUser.get(`user${i}@lab`)?.[0]);
      const v6 = hosts.map((_, i) => byUser.get(`user${i}@lab`)?.[1]);
      assert.equal(new Set(v4).size, CLIENTS, `one IPv4 address each: ${v4.join(' ')}`);
      assert.equal(new Set(v6).size, CLIENTS, `one IPv6 address each: ${v6.join(' ')}`);
      for (const [i, h] of hosts.entries()) {
        const [a4, a6] = [v4[i], v6[i]];
        assert.ok(a4 !== undefined && a6 !== undefined);
        assert.match(await theirs[i]!.listSas(), new RegExp(a4.replace(/\./g, '\\.')));
        await ping(lab, h, a4, gw.inner4);
        await ping(lab, h, a6, gw.inner6);
      }
      const { pools } = (await ours.call('pools')) as { pools: PoolInfo[] };
      assert.deepEqual(
        pools.map((p) => [p.name, p.online]),
        [
          ['rw4', CLIENTS],
          ['rw6', CLIENTS],
        ],
      );
    } catch (e) {
      const charon = theirs.map((t) => t.log().slice(-1500)).join('\n---\n');
      throw new Error(
        `${(e as Error).message}\n--- tsipsec log ---\n${ours?.log().slice(-5000)}\n--- charon ---\n${charon}`,
      );
    } finally {
      await lab.destroy();
    }
  },
);

test(
  'a full pool of our gateway refuses a second strongSwan client with INTERNAL_ADDRESS_FAILURE',
  { skip, timeout: 90_000 },
  async () => {
    const lab = await Lab.create('rwx');
    let ours: TsipsecPeer | undefined;
    const theirs: StrongSwan[] = [];
    try {
      const gw = lab.right;
      const one = '198.51.100.130';
      ours = await TsipsecPeer.start(lab, gw, gatewayConf(gw, { addrs4: `${one}-${one}`, pools: 'rw4' }));
      const hosts = [lab.left, await addClientHost(lab, gw, 0)];
      for (const [i, h] of hosts.entries())
        theirs.push(await StrongSwan.start(lab, h, clientConf(h, gw, `user${i}@lab`, '0.0.0.0')));
      const [first, second] = theirs;
      assert.ok(first !== undefined && second !== undefined);
      assert.match(await first.swanctl('--initiate', '--child', 'net'), /initiate completed successfully/);
      await ping(lab, lab.left, one, gw.inner4);
      await assert.rejects(second.swanctl('--initiate', '--child', 'net'), /initiate failed/);
      assert.match(second.log(), /N\(INT_ADDR_FAIL\)|INTERNAL_ADDRESS_FAILURE/, 'strongSwan was told why');
      assert.match(ours.log(), /no virtual IP found for peer 'user1@lab' \(IPv4 pool rw4 full\)/);
      const { ikeSas } = (await ours.call('sas')) as { ikeSas: IkeSaInfo[] };
      const up = ikeSas.filter((s) => s.state === 'ESTABLISHED' && s.children.length > 0);
      assert.deepEqual(
        up.map((s) => [s.remoteId, s.remoteVips]),
        [['user0@lab', [one]]],
      );
      assert.equal(ikeSas.flatMap((s) => s.children).length, 1, 'no CHILD_SA for the refused client');
      await ping(lab, lab.left, one, gw.inner4);
    } catch (e) {
      const charon = theirs.map((t) => t.log().slice(-2500)).join('\n---\n');
      throw new Error(
        `${(e as Error).message}\n--- tsipsec log ---\n${ours?.log().slice(-5000)}\n--- charon ---\n${charon}`,
      );
    } finally {
      await lab.destroy();
    }
  },
);
