/**
 * MOBIKE (RFC 4555) in network namespaces: a road-warrior client whose address is replaced mid-session
 * (`ip addr del` the old one, `ip addr add` a new one on the same link, so both reach the gateway) keeps pinging
 * through the tunnel with at most one ping lost, on the same IKE_SA (same SPIs): strongSwan as the client of our
 * gateway, our client against a strongSwan gateway, and our client against our gateway, over IPv4 and IPv6 outer
 * addresses (there the CHILD_SA keeps its SPIs too; strongSwan with kernel-libipsec, which cannot change an SA's
 * addresses, rekeys its CHILD_SA after the move instead). The left host is the client (192.0.2.1 moving to
 * 192.0.2.3, or 2001:db8::1 to 2001:db8::3), the right one the gateway (192.0.2.2 or 2001:db8::2, 203.0.113.1
 * behind it); the client's virtual IP comes from the gateway's pool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../helpers/lab.js';
import type { LabHost } from '../helpers/lab.js';
import { pskGatewayConfig } from '../helpers/swanctl.js';
import { labSkip } from '../helpers/prerequisites.js';
import { StrongSwan } from '../helpers/strongswan.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import type { IkeSaInfo } from '../../src/control/schema.js';

const skip = labSkip('strongswan');

const SECRET = 'mobike-psk-0123456789abcdef';
const POOL4 = '198.51.100.128/25';
const VIP4 = '198.51.100.129';
const MOVED_TO = '192.0.2.3';
const MOVED_TO6 = '2001:db8::3';
const PINGS = 16;
const PING_INTERVAL_SEC = 0.5;

function gatewayConf(gw: LabHost, family: 4 | 6 = 4): string {
  return pskGatewayConfig(gw, POOL4, SECRET, family);
}

/** `localAddrs` undefined: the client picks its source by route lookup (a roaming client's usual setting). */
function clientConf(gw: LabHost, localAddrs: string | undefined, family: 4 | 6 = 4): string {
  return `connections {
  rw {
    ${localAddrs === undefined ? '' : `local_addrs = ${localAddrs}`}
    remote_addrs = ${family === 4 ? gw.outer4 : gw.outer6}
    vips = 0.0.0.0
    encap = yes
    mobike = yes
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = psk
      id = roamer@lab
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

/** Pings the gateway from the virtual IP while the client's address is replaced; returns ping's output. */
async function pingWhileMoving(lab: Lab, client: LabHost, gw: LabHost, family: 4 | 6 = 4): Promise<string> {
  const args = ['-c', String(PINGS), '-i', String(PING_INTERVAL_SEC), '-W', '2', '-I', VIP4, gw.inner4];
  const pinging = lab.exec(client, 'ping', args, 60_000).catch((e: Error) => e.message);
  await new Promise((r) => setTimeout(r, (PINGS / 3) * PING_INTERVAL_SEC * 1000));
  if (family === 4) {
    await lab.ip(client, 'addr', 'del', `${client.outer4}/24`, 'dev', client.dev);
    await lab.ip(client, 'addr', 'add', `${MOVED_TO}/24`, 'dev', client.dev);
  } else {
    await lab.ip(client, '-6', 'addr', 'del', `${client.outer6}/64`, 'dev', client.dev);
    await lab.ip(client, '-6', 'addr', 'add', `${MOVED_TO6}/64`, 'dev', client.dev, 'nodad');
  }
  return pinging;
}

function received(out: string): number {
  const m = /(\d+) received/.exec(out);
  return m === null ? 0 : Number(m[1]);
}

interface Snapshot {
  readonly spis: string;
  readonly remote: string;
  readonly local: string;
  readonly childSpis: string;
}

async function ourSa(peer: TsipsecPeer): Promise<Snapshot> {
  const { ikeSas } = (await peer.call('sas')) as { ikeSas: IkeSaInfo[] };
  assert.equal(ikeSas.length, 1, `one IKE_SA: ${JSON.stringify(ikeSas)}`);
  const s = ikeSas[0]!;
  const c = s.children[0];
  assert.ok(c, 'a CHILD_SA');
  return {
    spis: `${s.spiI}_${s.spiR}`,
    local: s.localAddr,
    remote: s.remoteAddr,
    childSpis: `${c.spiIn}_${c.spiOut}`,
  };
}

function logs(ours: TsipsecPeer[], theirs: StrongSwan | undefined): string {
  const our = ours.map((o) => `\n--- tsipsec ${o.logFile} ---\n${o.log().slice(-6000)}`).join('');
  return `${our}\n--- charon log ---\n${theirs?.log().slice(-6000) ?? ''}`;
}

test(
  'strongSwan client of our gateway moves to a new address: UPDATE_SA_ADDRESSES, same IKE_SA, pings go on',
  { skip, timeout: 90_000 },
  async () => {
    const lab = await Lab.create('mbg');
    let ours: TsipsecPeer | undefined;
    let theirs: StrongSwan | undefined;
    try {
      const { left: client, right: gw } = lab;
      ours = await TsipsecPeer.start(lab, gw, gatewayConf(gw));
      theirs = await StrongSwan.start(lab, client, clientConf(gw, undefined));
      assert.match(await theirs.swanctl('--initiate', '--child', 'net'), /initiate completed successfully/);
      const before = await ourSa(ours);
      assert.equal(before.remote, client.outer4);
      const out = await pingWhileMoving(lab, client, gw);
      assert.ok(received(out) >= PINGS - 1, `at most one ping lost:\n${out}`);
      // strongSwan's kernel-libipsec cannot change an SA's addresses: charon rekeys its CHILD_SA after the move
      // (the new one at the new address); the IKE_SA is the same.
      const after = await ourSa(ours);
      assert.deepEqual(after, { ...before, remote: MOVED_TO, childSpis: after.childSpis }, 'same IKE_SA, new address');
      assert.match(ours.log(), /peer updated its addresses: IKE_SA now 192\.0\.2\.2\[4500\]\.\.\.192\.0\.2\.3\[4500\]/);
      assert.match(theirs.log(), /MOBIKE/);
      assert.equal((ours.log().match(/IKE_SA rw\[\d+\] established between 192/g) ?? []).length, 1, 'no new IKE_SA');
    } catch (e) {
      throw new Error(`${(e as Error).message}${logs(ours ? [ours] : [], theirs)}`);
    } finally {
      await lab.destroy();
    }
  },
);

test(
  'our client of a strongSwan gateway moves to a new address: the address event, UPDATE_SA_ADDRESSES, pings go on',
  { skip, timeout: 90_000 },
  async () => {
    const lab = await Lab.create('mbc');
    let ours: TsipsecPeer | undefined;
    let theirs: StrongSwan | undefined;
    try {
      const { left: client, right: gw } = lab;
      theirs = await StrongSwan.start(lab, gw, gatewayConf(gw));
      // No local_addrs: the daemon initiates from the source its route lookup gives.
      ours = await TsipsecPeer.start(lab, client, clientConf(gw, undefined));
      await ours.call('up', { name: 'rw', timeoutSec: 20 });
      const before = await ourSa(ours);
      const out = await pingWhileMoving(lab, client, gw);
      assert.ok(received(out) >= PINGS - 1, `at most one ping lost:\n${out}`);
      const after = await ourSa(ours);
      assert.deepEqual(after, { ...before, local: MOVED_TO, childSpis: after.childSpis }, 'same IKE_SA, new address');
      assert.match(ours.log(), /local address changed to 192\.0\.2\.3: updating the peer/);
      const sw = await theirs.listSas();
      assert.match(sw, /192\.0\.2\.3\[4500\]/, sw);
      assert.equal((sw.match(/ESTABLISHED/g) ?? []).length, 1, `one IKE_SA on the gateway:\n${sw}`);
    } catch (e) {
      throw new Error(`${(e as Error).message}${logs(ours ? [ours] : [], theirs)}`);
    } finally {
      await lab.destroy();
    }
  },
);

test(
  'our client of our gateway moves to a new address: pings go on, same SAs on both',
  { skip, timeout: 90_000 },
  async () => {
    const lab = await Lab.create('mbp');
    const ours: TsipsecPeer[] = [];
    try {
      const { left: client, right: gw } = lab;
      const gateway = await TsipsecPeer.start(lab, gw, gatewayConf(gw));
      const roamer = await TsipsecPeer.start(lab, client, clientConf(gw, client.outer4));
      ours.push(gateway, roamer);
      await roamer.call('up', { name: 'rw', timeoutSec: 20 });
      const [gwBefore, clBefore] = [await ourSa(gateway), await ourSa(roamer)];
      const out = await pingWhileMoving(lab, client, gw);
      assert.ok(received(out) >= PINGS - 1, `at most one ping lost:\n${out}`);
      assert.deepEqual(await ourSa(gateway), { ...gwBefore, remote: MOVED_TO });
      assert.deepEqual(await ourSa(roamer), { ...clBefore, local: MOVED_TO });
    } catch (e) {
      throw new Error(`${(e as Error).message}${logs(ours, undefined)}`);
    } finally {
      await lab.destroy();
    }
  },
);

test(
  'IPv6 outer addresses: our client of our gateway moves from 2001:db8::1 to 2001:db8::3, pings go on',
  { skip, timeout: 90_000 },
  async () => {
    const lab = await Lab.create('mb6');
    const ours: TsipsecPeer[] = [];
    try {
      const { left: client, right: gw } = lab;
      const gateway = await TsipsecPeer.start(lab, gw, gatewayConf(gw, 6));
      const roamer = await TsipsecPeer.start(lab, client, clientConf(gw, undefined, 6));
      ours.push(gateway, roamer);
      await roamer.call('up', { name: 'rw', timeoutSec: 20 });
      const [gwBefore, clBefore] = [await ourSa(gateway), await ourSa(roamer)];
      assert.equal(clBefore.local, client.outer6);
      const out = await pingWhileMoving(lab, client, gw, 6);
      assert.ok(received(out) >= PINGS - 1, `at most one ping lost:\n${out}`);
      assert.deepEqual(await ourSa(gateway), { ...gwBefore, remote: MOVED_TO6 });
      assert.deepEqual(await ourSa(roamer), { ...clBefore, local: MOVED_TO6 });
    } catch (e) {
      throw new Error(`${(e as Error).message}${logs(ours, undefined)}`);
    } finally {
      await lab.destroy();
    }
  },
);
