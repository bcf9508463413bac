/**
 * Rekeying and deletion against strongSwan while traffic flows: CHILD_SA and IKE_SA rekeys with short
 * lifetimes during an iperf3 transfer, started by either side, then DELETE in both directions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, waitFor } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import type { LabHost } from '../helpers/lab.js';
import { StrongSwan } from '../helpers/strongswan.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import { pskConfig } from '../helpers/swanctl.js';
import type { IkeSaInfo } from '../../src/control/schema.js';

const skip = labSkip('strongswan', 'iperf3');

interface Timers {
  ikeRekey: string;
  ikeOver: string;
  childRekey: string;
  childLife: string;
}
const LONG: Timers = { ikeRekey: '4h', ikeOver: '10m', childRekey: '1h', childLife: '2h' };
const SHORT: Timers = { ikeRekey: '9s', ikeOver: '20s', childRekey: '4s', childLife: '20s' };

function conf(me: LabHost, peer: LabHost, meId: string, peerId: string, t: Timers): string {
  return pskConfig({
    me,
    peer,
    meId,
    peerId,
    secret: 'rekey-psk-0123456789abcdef',
    settings: {
      encap: 'yes',
      proposals: 'aes128gcm16-prfsha256-x25519',
      rekey_time: t.ikeRekey,
      over_time: t.ikeOver,
      rand_time: '0s',
    },
    children: [
      {
        settings: {
          esp_proposals: 'aes128gcm16-x25519',
          rekey_time: t.childRekey,
          life_time: t.childLife,
          rand_time: '0s',
        },
      },
    ],
  });
}

async function ourSas(p: TsipsecPeer): Promise<IkeSaInfo[]> {
  return ((await p.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas;
}

for (const rekeyer of ['tsipsec', 'strongswan'] as const) {
  test(
    `rekeys against strongSwan during iperf3, ${rekeyer} rekeying; DELETE both ways`,
    { skip, timeout: 120_000 },
    async () => {
      const lab = await Lab.create('rekey');
      let ours: TsipsecPeer | undefined;
      let theirs: StrongSwan | undefined;
      try {
        const { left, right } = lab;
        const ourTimers = rekeyer === 'tsipsec' ? SHORT : LONG;
        const theirTimers = rekeyer === 'strongswan' ? SHORT : LONG;
        theirs = await StrongSwan.start(lab, right, conf(right, left, 'right.lab', 'left.lab', theirTimers));
        ours = await TsipsecPeer.start(lab, left, conf(left, right, 'left.lab', 'right.lab', ourTimers));
        await ours.call('up', { name: 'net', timeoutSec: 20 });
        const first = (await ourSas(ours))[0];
        assert.ok(first?.children[0]);
        const firstChildSpi = first.children[0].spiIn;
        const firstIkeSpi = first.spiI + first.spiR;

        lab.spawn(right, 'iperf3', ['-s', '-1', '-B', right.inner4], { stdio: 'ignore' });
        await new Promise((r) => setTimeout(r, 400));
        const out = await lab.exec(
          left,
          'iperf3',
          ['-c', right.inner4, '-B', left.inner4, '-t', '14', '-b', '50M', '-J'],
          60_000,
        );
        const j = JSON.parse(out) as {
          end: { sum_received: { bytes: number } };
          intervals: { sum: { bytes: number } }[];
        };
        assert.ok(j.end.sum_received.bytes > 1_000_000, `iperf3 moved ${j.end.sum_received.bytes} bytes`);
        // No second without traffic: every rekey was make-before-break.
        const stalls = j.intervals.filter((i) => i.sum.bytes === 0).length;
        assert.equal(stalls, 0, `iperf3 intervals with no data: ${stalls}`);

        const now = await ourSas(ours);
        assert.equal(now.length, 1, 'one IKE_SA left after the rekeys');
        const ike = now[0] as IkeSaInfo;
        assert.notEqual(ike.spiI + ike.spiR, firstIkeSpi, 'the IKE_SA was rekeyed');
        assert.equal(ike.children.length, 1, 'one CHILD_SA left after the rekeys (the old ones deleted)');
        assert.notEqual(ike.children[0]?.spiIn, firstChildSpi, 'the CHILD_SA was rekeyed');
        const log = theirs.log();
        assert.match(
          log,
          /CHILD_SA net\{\d+\} (state change: REKEYED|rekeyed|.*REKEYING)|rekeyed CHILD_SA|CREATE_CHILD_SA/,
        );
        const sw = await theirs.listSas();
        assert.equal((sw.match(/INSTALLED/g) ?? []).length, 1, `strongSwan has exactly one CHILD_SA:\n${sw}`);
        assert.ok(sw.includes(ike.children[0]?.spiIn ?? '?'), `strongSwan uses our current SPI:\n${sw}`);
        // Our own listing after the IKE rekey: the new IKE_SA as strongSwan knows it, its CHILD_SA installed.
        assert.equal(ike.state, 'ESTABLISHED');
        assert.equal(ike.children[0]?.state, 'INSTALLED');
        assert.ok(
          sw.includes(ike.spiI) && sw.includes(ike.spiR),
          `strongSwan lists our IKE SPIs ${ike.spiI}/${ike.spiR}:\n${sw}`,
        );
        assert.ok(sw.includes(ike.children[0]?.spiOut ?? '?'), `strongSwan lists our outbound SPI:\n${sw}`);
        assert.equal(ike.remoteId, 'right.lab');

        // DELETE from our side.
        await ours.call('down', { name: 'lab' });
        await waitFor(
          'strongSwan to drop the IKE_SA',
          async () => !/ESTABLISHED/.test(await theirs!.listSas()),
          10_000,
        );
        // Up again, then DELETE from strongSwan's side.
        await ours.call('up', { name: 'net', timeoutSec: 20 });
        await theirs.swanctl('--terminate', '--ike', 'lab');
        await waitFor('our side to drop the IKE_SA', async () => (await ourSas(ours!)).length === 0, 10_000);
      } catch (e) {
        throw new Error(
          `${(e as Error).message}\n--- tsipsec log ---\n${ours?.log().slice(-5000)}\n--- charon log ---\n${theirs?.log().slice(-3000)}`,
        );
      } finally {
        await lab.destroy();
      }
    },
  );
}
