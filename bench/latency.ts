/**
 * Ping round trip through the tunnel: the project against itself beside strongSwan (charon + kernel-libipsec)
 * against itself, and the bare veth link, all in one run, each in its own pair of namespaces (unique names, so
 * it does not disturb a shared bench running at the same time).
 *
 * For each rate (5 packets/s and 500 packets/s by default) the kinds take turns, `ROUNDS` times, so a change
 * of load on the machine falls on all of them alike; the table gives min / avg / max / mdev over all rounds.
 * Both tunnels use ESP in UDP 4500 (kernel-libipsec in strongSwan 5.9 does no other); the project also runs
 * with raw ESP (IP protocol 50).
 *
 *   npm run bench:latency                   50 pings at 5/s and 500 at 500/s per round, 2 rounds
 *   node dist/bench/latency.js 3 project     3 rounds, only these kinds (veth, strongswan, project, project-raw)
 *
 * Needs root, strongSwan (charon, swanctl) and iproute2. Prints; asserts nothing. On a loaded machine only the
 * figures of one run compare.
 */
import { Lab } from '../src/demo/lab.js';
import type { LabHost } from '../src/demo/lab.js';
import { StrongSwan } from '../test/helpers/strongswan.js';
import { pskConfig } from '../test/helpers/swanctl.js';
import { TsipsecPeer } from '../test/helpers/tsipsec.js';

const KINDS = ['veth', 'strongswan', 'project', 'project-raw'] as const;
type Kind = (typeof KINDS)[number];

interface Rate {
  readonly perSec: number;
  readonly count: number;
}

const RATES: readonly Rate[] = [
  { perSec: 5, count: 50 },
  { perSec: 500, count: 500 },
];

interface Tunnel {
  readonly kind: Kind;
  readonly lab: Lab;
  readonly src: string;
  readonly dst: string;
}

function conf(me: LabHost, peer: LabHost, encap: boolean): string {
  return pskConfig({
    me,
    peer,
    name: 'lat',
    meId: `${me.ns}.lat`,
    peerId: `${peer.ns}.lat`,
    settings: { version: '2', encap: encap ? 'yes' : 'no', proposals: 'aes128gcm16-prfsha256-x25519' },
    children: [{ settings: { mode: 'tunnel', esp_proposals: 'aes128gcm16' } }],
  });
}

async function bringUp(kind: Kind): Promise<Tunnel> {
  const lab = await Lab.create(`lat${kind === 'project-raw' ? 'r' : kind[0]}`);
  try {
    const { left, right } = lab;
    if (kind === 'veth') return { kind, lab, src: left.outer4, dst: right.outer4 };
    if (kind === 'strongswan') {
      await StrongSwan.start(lab, right, conf(right, left, true));
      const sw = await StrongSwan.start(lab, left, conf(left, right, true));
      await sw.swanctl('--initiate', '--child', 'net');
    } else {
      const encap = kind === 'project';
      await TsipsecPeer.start(lab, right, conf(right, left, encap), 1);
      const a = await TsipsecPeer.start(lab, left, conf(left, right, encap), 1);
      await a.call('up', { name: 'net', timeoutSec: 20 });
    }
    const t = { kind, lab, src: left.inner4, dst: right.inner4 };
    await ping(t, { perSec: 5, count: 3 });
    return t;
  } catch (e) {
    await lab.destroy();
    throw e;
  }
}

/** Round-trip times in ms of each reply. */
async function ping(t: Tunnel, rate: Rate): Promise<number[]> {
  const out = await t.lab.exec(
    t.lab.left,
    'ping',
    ['-n', '-c', String(rate.count), '-i', String(1 / rate.perSec), '-W', '1', '-I', t.src, t.dst],
    (rate.count / rate.perSec + 30) * 1000,
  );
  return [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

interface Summary {
  min: number;
  avg: number;
  max: number;
  mdev: number;
  p50: number;
  replies: number;
  sent: number;
}

function summarize(samples: readonly number[], sent: number): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const avg = n === 0 ? NaN : s.reduce((a, b) => a + b, 0) / n;
  const mdev = n === 0 ? NaN : Math.sqrt(s.reduce((a, b) => a + (b - avg) ** 2, 0) / n);
  return {
    min: s[0] ?? NaN,
    avg,
    max: s[n - 1] ?? NaN,
    mdev,
    p50: s[Math.floor(n / 2)] ?? NaN,
    replies: n,
    sent,
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/latency needs root (network namespaces)');
  const rounds = Number(process.argv[2] ?? 2) || 2;
  const asked = process.argv.slice(3).filter((k): k is Kind => (KINDS as readonly string[]).includes(k));
  const kinds = asked.length > 0 ? asked : [...KINDS];
  const tunnels: Tunnel[] = [];
  try {
    for (const k of kinds) tunnels.push(await bringUp(k));
    const rows: string[] = [];
    const head = `${'kind'.padEnd(12)} ${'rate/s'.padStart(6)}  ${['min', 'p50', 'avg', 'max', 'mdev'].map((h) => h.padStart(7)).join(' ')}   replies`;
    for (const rate of RATES) {
      const samples = new Map<Kind, number[]>(kinds.map((k) => [k, []]));
      for (let r = 0; r < rounds; r++) {
        for (const t of tunnels) samples.get(t.kind)?.push(...(await ping(t, rate)));
      }
      for (const k of kinds) {
        const s = summarize(samples.get(k) ?? [], rate.count * rounds);
        const f = (x: number) => x.toFixed(3).padStart(7);
        rows.push(
          `${k.padEnd(12)} ${String(rate.perSec).padStart(6)}  ${[s.min, s.p50, s.avg, s.max, s.mdev].map(f).join(' ')}   ${s.replies}/${s.sent}`,
        );
      }
    }
    console.log(`ping round trip, ms (${rounds} rounds, kinds alternating)`);
    console.log(head);
    for (const r of rows) console.log(r);
  } finally {
    for (const t of tunnels) await t.lab.destroy();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
