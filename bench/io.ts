/**
 * I/O figures, as root (network namespaces): TUN read and write rates, raw ESP socket send and receive rates
 * between two namespaces, all at 1400-byte IP packets, and the CPU an idle set of devices costs.
 * Prints figures; asserts nothing. `node dist/bench/io.js [seconds-per-run]`.
 *
 * Load generators run as child processes inside a namespace (`ip netns exec NS node dist/bench/io.js
 * --flood-udp|--flood-raw ...`), so the measuring process only receives.
 */
import { spawn } from 'node:child_process';
import { createDatagramBatch, createPacketBatch } from '../src/io/batch.js';
import { writeAddressSlot } from '../src/io/ip-address.js';
import { addAddress } from '../src/io/linux/iproute.js';
import { IpProto } from '../src/common/ip.js';
import { LinuxPacketSocket } from '../src/io/linux/raw-socket.js';
import { LinuxTun } from '../src/io/linux/tun.js';
import { LinuxUdpEndpoint } from '../src/io/linux/udp-endpoint.js';
import type { DatagramBatch } from '../src/io/types.js';
import { addNetns, delNetns, isRoot, sh, uniqueName, vethPair } from '../test/io/netns.js';

const PACKET_BYTES = 1400;
const IPV4_HEADER_BYTES = 20;
const UDP_HEADER_BYTES = 8;
const GENERATOR_BATCH = 32;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rate = (n: number, sec: number): string => `${Math.round(n / sec).toLocaleString('en-US')} pkt/s`;
const mbit = (n: number, sec: number): string => `${((n * PACKET_BYTES * 8) / sec / 1e6).toFixed(0)} Mbit/s`;

/** Child mode: send `seconds` of back-to-back datagrams through the project's own sendmmsg path. */
async function flood(kind: 'udp' | 'raw', dst: string, seconds: number): Promise<void> {
  const payload =
    kind === 'udp' ? PACKET_BYTES - IPV4_HEADER_BYTES - UDP_HEADER_BYTES : PACKET_BYTES - IPV4_HEADER_BYTES;
  const batch = createDatagramBatch({ size: GENERATOR_BATCH, bufferBytes: payload }, 4);
  for (let i = 0; i < GENERATOR_BATCH; i++) {
    const buf = batch.bufs[i] ?? Buffer.alloc(0);
    buf.fill(0x5a);
    buf.writeUInt32BE(0x01020304, 0); // a non-zero SPI: ESP on a NAT-T port
    batch.offsets[i] = 0;
    batch.lengths[i] = payload;
    writeAddressSlot(dst, 4, batch.remoteAddrs, i);
    batch.remotePorts[i] = 4500;
  }
  batch.count = GENERATOR_BATCH;
  const send: (b: DatagramBatch) => number =
    kind === 'udp'
      ? (
          (u) => (b: DatagramBatch) =>
            u.sendEsp(b)
        )(new LinuxUdpEndpoint({ family: 4, port: 0, natT: true }))
      : (
          (r) => (b: DatagramBatch) =>
            r.send(b)
        )(new LinuxPacketSocket({ family: 4, protocol: IpProto.ESP }));
  const end = performance.now() + seconds * 1000;
  let sent = 0;
  let calls = 0;
  const cpu0 = process.cpuUsage();
  while (performance.now() < end) {
    sent += send(batch);
    // Yield now and then so the process stays responsive; no sleeping.
    if (++calls % 64 === 0) await new Promise((r) => setImmediate(r));
  }
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(JSON.stringify({ sent, seconds, cpuUs: cpu.user + cpu.system }) + '\n');
  process.exit(0);
}

interface GeneratorResult {
  sent: number;
  cpuUs: number;
}

/** CPU microseconds per packet: comparable across runs even when the machine is shared. */
const perPacket = (cpuUs: number, n: number): string => `${(cpuUs / Math.max(1, n)).toFixed(2)} us CPU/pkt`;

