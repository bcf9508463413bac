/**
 * Two connections told apart by address (issue: "each connection only its own peers"): a project gateway
 * with siteA (remote_addrs 192.0.2.2) and siteB (remote_addrs 192.0.2.3), both with remote.id at its default
 * %any, and strongSwan initiating from both addresses with the same broad selectors. The peer at .3 must get
 * siteB and siteB's selectors, the peer at .2 siteA's, and each pings through its own CHILD_SA.
 *
 *   left  gateway, tsipsec   192.0.2.1, inner 198.51.100.1
 *   right strongSwan         192.0.2.2 and 192.0.2.3, inner 203.0.113.1 (siteA's) and 203.0.113.2 (siteB's)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import { StrongSwan } from '../helpers/strongswan.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import type { IkeSaInfo } from '../../src/control/schema.js';

const skip = labSkip('strongswan');

const SECRET = 'lab-psk-0123456789abcdef';
const PEER_B_ADDR = '192.0.2.3';
const PEER_B_INNER = '203.0.113.2';

/** The gateway: siteA listed first, so the first match by proposal or identity alone would be siteA. */
function gatewayConf(): string {
  const site = (name: string, remote: string, inner: string) => `  ${name} {
    local_addrs = 192.0.2.1
    remote_addrs = ${remote}
    encap = yes
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = psk
      id = left.lab
    }
    remote {
      auth = psk
    }
    children {
      net {
        local_ts = 198.51.100.1/32
        remote_ts = ${inner}/32
        esp_proposals = aes128gcm16
      }
    }
  }
`;
  return (
    `connections {\n${site('siteA', '192.0.2.2', '203.0.113.1')}${site('siteB', PEER_B_ADDR, PEER_B_INNER)}}\n` +
    `secrets {\n  ike-any {\n    secret = "${SECRET}"\n  }\n}\n`
  );
}

/** strongSwan: one connection from each of its addresses, each proposing the whole 203.0.113.0/24. */
function peerConf(): string {
  const conn = (name: string, local: string) => `  ${name} {
    version = 2
    local_addrs = ${local}
    remote_addrs = 192.0.2.1
    encap = yes
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = psk
      id = ${name}.right.lab
    }
    remote {
      auth = psk
      id = left.lab
    }
    children {
      ${name}-net {
        local_ts = 203.0.113.0/24
        remote_ts = 198.51.100.1/32
        esp_proposals = aes128gcm16
      }
    }
  }
`;
  return (
    `connections {\n${conn('a', '192.0.2.2')}${conn('b', PEER_B_ADDR)}}\n` +
    `secrets {\n  ike-lab {\n    secret = "${SECRET}"\n  }\n}\n`
  );
}

test(
  'two connections told apart by remote_addrs: the strongSwan peer at .3 gets siteB, the one at .2 siteA',
  { skip, timeout: 120_000 },
  async () => {
    const lab = await Lab.create('csel');
    let ours: TsipsecPeer | undefined;
    let theirs: StrongSwan | undefined;
    try {
      const { left, right } = lab;
      await lab.ip(right, 'addr', 'add', `${PEER_B_ADDR}/24`, 'dev', right.dev);
      await lab.ip(right, 'addr', 'add', `${PEER_B_INNER}/32`, 'dev', 'lo');
      ours = await TsipsecPeer.start(lab, left, gatewayConf());
      theirs = await StrongSwan.start(lab, right, peerConf());
      // The peer at .3 first: before the fix it was given siteA.
      assert.match(await theirs.swanctl('--initiate', '--child', 'b-net'), /initiate completed successfully/);
      assert.match(await theirs.swanctl('--initiate', '--child', 'a-net'), /initiate completed successfully/);
      const { ikeSas } = (await ours.call('sas')) as { ikeSas: IkeSaInfo[] };
      const byPeer = new Map(ikeSas.map((s) => [s.remoteAddr, s]));
      const b = byPeer.get(PEER_B_ADDR);
      const a = byPeer.get('192.0.2.2');
      assert.equal(b?.name, 'siteB');
      assert.deepEqual(b?.children[0]?.remoteTs, [`${PEER_B_INNER}/32`]);
      assert.equal(a?.name, 'siteA');
      assert.deepEqual(a?.children[0]?.remoteTs, ['203.0.113.1/32']);
      for (const [from, sa] of [
        [PEER_B_INNER, b],
        ['203.0.113.1', a],
      ] as const) {
        const out = await lab.exec(right, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '-I', from, left.inner4]);
        assert.match(out, /3 received/, out);
        const { ikeSas: now } = (await ours.call('sas')) as { ikeSas: IkeSaInfo[] };
        const child = now.find((s) => s.uniqueId === sa?.uniqueId)?.children[0];
        assert.equal(child?.in.packets, 3, `${from}: the echo requests came in on ${sa?.name}'s CHILD_SA`);
        assert.equal(child?.out.packets, 3, `${from}: the replies went out on ${sa?.name}'s CHILD_SA`);
      }
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- tsipsec log ---\n${ours?.log().slice(-4000)}\n--- charon log ---\n${theirs?.log().slice(-4000)}`,
      );
    } finally {
      await lab.destroy();
    }
  },
);
