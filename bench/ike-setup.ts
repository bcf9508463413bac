/**
 * IKE setup rate against a responder in another namespace: the project's daemon and strongSwan's charon, in one
 * run, driven by the same load generator (bench/ike-load.ts, the project's own IKE engine as initiator).
 *
 *   generator ns (lab left): N source addresses, 198.51.100.10-249 and 2001:db8:1::1:0/112 on lo, one UDP socket
 *                            each on port 500, each its own identity (g<i>.load.example.org)
 *        | veth 192.0.2.1 / 2001:db8::1  ->  192.0.2.2 / 2001:db8::2
 *   responder ns (lab right): `tsipsec daemon`, then charon, with one swanctl.conf accepting %any with a PSK:
 *                            aes128gcm16-prfsha256-x25519, a CHILD_SA aes128gcm16 to 203.0.113.0/24 or 2001:db8:2::/64
 *
 * For each responder: a warm-up batch of B setups, deleted again; 10 IKE_SAs up, then a batch of B setups (the
 * rate and latency "at 10"), fill up to N, then another batch of B (the rate "at N"), then one more CHILD_SA on C
 * of the IKE_SAs. The responder's RSS is read
 * between the steps: per IKE_SA (with its CHILD_SA) = (RSS at N - RSS at 10) / (N - 10), per CHILD_SA = the RSS
 * the C extra CHILD_SAs added / C. At most W setups are in flight. Prints the table and writes it to
 * bench/results/ike-setup-DATE.md (IKE_SETUP_OUT=DIR elsewhere), with the machine's load before and after.
 *
 *   npm run bench:ike                                   N = 10000, both responders
 *   node dist/bench/ike-setup.js 2000 project           N = 2000, only the daemon
 *   IKE_SETUP_BATCH=300 IKE_SETUP_WINDOW=32 IKE_SETUP_CHILDREN=2000 (defaults)
 *   IKE_SETUP_PROF=DIR  runs the daemon under node --cpu-prof, profile written to DIR
 *
 * Needs root, strongswan-charon and nftables (scripts/setup.sh). Prints; asserts nothing. The generator shares the
 * machine's cores with the responder: the rates are those of the pair, and only ratios from one run mean anything.
 */
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { nodeRng } from '../src/crypto/index.js';
import { Lab, waitFor } from '../src/demo/lab.js';
import type { Endpoint } from '../src/ike/events.js';
import { IkeLoadGenerator } from './ike-load.js';
import type { BatchResult } from './ike-load.js';

const HERE = fileURLToPath(import.meta.url);
const REPO = path.resolve(path.dirname(HERE), '..', '..');
const CLI = path.join(REPO, 'dist', 'src', 'cli', 'main.js');
const CHARON = '/usr/lib/ipsec/charon';
const PSK = 'ike setup rate benchmark key';
const R4: Endpoint = { address: '192.0.2.2', port: 500 };
const R6: Endpoint = { address: '2001:db8::2', port: 500 };
const V4_SOURCES = 240;
/**
 * Source addresses at most: each has two sockets (500 and 4500), and the descriptor limit here is 20,000. Setups
 * beyond it reuse addresses (and identities) from the first on; neither responder replaces IKE_SAs (unique = no).
 */
const MAX_SOURCES = 8000;
const sourceCount = (n: number, batch: number): number => Math.min(n + 2 * batch + 10, MAX_SOURCES);
const NAT_T_PORT = 4500;
const NON_ESP_MARKER = Buffer.alloc(4);

type Kind = 'project' | 'strongswan';
const KINDS: readonly Kind[] = ['project', 'strongswan'];

/** The generator's source addresses: 240 from 198.51.100.0/24, the rest from 2001:db8:1::1:0/112. */
export function sourceAddresses(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++)
    out.push(i < V4_SOURCES ? `198.51.100.${10 + i}` : `2001:db8:1::1:${(i - V4_SOURCES).toString(16)}`);
  return out;
}

// ---- generator process (runs inside the generator namespace) ----------------------------------------------------

interface Command {
  readonly cmd: 'batch' | 'children' | 'terminate' | 'quit';
  readonly count: number;
  readonly window?: number;
}