function runGenerator(ns: string, kind: 'udp' | 'raw', dst: string, seconds: number): Promise<GeneratorResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, process.argv[1] ?? '', `--flood-${kind}`, dst, String(seconds)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`generator exited ${code}`));
      else resolve(JSON.parse(out) as GeneratorResult);
    });
  });
}

async function benchTunRead(seconds: number): Promise<void> {
  const ns = uniqueName('tsi-io-bench');
  let tun: LinuxTun | undefined;
  try {
    addNetns(ns);
    tun = new LinuxTun({ name: 'tsi0', mtu: 1500, netns: ns });
    await addAddress(tun.name, '198.51.100.1/24', { netns: ns });
    let packets = 0;
    tun.start((b) => (packets += b.count));
    const cpu0 = process.cpuUsage();
    const gen = await runGenerator(ns, 'udp', '198.51.100.2', seconds);
    await sleep(50);
    const cpu = process.cpuUsage(cpu0);
    const s = tun.stats;
    console.log(
      `TUN read   ${rate(packets, seconds)} (${mbit(packets, seconds)}), ${perPacket(cpu.user + cpu.system, packets)}, ` +
        `${(s.rxPackets / Math.max(1, s.rxWakeups)).toFixed(1)} packets per wake-up; ` +
        `generator (UDP sendmmsg into the TUN route) ${rate(gen.sent, seconds)}, ${perPacket(gen.cpuUs, gen.sent)}`,
    );
  } finally {
    await tun?.close();
    delNetns(ns);
  }
}

