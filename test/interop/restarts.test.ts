/**
 * A peer killed with SIGKILL and started again (RFC 7296 2.4, 2.21.4): the survivor's DPD notices within
 * `dpd_delay` plus the retransmission schedule's give-up time (IKEv2 has no separate DPD timeout: the
 * liveness check fails like any request, here with strongswan.conf's charon.retransmit_* read by
 * `tsipsec daemon --strongswan-conf`), `dpd_action = restart` brings the tunnel back once the peer returns,
 * `start_action = trap` / `dpd_action = trap` bring it back on the next packet, and the restarted side's
 * INITIAL_CONTACT clears the stale IKE_SA at the survivor (ours and strongSwan's). The measured times are
 * printed as test diagnostics.
 *
 *   left (survivor, 192.0.2.1, inner 198.51.100.1) -- right (killed and restarted, 192.0.2.2, inner 203.0.113.1)
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { Lab, waitFor } from '../helpers/lab.js';
import type { LabHost } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import { StrongSwan } from '../helpers/strongswan.js';
import { TsipsecPeer } from '../helpers/tsipsec.js';
import { pskConfig } from '../helpers/swanctl.js';
import type { ChildSpec } from '../helpers/swanctl.js';
import type { IkeSaInfo } from '../../src/control/schema.js';
import { charonSettings, retransmitGiveUpSec } from '../../src/daemon/strongswan-conf.js';

const sh = promisify(execFile);
const skip = labSkip('strongswan');

/** The survivor's schedule: 1 + 1.5 + 2.25 + 3.375 s, a silent peer is given up after about 8 s. */
const SURVIVOR_STRONGSWAN_CONF = `charon {
  retransmit_timeout = 1
  retransmit_base = 1.5
  retransmit_tries = 3
  retransmit_limit = 0
}
`;
const DPD_DELAY_SEC = 2;
const GIVE_UP_SEC = retransmitGiveUpSec(charonSettings(SURVIVOR_STRONGSWAN_CONF, 'survivor').retransmit!);
/** Timer slop on a loaded machine: the bound checked is dpd_delay + give-up + this. */
const SLACK_SEC = 10;

function conf(me: LabHost, peer: LabHost, child: Record<string, string>, conn: Record<string, string> = {}): string {
  const children: ChildSpec[] = [{ settings: child }];
  return pskConfig({ me, peer, settings: { encap: 'yes', ...conn }, children });
}

async function sas(p: TsipsecPeer): Promise<IkeSaInfo[]> {
  return ((await p.call('sas')) as { ikeSas: IkeSaInfo[] }).ikeSas;
}

async function established(p: TsipsecPeer): Promise<IkeSaInfo[]> {
  return (await sas(p)).filter((s) => s.state === 'ESTABLISHED' && s.children.length > 0);
}

async function ping(lab: Lab, from: LabHost, to: LabHost, count = 3): Promise<void> {
  const out = await lab.exec(from, 'ping', ['-c', String(count), '-i', '0.2', '-W', '2', '-I', from.inner4, to.inner4]);
  assert.match(out, new RegExp(`${count} received`), out);
}

/** SIGKILL for our daemon; the stale control socket is removed so a restart can be waited for. */
async function killTsipsec(p: TsipsecPeer): Promise<void> {
  const gone = new Promise((r) => p.process.once('exit', r));
  p.process.kill('SIGKILL');
  await gone;
  fs.rmSync(p.control, { force: true });
  fs.copyFileSync(p.logFile, `${p.logFile}.killed`);
}

/** SIGKILL for charon in `host`'s namespace (its /run is a tmpfs of that process, so a restart starts clean). */
async function killCharon(host: LabHost, sw: StrongSwan): Promise<void> {
  const pids = (await sh('ip', ['netns', 'pids', host.ns])).stdout.split(/\s+/).filter(Boolean);
  const charon = pids.filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'charon';
    } catch {
      return false;
    }
  });
  assert.ok(charon.length > 0, `charon runs in ${host.ns}`);
  for (const pid of charon) process.kill(Number(pid), 'SIGKILL');
  await waitFor('charon to die', () => charon.every((pid) => !fs.existsSync(`/proc/${pid}`)), 5000);
  fs.rmSync(sw.vici, { force: true });
}

