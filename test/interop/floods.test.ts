/**
 * A flood of IKE_SA_INIT requests (RFC 7296 2.6) from many spoofed sources in a third namespace, at our
 * responder: 20,000 requests, round-robin from 128 IPv4 (198.51.100.128/25) and 256 IPv6 (2001:db8:ff00::1 to ::100)
 * addresses, built by the project's own engine and codec (test/helpers/ike-flood.ts). The responder takes
 * its thresholds from a strongswan.conf (`tsipsec daemon --strongswan-conf`): cookies switch on above
 * `cookie_threshold`, a legitimate strongSwan initiator still connects during the burst, the daemon's RSS
 * stays below a bound and `tsipsec sas` keeps answering. The figures are printed as test diagnostics.
 * TSIPSEC_FLOOD_RATE sets the requests per second (default 2000; the generator reaches about 5000 here).
 *
 *   right (strongSwan, legitimate, 192.0.2.2) -- left (tsipsec responder, 192.0.2.1 | 192.0.2.129) -- third (flood, 192.0.2.130)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab } from '../helpers/lab.js';
import { LEFT_TO_THIRD } from '../helpers/lab.js';
import type { LabHost } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import { StrongSwan } from '../helpers/strongswan.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import { pskConfig } from '../helpers/swanctl.js';
import type { FloodOptions, FloodResult } from '../helpers/ike-flood.js';
import type { DaemonStats, IkeSaInfo } from '../../src/control/schema.js';

const skip = labSkip('strongswan');
const FLOOD = fileURLToPath(new URL('../helpers/ike-flood.js', import.meta.url));

const COUNT = 20_000;
const RATE = Number(process.env['TSIPSEC_FLOOD_RATE'] ?? 2_000);
const COOKIE_THRESHOLD = 50;
/** The stated memory bound for the responder under this flood. */
const RSS_BOUND_MB = 300;
/** `tsipsec sas` must answer within this while the flood runs (13-25 ms on an idle machine, ~2 s on a busy one). */
const LISTING_BOUND_MS = 5000;

const STRONGSWAN_CONF = `charon {
  cookie_threshold = ${COOKIE_THRESHOLD}
  block_threshold = 5
  init_limit_half_open = 1000
}
`;

