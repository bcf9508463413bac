/**
 * Issue 10 item 1 in namespaces: a project gateway with one connection and two strongSwan peers on it, each
 * with its own subnet, pinging and pinged at the same time. Each CHILD_SA must have its own reqid, policy and
 * route, so every packet for one peer is sealed with that peer's SA and goes to that peer.
 *
 *   left   gateway, tsipsec   192.0.2.1 (veth0), 192.0.2.129 (veth1); inner 198.51.100.1
 *   right  strongSwan         192.0.2.2,   subnet 203.0.113.0/26  (inner 203.0.113.1)
 *   third  strongSwan         192.0.2.130, subnet 203.0.113.64/26 (inner 203.0.113.65)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LEFT_TO_THIRD, Lab } from '../helpers/lab.js';
import type { LabHost } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import { StrongSwan } from '../helpers/strongswan.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import type { ChildSaInfo, IkeSaInfo } from '../../src/control/schema.js';

const skip = labSkip('strongswan', 'nft');
const SECRET = 'road-warriors-psk-0123456789';
const PINGS = 4;

const gatewayConf = `connections {
  rw {
    local_addrs = 192.0.2.1, ${LEFT_TO_THIRD.outer4}
    remote_addrs = 192.0.2.0/24
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
        local_ts = 198.51.100.1/32
        remote_ts = 203.0.113.0/24
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

function peerConf(me: LabHost, gateway: string, subnet: string): string {
  return `connections {
  gw {
    version = 2
    local_addrs = ${me.outer4}
    remote_addrs = ${gateway}
    encap = yes
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = psk
      id = ${me.ns}.lab
    }
    remote {
      auth = psk
      id = gw.lab
    }
    children {
      net {
        local_ts = ${subnet}
        remote_ts = 198.51.100.1/32
        esp_proposals = aes128gcm16
      }
    }
  }
}
secrets {
  ike-gw {
    secret = "${SECRET}"
  }
}
`;
}

test(
  'one gateway connection, two strongSwan peers with their own subnets: each gets its own traffic',
  { skip, timeout: 90_000 },
  async () => {
    const lab = await Lab.create('rw', { third: true });
    try {
      const { left, right } = lab;
      const third = lab.third;
      assert.ok(third);
      const gw = await TsipsecPeer.start(lab, left, gatewayConf);
      const a = await StrongSwan.start(lab, right, peerConf(right, left.outer4, '203.0.113.0/26'));
      const b = await StrongSwan.start(lab, third, peerConf(third, LEFT_TO_THIRD.outer4, '203.0.113.64/26'));
      await Promise.all([a.swanctl('--initiate', '--child', 'net'), b.swanctl('--initiate', '--child', 'net')]);

      const children = async (): Promise<ChildSaInfo[]> =>
        ((await gw.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas.flatMap((s) => s.children);
      const up = await children();
      assert.equal(up.length, 2, `two CHILD_SAs on the one connection:\n${gw.log()}`);
      const forA = up.find((c) => c.remoteTs.includes('203.0.113.0/26'));
      const forB = up.find((c) => c.remoteTs.includes('203.0.113.64/26'));
      assert.ok(forA && forB, `each narrowed to its peer's subnet: ${JSON.stringify(up.map((c) => c.remoteTs))}`);
      assert.notEqual(forA.reqid, forB.reqid);
      const routes = await lab.ip(left, 'route', 'show', 'table', '220');
      assert.match(routes, /203\.0\.113\.0\/26 dev tsi\d/);
      assert.match(routes, /203\.0\.113\.64\/26 dev tsi\d/);

      // All four pings at once: the gateway to both peers, both peers to the gateway.
      const ping = (h: LabHost, from: string, to: string) =>
        lab.exec(h, 'ping', ['-c', String(PINGS), '-i', '0.2', '-W', '3', '-I', from, to]);
      const results = await Promise.all([
        ping(left, left.inner4, right.inner4),
        ping(left, left.inner4, third.inner4),
        ping(right, right.inner4, left.inner4),
        ping(third, third.inner4, left.inner4),
      ]);
      for (const r of results) assert.match(r, new RegExp(`${PINGS} received`), r);

      const after = await children();
      const a2 = after.find((c) => c.uniqueId === forA.uniqueId);
      const b2 = after.find((c) => c.uniqueId === forB.uniqueId);
      assert.ok(a2 && b2);
      // Each direction of each CHILD_SA carried exactly its peer's echoes: requests one way, replies the other.
      assert.equal(a2.out.packets, 2 * PINGS, `A's SA: ${JSON.stringify(a2)}`);
      assert.equal(a2.in.packets, 2 * PINGS);
      assert.equal(b2.out.packets, 2 * PINGS, `B's SA: ${JSON.stringify(b2)}`);
      assert.equal(b2.in.packets, 2 * PINGS);
      // And each peer saw its own SA's SPIs: strongSwan's inbound SPI is the gateway's outbound one.
      const sasA = await a.listSas();
      const sasB = await b.listSas();
      assert.match(sasA, new RegExp(`in\\s+${forA.spiOut},`), sasA);
      assert.match(sasB, new RegExp(`in\\s+${forB.spiOut},`), sasB);
      assert.doesNotMatch(sasA, new RegExp(forB.spiOut));
      assert.doesNotMatch(sasB, new RegExp(forA.spiOut));
    } finally {
      await lab.destroy();
    }
  },
);