function survivorArgs(lab: Lab): string[] {
  const file = path.join(lab.dir, 'survivor-strongswan.conf');
  fs.writeFileSync(file, SURVIVOR_STRONGSWAN_CONF);
  return ['--strongswan-conf', file];
}

/** Seconds from `sinceMs` until the survivor no longer lists IKE_SA `uniqueId`. */
async function dpdNotice(p: TsipsecPeer, uniqueId: number, sinceMs: number): Promise<number> {
  const budgetMs = (DPD_DELAY_SEC + GIVE_UP_SEC + SLACK_SEC + 10) * 1000;
  await waitFor(
    `the survivor to drop IKE_SA #${uniqueId}`,
    async () => !(await sas(p)).some((s) => s.uniqueId === uniqueId),
    budgetMs,
    100,
  );
  return (Date.now() - sinceMs) / 1000;
}

function checkDpdTime(t: TestContext, seconds: number, log: string, who = 'our'): void {
  t.diagnostic(
    `${who} DPD noticed the dead peer ${seconds.toFixed(1)} s after SIGKILL (dpd_delay ${DPD_DELAY_SEC} s + give-up ${GIVE_UP_SEC.toFixed(1)} s = ${(DPD_DELAY_SEC + GIVE_UP_SEC).toFixed(1)} s)`,
  );
  assert.ok(seconds >= GIVE_UP_SEC - 0.5, `not before the retransmissions gave up (${seconds} s)`);
  assert.ok(seconds <= DPD_DELAY_SEC + GIVE_UP_SEC + SLACK_SEC, `within dpd_delay + give-up (${seconds} s)`);
  if (who !== 'our') return;
  assert.match(log, /retransmit 3 of request/, 'the liveness check was retransmitted retransmit_tries times');
  assert.match(log, /giving up after 3 retransmits/);
}

function failWithLogs(e: unknown, ...logs: [string, string | undefined][]): never {
  const parts = logs.map(([n, l]) => `--- ${n} ---\n${(l ?? '').slice(-5000)}`);
  throw new Error(`${(e as Error).message}\n${parts.join('\n')}`);
}

