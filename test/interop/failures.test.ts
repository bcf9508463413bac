/**
 * Failed negotiations against strongSwan: wrong PSK, no common proposal, no common traffic selectors.
 * Each must give a clear reason on both sides, leave no CHILD_SA, and put no plaintext on the wire: our
 * side has a trap policy, so the ping that triggers the attempt is held back, never sent in the clear.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Lab, waitFor } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import type { LabHost } from '../helpers/lab.js';
import { StrongSwan } from '../helpers/strongswan.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import { pskConfig } from '../helpers/swanctl.js';
import type { IkeSaInfo } from '../../src/control/schema.js';

const skip = labSkip('strongswan', 'tcpdump');

interface Side {
  psk: string;
  ike: string;
  esp: string;
  localTs: string;
  remoteTs: string;
  startAction: string;
}

function conf(me: LabHost, peer: LabHost, meId: string, peerId: string, s: Side): string {
  return pskConfig({
    me,
    peer,
    meId,
    peerId,
    secret: s.psk,
    settings: { encap: 'yes', proposals: s.ike },
    children: [
      {
        localTs: s.localTs,
        remoteTs: s.remoteTs,
        settings: { esp_proposals: s.esp, start_action: s.startAction },
      },
    ],
  });
}

interface Failure {
  name: string;
  ours: Partial<Side>;
  theirs: Partial<Side>;
  /** What our `up` / log must say. */
  ourReason: RegExp;
  /** What charon's log must say. */
  theirReason: RegExp;
}

const FAILURES: Failure[] = [
  {
    name: 'wrong PSK',
    ours: { psk: 'our-secret-0123456789' },
    theirs: { psk: 'their-secret-9876543210' },
    ourReason: /AUTHENTICATION_FAILED|authentication/i,
    theirReason: /shared key .* MAC mismatched|N\(AUTH_FAILED\)/,
  },
  {
    name: 'no common proposal',
    ours: { ike: 'aes256gcm16-prfsha384-ecp384' },
    theirs: { ike: 'aes128-sha256-modp3072' },
    ourReason: /NO_PROPOSAL_CHOSEN/,
    theirReason: /received proposals unacceptable|N\(NO_PROP\)/,
  },
  {
    name: 'no common traffic selectors',
    ours: {},
    theirs: { localTs: '203.0.113.128/25', remoteTs: '198.51.100.128/25' },
    ourReason: /TS_UNACCEPTABLE/,
    theirReason: /TS_UNACCEPTABLE|no acceptable traffic selectors|traffic selectors .* (unacceptable|inacceptable)/i,
  },
];

function tcpdumpRead(file: string): string {
  return execFileSync('tcpdump', ['-nn', '-r', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

for (const f of FAILURES) {
  test(`failure against strongSwan: ${f.name}`, { skip, timeout: 90_000 }, async () => {
    const lab = await Lab.create('fail');
    let ours: TsipsecPeer | undefined;
    let theirs: StrongSwan | undefined;
    try {
      const { left, right } = lab;
      const base: Side = {
        psk: 'shared-secret-0123456789',
        ike: 'aes128gcm16-prfsha256-x25519',
        esp: 'aes128gcm16',
        localTs: '',
        remoteTs: '',
        startAction: 'none',
      };
      const oursSide = {
        ...base,
        localTs: `${left.inner4}/32`,
        remoteTs: `${right.inner4}/32`,
        startAction: 'trap',
        ...f.ours,
      };
      const theirSide = { ...base, localTs: `${right.inner4}/32`, remoteTs: `${left.inner4}/32`, ...f.theirs };
      theirs = await StrongSwan.start(lab, right, conf(right, left, 'right.lab', 'left.lab', theirSide));
      ours = await TsipsecPeer.start(lab, left, conf(left, right, 'left.lab', 'right.lab', oursSide));
      const pcap = path.join(lab.dir, 'outer.pcap');
      const dump = lab.spawn(left, 'tcpdump', ['-i', left.dev, '-nn', '-U', '-w', pcap], { stdio: 'ignore' });
      await waitFor('tcpdump', () => fs.existsSync(pcap));
      await new Promise((r) => setTimeout(r, 300));
      // The ping hits the trap policy: it starts IKE and must not leave in the clear.
      await lab
        .exec(left, 'ping', ['-c', '3', '-i', '0.3', '-W', '1', '-I', left.inner4, right.inner4])
        .then(() => assert.fail('the ping must not get through'))
        .catch((e: Error) => assert.match(e.message, /100% packet loss|0 received/));
      // An explicit attempt reports the reason.
      const err = await ours.call('up', { name: 'net', timeoutSec: 15 }).then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(err, 'up must fail');
      assert.match(err.message, f.ourReason, `our reason: ${err.message}`);
      await waitFor('charon to log the failure', () => f.theirReason.test(theirs?.log() ?? ''), 10_000);
      const { ikeSas } = (await ours.call('sas')) as { ikeSas: IkeSaInfo[] };
      assert.equal(ikeSas.flatMap((s) => s.children).length, 0, 'no CHILD_SA on our side');
      assert.doesNotMatch(await theirs.listSas(), /INSTALLED/, 'no CHILD_SA on theirs');
      await new Promise((r) => setTimeout(r, 300));
      dump.kill('SIGINT');
      await new Promise((r) => dump.once('exit', r));
      const seen = tcpdumpRead(pcap);
      const lines = seen.split('\n').filter((l) => / IP6? /.test(l));
      assert.ok(
        lines.some((l) => /\.500 |\.4500 /.test(l)),
        `IKE was captured:\n${seen}`,
      );
      for (const l of lines) {
        if (/ICMP6/.test(l)) continue; // neighbour discovery on the link itself
        assert.match(l, /\.(500|4500)[ :]/, `only IKE may cross the link, saw: ${l}`);
      }
      assert.doesNotMatch(seen, new RegExp(`${right.inner4.replace(/\./g, '\\.')}`), 'no inner address on the wire');
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- tsipsec log ---\n${ours?.log().slice(-3000)}\n--- charon log ---\n${theirs?.log().slice(-3000)}`,
      );
    } finally {
      await lab.destroy();
    }
  });
}
