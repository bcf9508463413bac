/**
 * The project against strongSwan 5.9 (charon with kernel-libipsec, ESP in UDP): IKEv2 with PSK, the
 * project as initiator and as responder, for the proposals operators use most. Each case pings through
 * the tunnel and checks the SA counters on our side agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import type { LabHost } from '../helpers/lab.js';
import { StrongSwan } from '../helpers/strongswan.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import { pskConfig } from '../helpers/swanctl.js';
import type { IkeSaInfo } from '../../src/control/schema.js';

const skip = labSkip('strongswan');

interface Case {
  ike: string;
  esp: string;
}

const CASES: Case[] = [
  { ike: 'aes128gcm16-prfsha256-x25519', esp: 'aes128gcm16' },
  { ike: 'aes256gcm16-prfsha384-ecp384', esp: 'aes256gcm16' },
  { ike: 'chacha20poly1305-prfsha256-x25519', esp: 'chacha20poly1305' },
  { ike: 'aes128-sha256-modp3072', esp: 'aes128-sha256' },
  { ike: 'aes128-sha256-modp3072', esp: 'aes256-sha512' },
];

function conf(me: LabHost, peer: LabHost, c: Case, meId: string, peerId: string): string {
  return pskConfig({
    me,
    peer,
    meId,
    peerId,
    settings: { version: '2', encap: 'yes', proposals: c.ike },
    children: [{ settings: { mode: 'tunnel', esp_proposals: c.esp } }],
  });
}

async function ping(lab: Lab, from: LabHost, to: LabHost, count = 3): Promise<void> {
  const out = await lab.exec(from, 'ping', ['-c', String(count), '-i', '0.2', '-W', '2', '-I', from.inner4, to.inner4]);
  assert.match(out, new RegExp(`${count} received`), out);
}

for (const initiator of ['tsipsec', 'strongswan'] as const) {
  for (const c of CASES) {
    test(
      `strongSwan interop, ${initiator} initiates: IKE ${c.ike}, ESP ${c.esp}`,
      { skip, timeout: 90_000 },
      async () => {
        const lab = await Lab.create('sw');
        let ours: TsipsecPeer | undefined;
        let theirs: StrongSwan | undefined;
        try {
          const { left, right } = lab;
          ours = await TsipsecPeer.start(lab, left, conf(left, right, c, 'left.lab', 'right.lab'));
          theirs = await StrongSwan.start(lab, right, conf(right, left, c, 'right.lab', 'left.lab'));
          if (initiator === 'tsipsec') await ours.call('up', { name: 'net', timeoutSec: 20 });
          else {
            assert.match(await theirs.swanctl('--initiate', '--child', 'net'), /initiate completed successfully/);
            // No waiting: as responder we install SAs, policies and routes before answering IKE_AUTH.
          }
          await ping(lab, left, right);
          await ping(lab, right, left);
          const { ikeSas } = (await ours.call('sas')) as { ikeSas: IkeSaInfo[] };
          const child = ikeSas[0]?.children[0];
          assert.ok(child, 'our side lists the CHILD_SA');
          assert.equal(child.encap, true);
          assert.equal(child.in.packets, 6, 'three echo replies and three requests came in');
          assert.equal(child.out.packets, 6);
          const sw = await theirs.listSas();
          assert.match(sw, /net: #\d+, reqid \d+, INSTALLED, TUNNEL-in-UDP/);
          assert.ok(
            sw.includes(child.spiIn) && sw.includes(child.spiOut),
            `SPIs ${child.spiIn}/${child.spiOut} in:\n${sw}`,
          );
        } catch (e) {
          throw new Error(
            `${(e as Error).message}\n--- tsipsec log ---\n${ours?.log().slice(-4000)}\n--- charon log ---\n${theirs?.log().slice(-4000)}`,
          );
        } finally {
          await lab.destroy();
        }
      },
    );
  }
}