async function generatorMain(addressCount: number): Promise<void> {
  const addresses = sourceAddresses(addressCount);
  const sources: Endpoint[] = addresses.map((address) => ({ address, port: 500 }));
  const gen = new IkeLoadGenerator({
    sources,
    responder: (s) => (s.address.includes(':') ? R6 : R4),
    psk: Buffer.from(PSK),
    rng: nodeRng,
    remoteTsOf: (s) => (s.address.includes(':') ? ['2001:db8:2::/64'] : ['203.0.113.0/24']),
  });
  /** By `address/port`: each source has a socket on 500 and on the NAT-T port, where IKE carries the non-ESP marker. */
  const sockets = new Map<string, dgram.Socket>();
  let flushQueued = false;
  let timer: NodeJS.Timeout | undefined;
  let onIdle: (() => void) | undefined;
  const flush = (): void => {
    flushQueued = false;
    const now = performance.now();
    for (const d of gen.pump(now)) {
      const sock = sockets.get(`${d.from.address}/${d.from.port}`);
      const bytes = d.from.port === NAT_T_PORT ? Buffer.concat([NON_ESP_MARKER, d.bytes]) : d.bytes;
      sock?.send(bytes, d.to.port, d.to.address);
    }
    if (timer !== undefined) clearTimeout(timer);
    const due = gen.nextTimerMs();
    timer = due === undefined ? undefined : setTimeout(flush, Math.max(1, due - performance.now()));
    if (!gen.busy && onIdle !== undefined) {
      const f = onIdle;
      onIdle = undefined;
      f();
    }
  };
  const queueFlush = (): void => {
    if (!flushQueued) {
      flushQueued = true;
      setImmediate(flush);
    }
  };
  const bind = (address: string, port: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const sock = dgram.createSocket({ type: address.includes(':') ? 'udp6' : 'udp4' });
      sock.on('error', reject);
      sock.on('message', (msg, rinfo) => {
        if (port === NAT_T_PORT && (msg.length < 4 || msg.readUInt32BE(0) !== 0)) return; // not IKE
        const bytes = port === NAT_T_PORT ? msg.subarray(4) : msg;
        const from = { address: rinfo.address, port: rinfo.port };
        gen.receive({ bytes, from, to: { address, port } }, performance.now());
        queueFlush();
      });
      sock.bind(port, address, () => resolve());
      sockets.set(`${address}/${port}`, sock);
    });
  for (const s of sources) {
    await bind(s.address, s.port);
    await bind(s.address, NAT_T_PORT);
  }
  const reply = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
  reply({ ready: true });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const c = JSON.parse(line) as Command;
    if (c.cmd === 'quit') break;
    const done = new Promise<void>((resolve) => (onIdle = resolve));
    if (c.cmd === 'batch') gen.startBatch(c.count, c.window ?? 32, performance.now());
    else if (c.cmd === 'children') gen.startChildren(c.count, performance.now());
    else gen.startTerminate(performance.now());
    queueFlush();
    await done;
    reply(c.cmd === 'batch' ? gen.result() : { childrenInstalled: gen.childrenInstalled });
  }
  for (const s of sockets.values()) s.close();
  process.exit(0);
}

// ---- orchestrator ------------------------------------------------------------------------------------------------

class Generator {
  private readonly lines: AsyncIterator<string>;
  private readonly proc: ChildProcess;