test(
  'strongSwan killed and restarted: our DPD notices, dpd_action = restart brings the tunnel back',
  { skip, timeout: 120_000 },
  async (t) => {
    const lab = await Lab.create('rst');
    const { left, right } = lab;
    let ours: TsipsecPeer | undefined;
    let theirs: StrongSwan | undefined;
    try {
      const rightConf = conf(right, left, {});
      theirs = await StrongSwan.start(lab, right, rightConf);
      ours = await TsipsecPeer.start(
        lab,
        left,
        conf(left, right, { dpd_action: 'restart' }, { dpd_delay: `${DPD_DELAY_SEC}s`, keyingtries: '0' }),
        2,
        survivorArgs(lab),
      );
      assert.match(
        ours.log(),
        /retransmit 1 s \* 1\.5\^n, 3 tries, limit 0 s \(a silent peer is given up after 8\.1 s\)/,
      );
      await ours.call('up', { name: 'net', timeoutSec: 20 });
      await ping(lab, left, right);
      const [before] = await established(ours);
      assert.ok(before);

      const killedAt = Date.now();
      await killCharon(right, theirs);
      const noticed = await dpdNotice(ours, before.uniqueId, killedAt);
      checkDpdTime(t, noticed, ours.log());
      assert.match(ours.log(), /dpd_action: initiating lab \(net\) again/);

      await new Promise((r) => setTimeout(r, 2000));
      const restartedAt = Date.now();
      theirs = await StrongSwan.start(lab, right, rightConf);
      await waitFor('the tunnel back up', async () => (await established(ours!)).length === 1, 40_000, 200);
      const back = (Date.now() - restartedAt) / 1000;
      t.diagnostic(
        `tunnel back ${back.toFixed(1)} s after strongSwan was started again (start included; a keying try every give-up + 1 s)`,
      );
      await ping(lab, left, right);
      const [after] = await established(ours);
      assert.ok(after && after.uniqueId !== before.uniqueId && after.spiI !== before.spiI, 'a new IKE_SA');
      assert.match(await theirs.listSas(), /net: #\d+, reqid \d+, INSTALLED/);
    } catch (e) {
      failWithLogs(e, ['tsipsec (survivor)', ours?.log()], ['charon', theirs?.log()]);
    } finally {
      await lab.destroy();
    }
  },
);

test(
  'our daemon killed and restarted: DPD notices, start_action = trap / dpd_action = trap bring the tunnel back on the next packet',
  { skip, timeout: 120_000 },
  async (t) => {
    const lab = await Lab.create('rst');
    const { left, right } = lab;
    let ours: TsipsecPeer | undefined;
    let peer: TsipsecPeer | undefined;
    try {
      const rightConf = conf(right, left, {});
      peer = await TsipsecPeer.start(lab, right, rightConf);
      ours = await TsipsecPeer.start(
        lab,
        left,
        conf(left, right, { start_action: 'trap', dpd_action: 'trap' }, { dpd_delay: `${DPD_DELAY_SEC}s` }),
        2,
        survivorArgs(lab),
      );
      // The first packet hits the trap and starts the IKE_SA.
      await lab.exec(left, 'ping', ['-c', '1', '-W', '1', '-I', left.inner4, right.inner4]).catch(() => '');
      await waitFor('the trap to bring the tunnel up', async () => (await established(ours!)).length === 1, 20_000);
      await ping(lab, left, right);
      const [before] = await established(ours);
      assert.ok(before);

      const killedAt = Date.now();
      await killTsipsec(peer);
      const noticed = await dpdNotice(ours, before.uniqueId, killedAt);
      checkDpdTime(t, noticed, ours.log());
      assert.equal((await sas(ours)).length, 0, 'dpd_action = trap starts nothing by itself');

      peer = await TsipsecPeer.start(lab, right, rightConf);
      const pingAt = Date.now();
      await lab.exec(left, 'ping', ['-c', '1', '-W', '1', '-I', left.inner4, right.inner4]).catch(() => '');
      await waitFor(
        'the next packet to bring the tunnel back',
        async () => (await established(ours!)).length === 1,
        20_000,
        50,
      );
      t.diagnostic(`tunnel back ${((Date.now() - pingAt) / 1000).toFixed(2)} s after the first packet`);
      await ping(lab, left, right);
      const [after] = await established(ours);
      assert.ok(after && after.uniqueId !== before.uniqueId, 'a new IKE_SA');
    } catch (e) {
      failWithLogs(e, ['tsipsec (survivor)', ours?.log()], ['tsipsec (restarted)', peer?.log()]);
    } finally {
      await lab.destroy();
    }
  },
);

test(
  'our daemon killed and restarted as initiator: its INITIAL_CONTACT clears the stale IKE_SA at strongSwan',
  { skip, timeout: 90_000 },
  async (t) => {
    const lab = await Lab.create('rst');
    const { left, right } = lab;
    let theirs: StrongSwan | undefined;
    let peer: TsipsecPeer | undefined;
    try {
      theirs = await StrongSwan.start(lab, left, conf(left, right, {}));
      const rightConf = conf(right, left, {});
      peer = await TsipsecPeer.start(lab, right, rightConf);
      await peer.call('up', { name: 'net', timeoutSec: 20 });
      await ping(lab, right, left);
      const [before] = await established(peer);
      assert.ok(before);
      assert.match(await theirs.listSas(), new RegExp(before.spiI));

      await killTsipsec(peer);
      peer = await TsipsecPeer.start(lab, right, rightConf);
      const upAt = Date.now();
      await peer.call('up', { name: 'net', timeoutSec: 20 });
      const [after] = await established(peer);
      assert.ok(after && after.spiI !== before.spiI);
      await waitFor(
        'strongSwan to drop the stale IKE_SA',
        async () => !(await theirs!.listSas()).includes(before.spiI),
        10_000,
      );
      t.diagnostic(`stale IKE_SA gone at strongSwan ${((Date.now() - upAt) / 1000).toFixed(2)} s after up`);
      const listed = await theirs.listSas();
      assert.equal(listed.match(/ESTABLISHED/g)?.length, 1, listed);
      assert.ok(listed.includes(after.spiI), listed);
      const withIc = theirs.log().match(/parsed IKE_AUTH request 1 \[[^\]]*N\(INIT_CONTACT\)/g) ?? [];
      assert.equal(withIc.length, 2, 'INITIAL_CONTACT in the first IKE_AUTH of both lives of our daemon');
      await ping(lab, right, left);
    } catch (e) {
      failWithLogs(e, ['charon (survivor)', theirs?.log()], ['tsipsec (restarted)', peer?.log()]);
    } finally {
      await lab.destroy();
    }
  },
);

test(
  'strongSwan killed and restarted as initiator: its INITIAL_CONTACT clears the stale SAs here; sas --json lists only the new IKE_SA',
  { skip, timeout: 90_000 },
  async (t) => {
    const lab = await Lab.create('rst');
    const { left, right } = lab;
    let ours: TsipsecPeer | undefined;
    let theirs: StrongSwan | undefined;
    try {
      ours = await TsipsecPeer.start(lab, left, conf(left, right, {}));
      const rightConf = conf(right, left, {});
      theirs = await StrongSwan.start(lab, right, rightConf);
      assert.match(await theirs.swanctl('--initiate', '--child', 'net'), /initiate completed successfully/);
      await ping(lab, right, left);
      const [before] = await established(ours);
      assert.ok(before);

      await killCharon(right, theirs);
      theirs = await StrongSwan.start(lab, right, rightConf);
      const upAt = Date.now();
      assert.match(await theirs.swanctl('--initiate', '--child', 'net'), /initiate completed successfully/);
      await waitFor(
        'the stale IKE_SA to go',
        async () => !(await sas(ours!)).some((s) => s.uniqueId === before.uniqueId),
        10_000,
        50,
      );
      t.diagnostic(`stale IKE_SA gone here ${((Date.now() - upAt) / 1000).toFixed(2)} s after strongSwan's initiate`);
      const all = await sas(ours);
      assert.equal(all.length, 1, JSON.stringify(all));
      assert.notEqual(all[0]?.spiI, before.spiI);
      assert.equal(all[0]?.children.length, 1, 'only the new CHILD_SA');
      assert.notEqual(all[0]?.children[0]?.spiIn, before.children[0]?.spiIn);
      assert.match(ours.log(), /INITIAL_CONTACT/);
      await ping(lab, right, left);
    } catch (e) {
      failWithLogs(e, ['tsipsec (survivor)', ours?.log()], ['charon (restarted)', theirs?.log()]);
    } finally {
      await lab.destroy();
    }
  },
);

test(
  'our daemon killed and restarted under strongSwan with DPD: strongSwan notices in time, its dpd_action = restart reaches the restarted daemon',
  { skip, timeout: 120_000 },
  async (t) => {
    const lab = await Lab.create('rst');
    const { left, right } = lab;
    let theirs: StrongSwan | undefined;
    let peer: TsipsecPeer | undefined;
    try {
      // strongSwan with the same schedule as our survivors: retransmit_timeout 1, base 1.5, 3 tries.
      theirs = await StrongSwan.start(
        lab,
        left,
        conf(left, right, { dpd_action: 'restart' }, { dpd_delay: `${DPD_DELAY_SEC}s`, keyingtries: '0' }),
        { retransmit_tries: '3', retransmit_timeout: '1', retransmit_base: '1.5' },
      );
      const rightConf = conf(right, left, {});
      peer = await TsipsecPeer.start(lab, right, rightConf);
      assert.match(await theirs.swanctl('--initiate', '--child', 'net'), /initiate completed successfully/);
      await ping(lab, left, right);
      const [before] = await established(peer);
      assert.ok(before);
      const sw = theirs;

      const killedAt = Date.now();
      await killTsipsec(peer);
      await waitFor(
        'strongSwan to drop the IKE_SA',
        async () => !(await sw.listSas()).includes(before.spiI),
        (DPD_DELAY_SEC + GIVE_UP_SEC + SLACK_SEC + 10) * 1000,
        100,
      );
      checkDpdTime(t, (Date.now() - killedAt) / 1000, sw.log(), "strongSwan's");
      assert.match(sw.log(), /giving up after 3 retransmits/);

      const restartedAt = Date.now();
      peer = await TsipsecPeer.start(lab, right, rightConf);
      await waitFor('the tunnel back up', async () => (await established(peer!)).length === 1, 40_000, 200);
      t.diagnostic(
        `tunnel back ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after our daemon was started again (start included)`,
      );
      await ping(lab, left, right);
    } catch (e) {
      failWithLogs(e, ['charon (survivor)', theirs?.log()], ['tsipsec (restarted)', peer?.log()]);
    } finally {
      await lab.destroy();
    }
  },
);