async function benchTunWrite(seconds: number): Promise<void> {
  const ns = uniqueName('tsi-io-bench');
  let tun: LinuxTun | undefined;
  let sink: LinuxUdpEndpoint | undefined;
  try {
    addNetns(ns);
    tun = new LinuxTun({ name: 'tsi0', mtu: 1500, netns: ns });
    await addAddress(tun.name, '198.51.100.1/24', { netns: ns });
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.tsi0.rp_filter=0']);
    sink = new LinuxUdpEndpoint({ family: 4, port: 9, natT: false, netns: ns, receiveBufferBytes: 4 << 20 });
    let received = 0;
    sink.start({ ike: () => received++ });
    // UDP/IPv4 packets from 198.51.100.2 to 198.51.100.1:9, UDP checksum 0 (allowed for IPv4, RFC 768).
    const batch = createPacketBatch({ size: GENERATOR_BATCH, bufferBytes: PACKET_BYTES + 64 });
    for (let i = 0; i < GENERATOR_BATCH; i++) {
      const p = batch.bufs[i] ?? Buffer.alloc(0);
      p.fill(0x33);
      p.set(
        [
          0x45,
          0,
          PACKET_BYTES >> 8,
          PACKET_BYTES & 0xff,
          0,
          0,
          0x40,
          0,
          64,
          17,
          0,
          0,
          198,
          51,
          100,
          2,
          198,
          51,
          100,
          1,
        ],
        0,
      );
      let sum = 0;
      for (let j = 0; j < IPV4_HEADER_BYTES; j += 2) sum += p.readUInt16BE(j);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      p.writeUInt16BE(~sum & 0xffff, 10);
      p.writeUInt16BE(40000, 20);
      p.writeUInt16BE(9, 22);
      p.writeUInt16BE(PACKET_BYTES - IPV4_HEADER_BYTES, 24);
      p.writeUInt16BE(0, 26);
      batch.offsets[i] = 0;
      batch.lengths[i] = PACKET_BYTES;
    }
    batch.count = GENERATOR_BATCH;
    const end = performance.now() + seconds * 1000;
    let written = 0;
    let calls = 0;
    let writeCpuUs = 0;
    while (performance.now() < end) {
      const c0 = process.cpuUsage();
      written += tun.write(batch);
      const c = process.cpuUsage(c0);
      writeCpuUs += c.user + c.system;
      if (++calls % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    await sleep(50);
    console.log(
      `TUN write  ${rate(written, seconds)} (${mbit(written, seconds)}), ${perPacket(writeCpuUs, written)} in write(2) ` +
        `(kernel delivery included); ${rate(received, seconds)} reached a UDP socket in the namespace (same process, ` +
        `starved while writing), ${tun.stats.txErrors} write errors`,
    );
  } finally {
    await sink?.close();
    await tun?.close();
    delNetns(ns);
  }
}

async function benchRaw(seconds: number): Promise<void> {
  const v = vethPair();
  let rx: LinuxPacketSocket | undefined;
  try {
    rx = new LinuxPacketSocket({ family: 4, protocol: IpProto.ESP, netns: v.nsB, receiveBufferBytes: 4 << 20 });
    let packets = 0;
    rx.start((b) => (packets += b.count));
    const cpu0 = process.cpuUsage();
    const gen = await runGenerator(v.nsA, 'raw', v.b4, seconds);
    await sleep(50);
    const cpu = process.cpuUsage(cpu0);
    const s = rx.stats;
    console.log(
      `raw ESP    send ${rate(gen.sent, seconds)} (${mbit(gen.sent, seconds)}), ${perPacket(gen.cpuUs, gen.sent)} ` +
        `(sendmmsg x${GENERATOR_BATCH}, veth included); receive ${rate(packets, seconds)}, ` +
        `${perPacket(cpu.user + cpu.system, packets)}, ${(s.rxPackets / Math.max(1, s.rxWakeups)).toFixed(1)} ` +
        `packets per wake-up, ${s.rxDrops} drops`,
    );
  } finally {
    await rx?.close();
    delNetns(v.nsA);
    delNetns(v.nsB);
  }
}

async function benchIdle(): Promise<void> {
  const ns = uniqueName('tsi-io-bench');
  const closers: (() => Promise<void>)[] = [];
  try {
    addNetns(ns);
    const tun = new LinuxTun({ name: 'tsi0', netns: ns });
    closers.push(() => tun.close());
    tun.start(() => undefined);
    for (const family of [4, 6] as const) {
      for (const port of [500, 4500]) {
        const u = new LinuxUdpEndpoint({ family, port, netns: ns });
        u.start({ ike: () => undefined, esp: () => undefined });
        closers.push(() => u.close());
      }
      const r = new LinuxPacketSocket({ family, protocol: IpProto.ESP, netns: ns });
      r.start(() => undefined);
      closers.push(() => r.close());
    }
    const psTime = (): string => sh('ps', ['-o', 'time=', '-p', String(process.pid)]).trim();
    const ps0 = psTime();
    const cpu0 = process.cpuUsage();
    await sleep(5000);
    const cpu = process.cpuUsage(cpu0);
    const ps1 = psTime();
    const usedMs = (cpu.user + cpu.system) / 1000;
    console.log(
      `idle       TUN + UDP 500/4500 + raw ESP, IPv4 and IPv6 (${closers.length} fds) armed for 5 s: ` +
        `${usedMs.toFixed(1)} ms CPU (${((usedMs / 5000) * 100).toFixed(2)} %), ps -o time ${ps0} -> ${ps1}`,
    );
  } finally {
    for (const c of closers) await c();
    delNetns(ns);
  }
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  if (mode === '--flood-udp' || mode === '--flood-raw') {
    await flood(mode === '--flood-udp' ? 'udp' : 'raw', process.argv[3] ?? '', Number(process.argv[4] ?? '2'));
    return;
  }
  if (!isRoot) {
    console.log('bench/io: needs root (network namespaces, TUN, raw sockets); nothing measured');
    return;
  }
  const seconds = Number(mode ?? '2');
  const load = sh('cat', ['/proc/loadavg']).split(' ').slice(0, 3).join(' ');
  console.log(
    `bench/io: ${PACKET_BYTES}-byte IPv4 packets, ${seconds} s per run, batch ${GENERATOR_BATCH}; ` +
      `load average ${load} (rates depend on it; CPU per packet less so)`,
  );
  await benchTunRead(seconds);
  await benchTunWrite(seconds);
  await benchRaw(seconds);
  await benchIdle();
}

await main();
