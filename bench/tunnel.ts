/**
 * The tunnel benchmark beside strongSwan (charon + kernel-libipsec) and wireguard-go, one table from one run.
 *
 * For each kind the shared bench scripts (../shared/bench, or TSIPSEC_SHARED_BENCH) make two namespaces, left and
 * right, and bring the tunnel up between 198.51.100.1 and 203.0.113.1; then, through the tunnel:
 *   TCP, one stream and four streams (iperf3), Mbit/s received
 *   UDP packet rate at 64 and 1400-byte IP packets (iperf3 -u -b 0), packets/s received
 *   ping round trip at 5 and 500 packets/s, average ms
 *   CPU seconds of the VPN processes (both sides) per GB moved, over the one-stream TCP run
 * and prints the table with ratios against strongSwan and wireguard-go. It writes the table as Markdown with an
 * SVG chart beside it (bench/results/tunnel-DATE.md and .svg, or TUNNEL_BENCH_OUT=DIR).
 *
 *   npm run bench:tunnel                       every kind, 8 s per throughput row
 *   node dist/bench/tunnel.js 4 project veth   4 s rows, only these kinds
 *
 * Needs root and the packages of scripts/setup.sh. Prints; asserts nothing. Only ratios from one run mean anything
 * on a shared machine.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BenchRow, type Kind, KINDS, markdownReport, svgChart, textTable } from './tunnel-report.js';

const run = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = process.env['TSIPSEC_SHARED_BENCH'] ?? path.resolve(REPO, '..', 'shared', 'bench');
const SRC = '198.51.100.1';
const DST = '203.0.113.1';
/** Process names whose CPU time is the VPN's, per kind. */
const VPN_PROCESS: Record<Kind, string | null> = {
  veth: null,
  strongswan: 'charon',
  wireguard: 'wireguard-go',
  project: 'node',
};
const IP_UDP_HEADERS = 28;
const CLOCK_TICKS = 100;

async function sh(cmd: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await run(cmd, args, {
    timeout: timeoutMs,
    maxBuffer: 64 << 20,
    env: { ...process.env, PROJECT_DIR: REPO },
  });
  return stdout;
}

const inLeft = (cmd: string, args: string[], timeoutMs?: number): Promise<string> =>
  sh('ip', ['netns', 'exec', 'left', cmd, ...args], timeoutMs);

/** CPU ticks (user + system) used so far by processes named `name` in the two namespaces. */
async function cpuTicks(name: string | null): Promise<number> {
  if (name === null) return 0;
  let ticks = 0;
  for (const ns of ['left', 'right']) {
    const pids = (await sh('ip', ['netns', 'pids', ns])).split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== name) continue;
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // the process ended between listing and reading
      }
    }
  }
  return ticks;
}

async function up(kind: Kind): Promise<void> {
  await sh(path.join(SHARED, 'down.sh'), []);
  await sh(path.join(SHARED, 'netns.sh'), ['up']);
  if (kind === 'strongswan') {
    await sh(path.join(SHARED, 'strongswan-libipsec.sh'), ['right']);
    await sh(path.join(SHARED, 'strongswan-libipsec.sh'), ['left']);
    await sh('swanctl', ['--initiate', '--child', 'net', '--uri', 'unix:///tmp/lab/left.vici']);
  } else if (kind === 'wireguard') {
    await sh(path.join(SHARED, 'wireguard-go.sh'), []);
  } else if (kind === 'project') {
    await sh(path.join(SHARED, 'project-up.sh'), []);
  }
  await new Promise((r) => setTimeout(r, 1000));
}

async function pingMs(ratePerSec: number, count: number, src: string, dst: string): Promise<number> {
  const out = await inLeft('ping', [
    '-q',
    '-c',
    String(count),
    '-i',
    String(1 / ratePerSec),
    '-W',
    '1',
    '-I',
    src,
    dst,
  ]);
  const m = /= [\d.]+\/([\d.]+)\//.exec(out);
  return m ? Number(m[1]) : NaN;
}

interface IperfEnd {
  end: { sum_received: { bytes: number; seconds: number; bits_per_second: number } };
}

