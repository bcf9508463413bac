/**
 * NAT traversal beyond the first connection (RFC 3948, RFC 7296 2.23), through a router namespace that
 * masquerades a LAN of two initiators behind one address:
 *
 *   client1 (192.0.2.1, inner 198.51.100.1) --+
 *                                             br0 router (192.0.2.254 | 203.0.113.126, masquerade) -- gateway (203.0.113.2, inner 203.0.113.200)
 *   client2 (192.0.2.3, inner 198.51.100.2) --+
 *
 * 1. Both clients up at once behind the one address: each gets its own IKE_SA (same address, two ports) and
 *    its CHILD_SA carries only its own traffic.
 * 2. The NAT changes its mind: conntrack flushed and the masquerade moved to ports 20000-20099; the next
 *    packets arrive from a new port and the gateway follows (its ESP and IKE go to the new port).
 * 3. The router's UDP mappings expire after 30 s (nf_conntrack_udp_timeout and _stream, per network
 *    namespace). client1 sends NAT-keepalives every 10 s (`keep_alive = 10s` in its strongswan.conf), client2
 *    none (`keep_alive = 0`). After 45 s of silence the gateway's ping reaches client1; client2's mapping is gone
 *    and the gateway's ping to it is lost, which shows the NAT really forgets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { Lab } from '../helpers/lab.js';
import type { LabHost } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import { pskConfig } from '../helpers/swanctl.js';
import type { IkeSaInfo } from '../../src/control/schema.js';

const sh = promisify(execFile);
const skip = labSkip('nft', 'conntrack');

const UDP_TIMEOUT_SEC = 30;
const IDLE_SEC = 45;
const SECRET = 'nat-more-psk-0123456789';

async function ipIn(ns: string, ...args: string[]): Promise<void> {
  await sh('ip', ['-n', ns, ...args]);
}

async function inNs(ns: string, cmd: string, ...args: string[]): Promise<string> {
  return (await sh('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: 30_000 })).stdout;
}

async function sas(p: TsipsecPeer): Promise<IkeSaInfo[]> {
  return ((await p.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas;
}

async function pingOut(lab: Lab, from: LabHost, to: string, count: number): Promise<string> {
  try {
    return await lab.exec(from, 'ping', ['-c', String(count), '-i', '0.2', '-W', '2', '-I', from.inner4, to]);
  } catch (e) {
    return (e as Error).message;
  }
}

function received(out: string): number {
  return Number(/(\d+) received/.exec(out)?.[1] ?? 0);
}

function gatewayConf(gw: LabHost, clients: { id: string; inner4: string }[]): string {
  const conns = clients
    .map(
      (c, i) => `  c${i + 1} {
    local_addrs = ${gw.outer4}
    remote_addrs = %any
    local {
      auth = psk
      id = gw.nat
    }
    remote {
      auth = psk
      id = ${c.id}
    }
    children {
      net {
        local_ts = ${gw.inner4}/32
        remote_ts = ${c.inner4}/32
      }
    }
  }
`,
    )
    .join('');
  return `connections {\n${conns}}\nsecrets {\n  ike-lab {\n    secret = "${SECRET}"\n  }\n}\n`;
}

test(
  'two initiators behind one NAT, a NAT mapping that changes port, and an idle tunnel kept open by NAT-keepalives through 30 s UDP mappings',
  { skip, timeout: 180_000 },
  async (t) => {
    const lab = await Lab.create('nat2');
    const base = lab.left.ns.replace(/-l$/, '');
    const router = `${base}-nat`;
    const c2ns = `${base}-c2`;
    const tag = String(process.pid % 100000);
    const peers: [string, TsipsecPeer | undefined][] = [];
    try {
      for (const ns of [router, c2ns]) {
        await sh('ip', ['netns', 'add', ns]);
        lab.onDestroy(async () => {
          const pids = (await sh('ip', ['netns', 'pids', ns])).stdout.split(/\s+/).filter(Boolean);
          for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
          await sh('ip', ['netns', 'del', ns]);
        });
      }
      // Re-plumb the lab: both clients on a bridge in the router, the gateway behind its other side.
      const { left, right } = lab;
      await ipIn(left.ns, 'link', 'del', left.dev);
      const hosts: [string, string, string][] = [
        [left.ns, `n1${tag}`, 'p1'],
        [c2ns, `n2${tag}`, 'p2'],
        [right.ns, `n3${tag}`, 'out0'],
      ];
      for (const [ns, dev, routerDev] of hosts) {
        await sh('ip', ['link', 'add', dev, 'type', 'veth', 'peer', 'name', `r${dev}`]);
        await sh('ip', ['link', 'set', dev, 'netns', ns, 'name', 'wan0']);
        await sh('ip', ['link', 'set', `r${dev}`, 'netns', router, 'name', routerDev]);
        await ipIn(ns, 'link', 'set', 'wan0', 'up');
        await ipIn(router, 'link', 'set', routerDev, 'up');
      }
      await ipIn(router, 'link', 'set', 'lo', 'up');
      await ipIn(router, 'link', 'add', 'br0', 'type', 'bridge');
      for (const p of ['p1', 'p2']) await ipIn(router, 'link', 'set', p, 'master', 'br0');
      await ipIn(router, 'link', 'set', 'br0', 'up');
      await ipIn(router, 'addr', 'add', '192.0.2.254/24', 'dev', 'br0');
      await ipIn(router, 'addr', 'add', '203.0.113.126/25', 'dev', 'out0');
      await inNs(router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
      const c1: LabHost = { ...left, outer4: '192.0.2.1', dev: 'wan0' };
      const c2: LabHost = { ...left, ns: c2ns, outer4: '192.0.2.3', inner4: '198.51.100.2', dev: 'wan0' };
      for (const c of [c1, c2]) {
        await ipIn(c.ns, 'link', 'set', 'lo', 'up');
        await ipIn(c.ns, 'addr', 'add', `${c.outer4}/24`, 'dev', 'wan0');
        await ipIn(c.ns, 'route', 'add', 'default', 'via', '192.0.2.254');
      }
      await ipIn(c2ns, 'addr', 'add', `${c2.inner4}/32`, 'dev', 'lo');
      const gw: LabHost = { ...right, outer4: '203.0.113.2', inner4: '203.0.113.200', dev: 'wan0' };
      await ipIn(right.ns, 'addr', 'del', `${right.inner4}/32`, 'dev', 'lo');
      await ipIn(right.ns, 'addr', 'add', `${gw.inner4}/32`, 'dev', 'lo');
      await ipIn(right.ns, 'addr', 'add', '203.0.113.2/25', 'dev', 'wan0');
      const nat = (rule: string) => {
        const file = path.join(lab.dir, 'nat.nft');
        fs.writeFileSync(
          file,
          `table ip nat\ndelete table ip nat\ntable ip nat {\n chain post {\n  type nat hook postrouting priority 100;\n  ${rule}\n }\n}\n`,
        );
        return inNs(router, 'nft', '-f', file);
      };
      await nat('oifname "out0" masquerade');

      // UDP mappings that expire after 30 s, in the router's namespace only.
      const host = fs.readFileSync('/proc/sys/net/netfilter/nf_conntrack_udp_timeout', 'utf8').trim();
      for (const k of ['nf_conntrack_udp_timeout', 'nf_conntrack_udp_timeout_stream'])
        await inNs(router, 'sysctl', '-qw', `net.netfilter.${k}=${UDP_TIMEOUT_SEC}`);
      const set = await inNs(router, 'sysctl', '-n', 'net.netfilter.nf_conntrack_udp_timeout_stream');
      assert.equal(set.trim(), String(UDP_TIMEOUT_SEC));
      assert.equal(
        fs.readFileSync('/proc/sys/net/netfilter/nf_conntrack_udp_timeout', 'utf8').trim(),
        host,
        'the conntrack UDP timeouts are per network namespace: the host keeps its own',
      );

      const gateway = await TsipsecPeer.start(
        lab,
        right,
        gatewayConf(gw, [
          { id: 'client1.nat', inner4: c1.inner4 },
          { id: 'client2.nat', inner4: c2.inner4 },
        ]),
      );
      peers.push(['gateway', gateway]);
      const clients: TsipsecPeer[] = [];
      for (const [i, c] of [c1, c2].entries()) {
        const swan = path.join(lab.dir, `client${i + 1}-strongswan.conf`);
        fs.writeFileSync(swan, `charon {\n  keep_alive = ${i === 0 ? '10s' : '0'}\n}\n`);
        const conf = pskConfig({ me: c, peer: gw, meId: `client${i + 1}.nat`, peerId: 'gw.nat', secret: SECRET });
        const p = await TsipsecPeer.start(lab, c, conf, 2, ['--strongswan-conf', swan]);
        peers.push([`client${i + 1}`, p]);
        clients.push(p);
      }
      const [p1] = clients as [TsipsecPeer, TsipsecPeer];
      assert.match(p1.log(), /keep_alive 10 s/);
      await Promise.all(clients.map((p) => p.call('up', { name: 'net', timeoutSec: 20 })));

      // 1. Two initiators at once: two IKE_SAs from one address, each CHILD_SA with its own traffic only.
      assert.equal(received(await pingOut(lab, c1, gw.inner4, 4)), 4);
      assert.equal(received(await pingOut(lab, c2, gw.inner4, 2)), 2);
      assert.equal(received(await pingOut(lab, gw, c1.inner4, 3)), 3);
      assert.equal(received(await pingOut(lab, gw, c2.inner4, 1)), 1);
      const both = await sas(gateway);
      const byName = (n: string) => both.find((s) => s.name === n);
      const [g1, g2] = [byName('c1'), byName('c2')];
      assert.ok(g1 && g2, JSON.stringify(both));
      assert.equal(g1.remoteAddr, '203.0.113.126');
      assert.equal(g2.remoteAddr, '203.0.113.126');
      assert.notEqual(g1.remotePort, g2.remotePort, 'two mappings of one NAT address');
      assert.equal(g1.remoteId, 'client1.nat');
      assert.deepEqual([g1.children[0]?.in.packets, g1.children[0]?.out.packets], [4 + 3, 4 + 3]);
      assert.deepEqual([g2.children[0]?.in.packets, g2.children[0]?.out.packets], [2 + 1, 2 + 1]);
      t.diagnostic(`two clients behind 203.0.113.126, ports ${g1.remotePort} and ${g2.remotePort}`);

      // 2. The mapping changes port: conntrack forgets, new mappings come from 20000-20099.
      await nat('oifname "out0" meta l4proto udp masquerade to :20000-20099\n  oifname "out0" masquerade');
      await inNs(router, 'conntrack', '-F');
      assert.equal(received(await pingOut(lab, c1, gw.inner4, 3)), 3, 'replies follow the new mapping');
      const moved = (await sas(gateway)).find((s) => s.name === 'c1');
      assert.ok(moved && moved.remotePort >= 20000 && moved.remotePort <= 20099, JSON.stringify(moved));
      assert.equal(received(await pingOut(lab, gw, c1.inner4, 2)), 2, 'and so does traffic the gateway starts');
      assert.equal(received(await pingOut(lab, c2, gw.inner4, 1)), 1);
      t.diagnostic(`client1's mapping moved from port ${g1.remotePort} to ${moved.remotePort}; the gateway followed`);

      // 3. Silence for 45 s across a NAT that forgets UDP mappings after 30 s.
      const idleFrom = Date.now();
      await new Promise((r) => setTimeout(r, IDLE_SEC * 1000));
      const table = await inNs(router, 'conntrack', '-L', '-p', 'udp');
      const kept = received(await pingOut(lab, gw, c1.inner4, 2));
      const lost = received(await pingOut(lab, gw, c2.inner4, 1));
      t.diagnostic(
        `after ${((Date.now() - idleFrom) / 1000).toFixed(0)} s idle: gateway -> client1 (keepalives every 10 s) ${kept}/2, gateway -> client2 (no keepalives) ${lost}/1`,
      );
      assert.equal(kept, 2, `client1's mapping was kept alive by its keepalives:\n${table}`);
      assert.equal(lost, 0, `without keepalives the NAT forgot client2 (so the timeout is real):\n${table}`);
      assert.match(table, /src=192\.0\.2\.1 dst=203\.0\.113\.2 sport=4500 dport=4500/, table);
      assert.doesNotMatch(table, /src=192\.0\.2\.3 dst=203\.0\.113\.2 sport=4500/, table);
    } catch (e) {
      const logs = peers.map(([n, p]) => `--- ${n} ---\n${(p?.log() ?? '').slice(-4000)}`).join('\n');
      throw new Error(`${(e as Error).message}\n${logs}`);
    } finally {
      await lab.destroy();
    }
  },
);
