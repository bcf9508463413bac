/**
 * Rekeying against strongSwan 5.9 in network namespaces (skipped without root or strongSwan): charon
 * rekeys the CHILD_SA and the IKE_SA (we answer), then our short CHILD_SA rekey_time makes us rekey it
 * (charon answers). Traffic flows after each step, and both sides agree on the SPIs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, waitFor } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import type { LabHost } from '../helpers/lab.js';
import { StrongSwan } from '../helpers/strongswan.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import type { IkeSaInfo } from '../../src/control/schema.js';

const skip = labSkip('strongswan');

function conf(me: LabHost, peer: LabHost, meId: string, peerId: string, childRekey: string, ikeRekey = ''): string {
  return `connections {
  lab {
    version = 2
    ${ikeRekey}
    local_addrs = ${me.outer4}
    remote_addrs = ${peer.outer4}
    encap = yes
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = psk
      id = ${meId}
    }
    remote {
      auth = psk
      id = ${peerId}
    }
    children {
      net {
        local_ts = ${me.inner4}/32
        remote_ts = ${peer.inner4}/32
        esp_proposals = aes128gcm16-x25519
        ${childRekey}
      }
    }
  }
}
secrets {
  ike-lab {
    secret = "rekey-psk-0123456789abcdef"
  }
}
`;
}

async function ping(lab: Lab, from: LabHost, to: LabHost): Promise<void> {
  const out = await lab.exec(from, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '-I', from.inner4, to.inner4]);
  assert.match(out, /2 received/, out);
}

async function ourSas(p: TsipsecPeer): Promise<IkeSaInfo[]> {
  return ((await p.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas;
}

test(
  'strongSwan rekeys CHILD_SA and IKE_SA, then we rekey the CHILD_SA (with PFS)',
  { skip, timeout: 120_000 },
  async () => {
    const lab = await Lab.create('rk');
    let ours: TsipsecPeer | undefined;
    let theirs: StrongSwan | undefined;
    try {
      const { left, right } = lab;
      ours = await TsipsecPeer.start(lab, left, conf(left, right, 'left.lab', 'right.lab', 'rekey_time = 10s'));
      theirs = await StrongSwan.start(lab, right, conf(right, left, 'right.lab', 'left.lab', 'rekey_time = 0'));
      await ours.call('up', { name: 'net', timeoutSec: 20 });
      await ping(lab, left, right);
      const before = (await ourSas(ours))[0];
      const child0 = before?.children[0];
      assert.ok(before && child0);

      // charon: CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, KEi, TSi, TSr } --> us
      assert.match(await theirs.swanctl('--rekey', '--child', 'net'), /rekey completed successfully/);
      const peer = ours;
      await waitFor('the old CHILD_SA to go', async () => {
        const c = (await ourSas(peer))[0]?.children ?? [];
        return c.length === 1 && c[0]?.spiIn !== child0.spiIn;
      });
      await ping(lab, left, right);
      const child1 = (await ourSas(ours))[0]?.children[0];
      assert.ok(child1);
      const sw1 = await theirs.listSas();
      assert.ok(sw1.includes(child1.spiIn) && sw1.includes(child1.spiOut), sw1);

      // charon: CREATE_CHILD_SA { SA(IKE), Ni, KEi } --> us, then INFORMATIONAL { D(IKE) } on the old one
      assert.match(await theirs.swanctl('--rekey', '--ike', 'lab'), /rekey completed successfully/);
      await waitFor('the IKE_SA to be replaced', async () => {
        const s = await ourSas(peer);
        return s.length === 1 && s[0]?.spiI !== before.spiI && s[0]?.state === 'ESTABLISHED';
      });
      await ping(lab, right, left);
      const after = (await ourSas(ours))[0];
      // Our daemon files CHILD_SAs under their IKE_SA id; charon's view is checked instead.
      const sw2 = await theirs.listSas();
      assert.ok(after && sw2.includes(after.spiI) && sw2.includes(after.spiR), sw2);
      assert.ok(sw2.includes(child1.spiIn) && sw2.includes(child1.spiOut), 'the CHILD_SA survived the IKE rekey');

      // Our rekey_time (10 s, minus up to 1 s of jitter) runs out:
      // us: CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, KEi, TSi, TSr } --> charon, then D(ESP, old)
      await waitFor(
        'our own CHILD_SA rekey',
        async () => {
          const c = (await ourSas(peer))[0]?.children ?? [];
          return c.length === 1 && c[0]?.spiIn !== child1.spiIn;
        },
        20_000,
      );
      await ping(lab, left, right);
      const child2 = (await ourSas(ours))[0]?.children[0];
      const sw3 = await theirs.listSas();
      assert.ok(child2 && sw3.includes(child2.spiIn) && sw3.includes(child2.spiOut), sw3);
      const sw = theirs;
      await waitFor('charon to delete the old CHILD_SA too', async () => !(await sw.listSas()).includes(child1.spiIn));
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- tsipsec log ---\n${ours?.log().slice(-4000)}\n--- charon log ---\n${theirs?.log().slice(-4000)}`,
      );
    } finally {
      await lab.destroy();
    }
  },
);

test(
  'we rekey the IKE_SA (rekey_time) against strongSwan; the CHILD_SA carries on; charon deletes it all',
  { skip, timeout: 60_000 },
  async () => {
    const lab = await Lab.create('rki');
    let ours: TsipsecPeer | undefined;
    let theirs: StrongSwan | undefined;
    try {
      const { left, right } = lab;
      ours = await TsipsecPeer.start(
        lab,
        left,
        conf(left, right, 'left.lab', 'right.lab', 'rekey_time = 0', 'rekey_time = 4s'),
      );
      theirs = await StrongSwan.start(lab, right, conf(right, left, 'right.lab', 'left.lab', 'rekey_time = 0'));
      await ours.call('up', { name: 'net', timeoutSec: 20 });
      await ping(lab, left, right);
      const before = (await ourSas(ours))[0];
      const child = before?.children[0];
      assert.ok(before && child);
      // us: CREATE_CHILD_SA { SA(IKE), Ni, KEi } --> charon;  <-- { SA, Nr, KEr };  D(IKE) on the old IKE_SA
      const peer = ours;
      await waitFor(
        'our IKE_SA rekey',
        async () => {
          const s = await ourSas(peer);
          return s.length === 1 && s[0]?.spiI !== before.spiI && s[0]?.state === 'ESTABLISHED';
        },
        15_000,
      );
      await ping(lab, left, right);
      const after = (await ourSas(ours))[0];
      const sw = theirs;
      await waitFor('charon to drop the old IKE_SA', async () => !(await sw.listSas()).includes(before.spiI));
      const list = await theirs.listSas();
      assert.ok(after && list.includes(after.spiI) && list.includes(after.spiR), list);
      assert.ok(list.includes(child.spiIn) && list.includes(child.spiOut), 'the CHILD_SA survived the IKE rekey');

      // charon: INFORMATIONAL { D(IKE) } --> us: everything goes on our side too.
      assert.match(await theirs.swanctl('--terminate', '--ike', 'lab'), /terminate completed successfully/);
      await waitFor('our side to drop the IKE_SA', async () => (await ourSas(peer)).length === 0);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- tsipsec log ---\n${ours?.log().slice(-4000)}\n--- charon log ---\n${theirs?.log().slice(-4000)}`,
      );
    } finally {
      await lab.destroy();
    }
  },
);