async function iperf(
  src: string,
  dst: string,
  secs: number,
  extra: string[],
): Promise<IperfEnd['end']['sum_received']> {
  const out = await inLeft('iperf3', ['-c', dst, '-B', src, '-t', String(secs), '-J', ...extra], (secs + 30) * 1000);
  return (JSON.parse(out) as IperfEnd).end.sum_received;
}

async function measure(kind: Kind, secs: number): Promise<BenchRow> {
  const [src, dst] = kind === 'veth' ? ['192.0.2.1', '192.0.2.2'] : [SRC, DST];
  await up(kind);
  await sh('ip', ['netns', 'exec', 'right', 'iperf3', '-s', '-D', '-B', dst]);
  await new Promise((r) => setTimeout(r, 300));
  const ping5 = await pingMs(5, 15, src, dst);
  const ping500 = await pingMs(500, 1000, src, dst);
  const c0 = await cpuTicks(VPN_PROCESS[kind]);
  const tcp1 = await iperf(src, dst, secs, []);
  const c1 = await cpuTicks(VPN_PROCESS[kind]);
  const tcp4 = await iperf(src, dst, secs, ['-P', '4']);
  const udpPps = async (size: number): Promise<number> => {
    const r = await iperf(src, dst, Math.max(2, secs / 2), ['-u', '-b', '0', '-l', String(size - IP_UDP_HEADERS)]);
    return r.bytes / (size - IP_UDP_HEADERS) / r.seconds;
  };
  const udp64 = await udpPps(64);
  const udp1400 = await udpPps(1400);
  const cpuSec = (c1 - c0) / CLOCK_TICKS;
  return {
    kind,
    tcp1Mbit: tcp1.bits_per_second / 1e6,
    tcp4Mbit: tcp4.bits_per_second / 1e6,
    udp64Pps: udp64,
    udp1400Pps: udp1400,
    ping5Ms: ping5,
    ping500Ms: ping500,
    cpuSecPerGb: VPN_PROCESS[kind] === null ? NaN : cpuSec / (tcp1.bytes / 1e9),
  };
}

const loads = (l: readonly number[]): string => l.map((x) => x.toFixed(2)).join(', ');

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const secs = args[0] !== undefined && /^\d+$/.test(args[0]) ? Number(args.shift()) : 8;
  const kinds = (args.length > 0 ? args : KINDS) as Kind[];
  const unknown = kinds.filter((k) => !KINDS.includes(k));
  if (unknown.length > 0) throw new Error(`unknown kind(s) ${unknown.join(', ')}: use ${KINDS.join(', ')}`);
  if (!fs.existsSync(path.join(SHARED, 'netns.sh'))) {
    throw new Error(`no shared bench scripts in ${SHARED}: set TSIPSEC_SHARED_BENCH to their folder`);
  }
  const rows: BenchRow[] = [];
  const loadBefore = os.loadavg();
  try {
    for (const kind of kinds) {
      process.stderr.write(`bench: ${kind} ...\n`);
      try {
        rows.push(await measure(kind, secs));
      } catch (e) {
        process.stderr.write(`bench: ${kind} failed: ${(e as Error).message.split('\n')[0]}\n`);
      }
    }
  } finally {
    await sh(path.join(SHARED, 'down.sh'), []).catch(() => '');
  }
  const date = new Date().toISOString().slice(0, 10);
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node.js ${process.version}; load average (1, 5, 15 min) ${loads(loadBefore)} before, ${loads(os.loadavg())} after`;
  process.stdout.write(textTable(rows));
  const outDir = process.env['TUNNEL_BENCH_OUT'] ?? path.join(REPO, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const base = path.join(outDir, `tunnel-${date}`);
  fs.writeFileSync(`${base}.svg`, svgChart(rows));
  fs.writeFileSync(`${base}.md`, markdownReport(rows, { date, machine, secs, chart: path.basename(`${base}.svg`) }));
  process.stdout.write(`\nwritten: ${base}.md, ${base}.svg\n`);
}

await main();