  constructor(lab: Lab, addressCount: number) {
    this.proc = lab.spawn(lab.left, process.execPath, [HERE, '--generator', String(addressCount)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    if (this.proc.stdout === null) throw new Error('generator without stdout');
    this.lines = readline.createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }

  async next<T>(): Promise<T> {
    const r = await this.lines.next();
    if (r.done === true) throw new Error('the generator ended');
    return JSON.parse(r.value) as T;
  }

  async ask<T>(c: Command): Promise<T> {
    this.proc.stdin?.write(`${JSON.stringify(c)}\n`);
    return this.next<T>();
  }

  quit(): void {
    this.proc.stdin?.write(`${JSON.stringify({ cmd: 'quit', count: 0 })}\n`);
  }
}

const SWANCTL_CONF = `connections {
  gw {
    version = 2
    local_addrs = 192.0.2.2, 2001:db8::2
    remote_addrs = %any
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = psk
      id = gw.example.org
    }
    remote {
      auth = psk
    }
    # kernel-libipsec (charon's user-space data plane, as the daemon's) does ESP in UDP only
    encap = yes
    children {
      net {
        local_ts = 203.0.113.0/24, 2001:db8:2::/64
        esp_proposals = aes128gcm16
      }
    }
  }
}
secrets {
  ike-load {
    secret = "${PSK}"
  }
}
`;

/**
 * strongswan.conf for both responders. The daemon reads only the half-open limits from it; charon gets 16 worker
 * threads (its default), IKE_SA hash tables sized for 10,000 SAs (its default is one bucket), kernel-libipsec as
 * data plane (its user-space one; the kernel's XFRM here has no ESP) with routes to the TUN that its own IKE
 * bypasses by a firewall mark (as the daemon's routes) and file logging at its default level 1, as the
 * daemon's default --log-level.
 */
function strongswanConf(dir: string, vici: string, log: string): string {
  return `charon {
  load = random nonce openssl aes gcm sha1 sha2 hmac curve25519 kdf pem pkcs1 pubkey socket-default kernel-libipsec kernel-netlink vici
  threads = 16
  ikesa_table_size = 4096
  ikesa_table_segments = 16
  cookie_threshold = 100000
  block_threshold = 100000
  init_limit_half_open = 0
  port = 500
  port_nat_t = 4500
  plugins {
    vici { socket = unix://${vici} }
    kernel-libipsec { allow_peer_ts = yes }
    # IKE bypasses the routes to the TUN (the peers' own addresses are the remote selectors)
    socket-default { fwmark = 0x42 }
    kernel-netlink { fwmark = !0x42 }
  }
  filelog {
    bench {
      path = ${log}
      default = 1
      time_format = %T
    }
  }
}
# ${dir}
`;
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

/** CPU time (user + system, all threads) the process has used, in ms. */
function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

interface KindResult {
  readonly kind: Kind;
  /** The responder's CPU ms per setup in the batches at 10 and at N. */
  readonly cpuMsAt10: number;
  readonly cpuMsAtN: number;
  readonly at10: BatchResult;
  readonly fill: BatchResult;
  readonly atN: BatchResult;
  readonly kbPerIkeSa: number;
  readonly kbPerChildSa: number;
  readonly rss10Kb: number;
  readonly rssNKb: number;
  readonly childrenInstalled: number;
}

async function startResponder(lab: Lab, kind: Kind, dir: string): Promise<number> {
  const conf = path.join(dir, 'strongswan.conf');
  const vici = path.join(dir, 'charon.vici');
  fs.writeFileSync(conf, strongswanConf(dir, vici, path.join(dir, 'charon.log')));
  const swanctl = path.join(dir, 'swanctl.conf');
  fs.writeFileSync(swanctl, SWANCTL_CONF, { mode: 0o600 });
  if (kind === 'project') {
    const control = path.join(dir, 'tsipsec.sock');
    const log = fs.openSync(path.join(dir, 'tsipsec.log'), 'w');
    const prof = process.env['IKE_SETUP_PROF'];
    const nodeArgs = prof === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', prof];
    const args = [...nodeArgs, CLI, 'daemon', '--config', swanctl, '--strongswan-conf', conf, '--control', control];
    const p = lab.spawn(lab.right, process.execPath, args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    await waitFor('the tsipsec daemon', () => fs.existsSync(control), 20_000);
    if (p.pid === undefined) throw new Error('no daemon pid');
    return p.pid;
  }
  const p = lab.spawn(lab.right, 'sh', ['-c', `mount -t tmpfs tmpfs /run && STRONGSWAN_CONF=${conf} exec ${CHARON}`], {
    stdio: 'ignore',
  });
  await waitFor("charon's vici socket", () => fs.existsSync(vici), 20_000);
  execFileSync('swanctl', ['--load-all', '--file', swanctl, '--uri', `unix://${vici}`], { stdio: 'ignore' });
  if (p.pid === undefined) throw new Error('no charon pid');
  return p.pid;
}

async function stopResponder(lab: Lab, pid: number): Promise<void> {
  // SIGINT lets node write a --cpu-prof profile; charon and the daemon both stop on it.
  try {
    process.kill(pid, process.env['IKE_SETUP_PROF'] !== undefined ? 'SIGINT' : 'SIGKILL');
  } catch {
    // gone already
  }
  await waitFor('the responder to stop', () => !fs.existsSync(`/proc/${pid}`), 120_000).catch(() =>
    process.kill(pid, 'SIGKILL'),
  );
  // What the killed responder left: its nft table, its routes and routing rules (both use table 220).
  await lab.exec(lab.right, 'nft', ['delete', 'table', 'inet', 'tsipsec']).catch(() => undefined);
  for (const family of ['-4', '-6']) {
    for (let i = 0; i < 8; i++)
      if (
        !(await lab.ip(lab.right, family, 'rule', 'del', 'pref', '220').then(
          () => true,
          () => false,
        ))
      )
        break;
    await lab.ip(lab.right, family, 'route', 'flush', 'table', '220').catch(() => undefined);
  }
  await lab.ip(lab.right, 'xfrm', 'state', 'flush');
  await lab.ip(lab.right, 'xfrm', 'policy', 'flush');
}

async function benchKind(lab: Lab, kind: Kind, n: number, batch: number, window: number, children: number) {
  const dir = fs.mkdtempSync(path.join(lab.dir, `${kind}-`));
  const pid = await startResponder(lab, kind, dir);
  const gen = new Generator(lab, sourceCount(n, batch));
  try {
    await gen.next<{ ready: boolean }>();
    let cpuPerSetupMs = NaN;
    const step = async (count: number): Promise<BatchResult> => {
      const cpu0 = cpuMs(pid);
      const r = await gen.ask<BatchResult>({ cmd: 'batch', count, window });
      cpuPerSetupMs = (cpuMs(pid) - cpu0) / Math.max(1, r.established);
      process.stdout.write(
        `  ${kind}: ${r.established}/${r.asked} up in ${(r.elapsedMs / 1000).toFixed(2)} s, ${r.perSec.toFixed(0)}/s, ` +
          `responder ${cpuPerSetupMs.toFixed(2)} ms CPU each\n`,
      );
      return r;
    };
    // Warm-up (the daemon's JIT, charon's allocations): a batch, deleted again.
    await step(batch);
    await gen.ask<unknown>({ cmd: 'terminate', count: 0 });
    await step(10);
    await sleep(500);
    const rss10Kb = rssKb(pid);
    const at10 = await step(batch);
    const cpuMsAt10 = cpuPerSetupMs;
    const fill = await step(n - 10 - batch);
    await sleep(500);
    const rssNKb = rssKb(pid);
    const atN = await step(batch);
    const cpuMsAtN = cpuPerSetupMs;
    await sleep(500);
    const rssBeforeChildrenKb = rssKb(pid);
    const c = await gen.ask<{ childrenInstalled: number }>({ cmd: 'children', count: children });
    await sleep(500);
    const rssChildrenKb = rssKb(pid);
    gen.quit();
    return {
      kind,
      cpuMsAt10,
      cpuMsAtN,
      at10,
      fill,
      atN,
      rss10Kb,
      rssNKb,
      kbPerIkeSa: (rssNKb - rss10Kb) / (n - 10),
      kbPerChildSa: (rssChildrenKb - rssBeforeChildrenKb) / Math.max(1, c.childrenInstalled),
      childrenInstalled: c.childrenInstalled,
    } satisfies KindResult;
  } finally {
    await stopResponder(lab, pid);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function addSources(lab: Lab, count: number): Promise<void> {
  const lines = sourceAddresses(count).map((a) =>
    a.includes(':') ? `address add ${a}/128 dev lo nodad` : `address add ${a}/32 dev lo`,
  );
  const file = path.join(lab.dir, 'sources.batch');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  await lab.ip(lab.left, '-batch', file);
  await lab.ip(lab.right, 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.1');
  await lab.ip(lab.right, '-6', 'route', 'add', '2001:db8:1::/64', 'via', '2001:db8::1');
}

const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-');
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');

function table(rows: readonly KindResult[], n: number): string {
  const head =
    `| responder | setups/s at 10 | p50 / p90 / p99 ms at 10 | setups/s at ${n} | p50 / p90 / p99 ms at ${n} |` +
    ` at ${n} / at 10 | responder CPU ms per setup at 10 / at ${n} | fill 10 to ${n}, /s | failed, retransmits |` +
    ` RSS at 10 / at ${n}, MB | KB per IKE_SA + CHILD_SA | KB per extra CHILD_SA |`;
  const lines = [head, `| --- ${'| ---: '.repeat(11)}|`];
  for (const r of rows) {
    const lat = (b: BatchResult): string => `${f1(b.p50Ms)} / ${f1(b.p90Ms)} / ${f1(b.p99Ms)}`;
    const failed = r.at10.failed + r.fill.failed + r.atN.failed;
    const rt = r.at10.retransmits + r.fill.retransmits + r.atN.retransmits;
    lines.push(
      `| ${r.kind} | ${f0(r.at10.perSec)} | ${lat(r.at10)} | ${f0(r.atN.perSec)} | ${lat(r.atN)} | ` +
        `${(r.atN.perSec / r.at10.perSec).toFixed(2)} | ${f1(r.cpuMsAt10)} / ${f1(r.cpuMsAtN)} | ` +
        `${f0(r.fill.perSec)} | ${failed}, ${rt} | ` +
        `${f1(r.rss10Kb / 1024)} / ${f1(r.rssNKb / 1024)} | ${f1(r.kbPerIkeSa)} | ${f1(r.kbPerChildSa)} |`,
    );
  }
  const p = rows.find((r) => r.kind === 'project');
  const s = rows.find((r) => r.kind === 'strongswan');
  if (p !== undefined && s !== undefined)
    lines.push(
      `| project / strongswan | ${(p.at10.perSec / s.at10.perSec).toFixed(2)} | | ` +
        `${(p.atN.perSec / s.atN.perSec).toFixed(2)} | | | | ${(p.fill.perSec / s.fill.perSec).toFixed(2)} | | | | |`,
    );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 10_000);
  const kinds = KINDS.filter(
    (k) => args.length === 0 || args.includes(k) || !args.some((a) => KINDS.includes(a as Kind)),
  );
  const batch = Number(process.env['IKE_SETUP_BATCH'] ?? 300);
  const window = Number(process.env['IKE_SETUP_WINDOW'] ?? 32);
  const children = Math.min(n, Number(process.env['IKE_SETUP_CHILDREN'] ?? 2000));
  if (n < 10 + batch) throw new Error(`N (${n}) must be at least 10 + IKE_SETUP_BATCH (${batch})`);
  const loadBefore = os.loadavg();
  const started = new Date();
  const lab = await Lab.create('ikesetup');
  const onSignal = (): void => void lab.destroy().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const rows: KindResult[] = [];
  try {
    await addSources(lab, sourceCount(n, batch));
    for (const kind of kinds) {
      console.log(`bench: ${kind} ...`);
      rows.push(await benchKind(lab, kind, n, batch, window, children));
    }
  } finally {
    await lab.destroy();
  }
  const loadAfter = os.loadavg();
  const text = table(rows, n);
  console.log(text);
  const date = started.toISOString().slice(0, 10);
  const outDir = process.env['IKE_SETUP_OUT'] ?? path.join(REPO, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `ike-setup-${date}.md`);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const charonVersion = (() => {
    try {
      return execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'strongswan-charon'], { encoding: 'utf8' });
    } catch {
      return 'unknown';
    }
  })();
  const la = (l: number[]): string => l.map((x) => x.toFixed(2)).join(', ');
  fs.writeFileSync(
    file,
    `# IKE setup rate, ${date}

Machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node.js ${process.version},
strongSwan ${charonVersion}. Load average (1, 5, 15 min) before: ${la(loadBefore)}; after: ${la(loadAfter)}. The machine
is shared with other work: figures can be off by tens of percent between runs; compare within a run.

Generator: the project's IKE engine in its own namespace (bench/ike-load.ts), ${sourceCount(n, batch)} source
addresses (198.51.100.10-249, 2001:db8:1::1:0/112), one identity each, PSK, aes128gcm16-prfsha256-x25519, one
CHILD_SA (aes128gcm16) per IKE_SA, at most ${window} setups in flight. It shares the two cores with the responder.
"at 10": after a warm-up batch of ${batch} (deleted again), a batch of ${batch} setups started with 10 IKE_SAs up; "at ${n}": a batch of ${batch} started with ${n} up.
Latency: initiate to CHILD_SA installed, at the generator. Memory: the responder's RSS growth from 10 to ${n}
IKE_SAs (each with its CHILD_SA) per IKE_SA, and from ${children} more CHILD_SAs (CREATE_CHILD_SA) per CHILD_SA.

Responders, one swanctl.conf: \`tsipsec daemon\` (user-space data plane, TUN, --log-level 1) and charon
(threads = 16, ikesa_table_size = 4096, ikesa_table_segments = 16, kernel-libipsec: its user-space data plane,
with routes to its TUN that its IKE bypasses by fwmark, file log level 1). \`encap = yes\` (kernel-libipsec does ESP in UDP only), so IKE_AUTH and
later go to port 4500 for both. Both with cookie_threshold = 100000, block_threshold = 100000, init_limit_half_open = 0 in the
same strongswan.conf, so every setup is the plain four-message exchange.

${text}
`,
  );
  console.log(`\nwritten: ${file}`);
}

if (process.argv[2] === '--generator') void generatorMain(Number(process.argv[3]));
else
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