function gatewayConf(me: LabHost, peer: LabHost): string {
  // A gateway open to the internet: any local and remote address, the peer known by its identity.
  return pskConfig({ me, peer, meId: 'gw.flood', peerId: 'client.flood', remoteAddrs: '%any' }).replace(
    `local_addrs = ${me.outer4}`,
    'local_addrs = %any',
  );
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

/** UDP datagrams the kernel dropped for full receive buffers in `host`'s namespace (IPv4 and IPv6). */
async function udpRcvbufErrors(lab: Lab, host: LabHost): Promise<number> {
  const v4 = await lab.exec(host, 'cat', ['/proc/net/snmp']);
  const [names, values] = v4.split('\n').filter((l) => l.startsWith('Udp:'));
  const i = (names ?? '').split(/\s+/).indexOf('RcvbufErrors');
  const v6 = /Udp6RcvbufErrors\s+(\d+)/.exec(await lab.exec(host, 'cat', ['/proc/net/snmp6']));
  return Number((values ?? '').split(/\s+/)[i] ?? 0) + Number(v6?.[1] ?? 0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(
  `a flood of ${COUNT} IKE_SA_INIT requests from 384 spoofed sources: cookies above cookie_threshold, a legitimate peer connects meanwhile, memory bounded, listing responsive`,
  { skip, timeout: 150_000 },
  async (t) => {
    const lab = await Lab.create('flood', { third: true });
    const { left, right } = lab;
    const third = lab.third!;
    let ours: TsipsecPeer | undefined;
    let theirs: StrongSwan | undefined;
    try {
      // The flood's namespace may send from any address of two documentation prefixes; the responder routes them back.
      await lab.ip(third, 'route', 'add', 'local', '198.51.100.128/25', 'dev', 'lo');
      await lab.ip(third, '-6', 'route', 'add', 'local', '2001:db8:ff00::/119', 'dev', 'lo');
      await lab.ip(left, 'route', 'add', '198.51.100.128/25', 'via', third.outer4);
      await lab.ip(left, '-6', 'route', 'add', '2001:db8:ff00::/119', 'via', third.outer6);
      await lab.exec(third, 'sysctl', ['-qw', 'net.ipv6.ip_nonlocal_bind=1']);

      const swanFile = path.join(lab.dir, 'responder-strongswan.conf');
      fs.writeFileSync(swanFile, STRONGSWAN_CONF);
      ours = await TsipsecPeer.start(lab, left, gatewayConf(left, right), 1, ['--strongswan-conf', swanFile]);
      assert.match(ours.log(), new RegExp(`cookieThreshold ${COOKIE_THRESHOLD}`));
      theirs = await StrongSwan.start(
        lab,
        right,
        pskConfig({ me: right, peer: left, meId: 'client.flood', peerId: 'gw.flood', settings: { encap: 'yes' } }),
        { retransmit_tries: '5', retransmit_timeout: '1' },
      );
      const pid = ours.process.pid!;
      const rssBefore = rssMb(pid);
      const kernelDropsBefore = await udpRcvbufErrors(lab, left);

      const options: FloodOptions = {
        targets: { '4': LEFT_TO_THIRD.outer4, '6': LEFT_TO_THIRD.outer6 },
        sources4: { base: '198.51.100.', first: 128, count: 128 },
        sources6: { base: '2001:db8:ff00::', first: 1, count: 256 },
        count: COUNT,
        rate: RATE,
      };
      let floodDone = false;
      const flooding = lab
        .exec(third, process.execPath, [FLOOD, JSON.stringify(options)], 120_000)
        .finally(() => (floodDone = true));

      // Sample memory and listing latency while the flood runs.
      let rssPeak = rssBefore;
      let listingMaxMs = 0;
      let listings = 0;
      const sampling = (async () => {
        while (!floodDone) {
          rssPeak = Math.max(rssPeak, rssMb(pid));
          const t0 = performance.now();
          await ours.call('sas');
          listingMaxMs = Math.max(listingMaxMs, performance.now() - t0);
          listings++;
          await sleep(250);
        }
      })();

      // The legitimate peer, two seconds into the burst.
      await sleep(2000);
      const legitFrom = Date.now();
      const initiated = await theirs.swanctl('--initiate', '--child', 'net', '--timeout', '30');
      const legitDone = Date.now();
      assert.match(initiated, /initiate completed successfully/);
      const during = !floodDone;

      const result = JSON.parse(await flooding) as FloodResult;
      await sampling;
      rssPeak = Math.max(rssPeak, rssMb(pid));
      const stats = (await ours.call('stats')) as DaemonStats;
      const cookiesSent = stats.ikeDrops['cookie'] ?? 0;
      const kernelDrops = (await udpRcvbufErrors(lab, left)) - kernelDropsBefore;
      t.diagnostic(
        `burst: ${result.sent} requests in ${((result.endMs - result.startMs) / 1000).toFixed(1)} s (${result.rate}/s), ` +
          `${result.cookies} COOKIE answers received (${cookiesSent} sent by the daemon), ${result.saResponses} IKE_SA_INIT answers, ` +
          `${result.otherResponses} other, ${result.sendErrors} send errors; ${kernelDrops} dropped by the responder's kernel (receive buffer full), ${stats.ikeIn} IKE datagrams reached the daemon`,
      );
      t.diagnostic(
        `legitimate strongSwan peer connected in ${((legitDone - legitFrom) / 1000).toFixed(2)} s, ${during ? 'during' : 'after'} the burst`,
      );
      t.diagnostic(
        `daemon RSS ${rssBefore.toFixed(0)} MB before, peak ${rssPeak.toFixed(0)} MB (bound ${RSS_BOUND_MB} MB); ` +
          `tsipsec sas answered ${listings} times, slowest ${listingMaxMs.toFixed(0)} ms`,
      );
      t.diagnostic(`daemon IKE drops: ${JSON.stringify(stats.ikeDrops)}`);

      assert.equal(result.sent, COUNT);
      // Cookies switch on above the threshold: the first requests got real answers, then COOKIEs only.
      assert.ok(result.saResponses <= COOKIE_THRESHOLD, `at most ${COOKIE_THRESHOLD} half-open IKE_SAs`);
      assert.ok(result.saResponses >= COOKIE_THRESHOLD / 2, `${result.saResponses} answered before cookies`);
      assert.ok(result.cookies >= COUNT * 0.5, `COOKIE answers for most of the burst: ${result.cookies}`);
      assert.ok(cookiesSent >= result.cookies, 'the daemon counts each COOKIE it sent');
      // Every request that reached the daemon above the threshold got a COOKIE; the rest of what came in is
      // the legitimate peer's few messages (IKE_SA_INIT twice, IKE_AUTH).
      const rest = stats.ikeIn - cookiesSent - result.saResponses;
      assert.ok(rest >= 0 && rest <= 10, `${stats.ikeIn} in, ${cookiesSent} COOKIEs, ${result.saResponses} answered`);
      assert.ok(during, 'the legitimate peer connected while the flood ran');
      assert.ok(rssPeak < RSS_BOUND_MB, `RSS peak ${rssPeak} MB`);
      assert.ok(listings >= 3, 'the listing was asked during the burst');
      assert.ok(listingMaxMs < LISTING_BOUND_MS, `slowest listing ${listingMaxMs} ms`);

      const { ikeSas } = (await ours.call('sas')) as { ikeSas: IkeSaInfo[] };
      const legit = ikeSas.filter((s) => s.state === 'ESTABLISHED');
      assert.equal(legit.length, 1, 'only the legitimate peer is established');
      assert.equal(legit[0]?.remoteId, 'client.flood');
      const ping = await lab.exec(right, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '-I', right.inner4, left.inner4]);
      assert.match(ping, /2 received/, ping);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- tsipsec ---\n${ours?.log().slice(-4000)}\n--- charon ---\n${theirs?.log().slice(-3000)}`,
      );
    } finally {
      await lab.destroy();
    }
  },
);
