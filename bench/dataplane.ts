/**
 * Data-plane cost beyond raw crypto, one direction (A -> B), AES-128-GCM-16 tunnel mode, at 64, 512 and
 * 1400-byte inner packets:
 *   seal only     EspOutboundSa.seal on a reused buffer (the crypto floor, plus the copy the next rows need)
 *   outbound      UserspaceDataplane.handleTunBatch: selector fields, SPD (cached), SAD, seal, send batch;
 *                 the socket is a counting stub, so no I/O or copies beyond the in-place seal
 *   inbound       UserspaceDataplane.handleEspBatch: SPI -> SAD, open, selector check, TUN batch (stub)
 *   two peers     MemoryTun -> A -> MemoryNetwork (raw ESP) -> B -> MemoryTun, end to end, including the
 *                 memory twins' copies and event-loop turns
 * SPD lookups with 1 to 10,000 policies (flow cache, index, and the ordered scan for comparison), and the
 * outbound pipeline with up to 10,000 CHILD_SAs installed and traffic spread over all of them (heap per SA).
 * Figures are packets per CPU second of this process (the machine is shared). Prints; asserts nothing.
 * Run: node dist/bench/dataplane.js   (DATAPLANE_BENCH_MS=<ms per row>, default 300)
 */
import { performance } from 'node:perf_hooks';
import { EspOutboundSa } from '../src/esp/outbound-sa.js';
import { createAead, EncrId } from '../src/crypto/index.js';
import { createTestRng } from '../src/crypto/rng.js';
import { UserspaceDataplane } from '../src/dataplane/userspace-dataplane.js';
import { createDatagramBatch, createPacketBatch } from '../src/io/batch.js';
import { DatagramKind, newIoStats } from '../src/io/types.js';
import type { DatagramBatch, PacketBatch, PacketSocket, TunDevice } from '../src/io/types.js';
import {
  HOST_A,
  HOST_B,
  KEY_A_TO_B,
  OUTER_A,
  OUTER_B,
  SITE_A,
  SITE_B,
  SPI_A_TO_B,
  makePeers,
  nextWrites,
  saArgs,
} from '../test/dataplane/two-peers.js';
import { ipv4, udp } from '../test/spd/packets.js';
import { FlowKey, extractFlow } from '../src/spd/flow.js';
import { SecurityPolicyDatabase } from '../src/spd/spd.js';

const SIZES = [64, 512, 1400] as const;
const ROW_MS = Number(process.env['DATAPLANE_BENCH_MS'] ?? 300);
const BATCH = 32;
const HEADROOM = 64;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs `round` (which processes `perRound` packets) for about ROW_MS of CPU; returns packets per CPU second. */
function rate(perRound: number, round: () => void): number {
  for (let i = 0; i < 20; i++) round();
  let rounds = 0;
  const start = cpuMs();
  while (cpuMs() - start < ROW_MS) {
    for (let i = 0; i < 10; i++) round();
    rounds += 10;
  }
  return (rounds * perRound) / ((cpuMs() - start) / 1000);
}

function packet(size: number, dst: string = HOST_B): Buffer {
  return ipv4(HOST_A, dst, 17, udp(4000, 9000, Buffer.alloc(size - 28, 0x61)));
}

class StubTun implements TunDevice {
  readonly name = 'stub';
  readonly mtu = 1500;
  readonly headroom = HEADROOM;
  readonly stats = newIoStats();
  start(): void {}
  write(batch: PacketBatch): number {
    this.stats.txPackets += batch.count;
    return batch.count;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

class StubSocket implements PacketSocket {
  readonly family = 4 as const;
  readonly protocol = 50;
  readonly stats = newIoStats();
  /** When set, copies of what is sent (to feed the inbound row). */
  capture: Buffer[] | undefined;
  start(): void {}
  send(batch: DatagramBatch): number {
    if (this.capture !== undefined) {
      for (let i = 0; i < batch.count; i++) {
        const off = batch.offsets[i]!;
        this.capture.push(Buffer.from(batch.bufs[i]!.subarray(off, off + batch.lengths[i]!)));
      }
    }
    this.stats.txPackets += batch.count;
    return batch.count;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function stubPeer(inbound: boolean): Promise<{ dp: UserspaceDataplane; sock: StubSocket; tun: StubTun }> {
  const tun = new StubTun();
  const sock = new StubSocket();
  const dp = new UserspaceDataplane({ tun, espSockets: { 4: sock }, rng: createTestRng('bench') });
  const sel = inbound ? { local: SITE_B, remote: SITE_A } : { local: SITE_A, remote: SITE_B };
  await dp.addPolicy({ direction: 'out', selector: sel, action: 'protect', reqid: 1 });
  await dp.addSa(saArgs(SPI_A_TO_B, inbound, OUTER_A, OUTER_B, [sel], {}, KEY_A_TO_B));
  return { dp, sock, tun };
}

async function row(size: number): Promise<string[]> {
  const pkt = packet(size);
  // Seal only.
  const sa = new EspOutboundSa({
    spi: SPI_A_TO_B,
    mode: 'tunnel',
    esn: true,
    transform: { aead: createAead(EncrId.ENCR_AES_GCM_16, KEY_A_TO_B) },
  });
  const buf = Buffer.alloc(HEADROOM + 1500 + 64);
  const view = { buf, off: HEADROOM, len: 0 };
  const sealOnly = rate(1, () => {
    pkt.copy(buf, HEADROOM);
    view.off = HEADROOM;
    view.len = pkt.length;
    sa.seal(view);
  });

  // Outbound pipeline over a batch of 32.
  const out = await stubPeer(false);
  const tunBatch = createPacketBatch({ size: BATCH, bufferBytes: HEADROOM + 1500 + 64 });
  tunBatch.count = BATCH;
  const outbound = rate(BATCH, () => {
    for (let i = 0; i < BATCH; i++) {
      pkt.copy(tunBatch.bufs[i]!, HEADROOM);
      tunBatch.offsets[i] = HEADROOM;
      tunBatch.lengths[i] = pkt.length;
    }
    out.dp.handleTunBatch(tunBatch);
  });

  // Inbound: sealed packets captured from a fresh outbound SA, each opened once.
  const src = await stubPeer(false);
  const dst = await stubPeer(true);
  const sealed: Buffer[] = [];
  src.sock.capture = sealed;
  const need = Math.max(2000, Math.ceil((outbound * ROW_MS) / 1000) * 3);
  for (let n = 0; n < need; n += BATCH) {
    for (let i = 0; i < BATCH; i++) {
      pkt.copy(tunBatch.bufs[i]!, HEADROOM);
      tunBatch.offsets[i] = HEADROOM;
      tunBatch.lengths[i] = pkt.length;
    }
    src.dp.handleTunBatch(tunBatch);
  }
  const espBatch = createDatagramBatch({ size: BATCH, bufferBytes: 2048 }, 4);
  espBatch.kinds.fill(DatagramKind.ESP);
  espBatch.count = BATCH;
  let next = 0;
  const inbound = rate(BATCH, () => {
    for (let i = 0; i < BATCH; i++) {
      const s = sealed[next++ % sealed.length]!;
      s.copy(espBatch.bufs[i]!, 0);
      espBatch.offsets[i] = 0;
      espBatch.lengths[i] = s.length;
    }
    dst.dp.handleEspBatch(espBatch);
  });
  const delivered = dst.tun.stats.txPackets;

  // Two peers end to end over the memory twins.
  const peers = await makePeers({ installSas: true });
  const n = 4000;
  const got = nextWrites(peers.b.tun, n, 60_000);
  const t0 = cpuMs();
  const w0 = performance.now();
  for (let i = 0; i < n; i++) peers.a.tun.inject(pkt);
  await got;
  const twoPeers = n / ((cpuMs() - t0) / 1000);
  const wall = n / ((performance.now() - w0) / 1000);
  await peers.close();

  const k = (x: number): string => `${(x / 1000).toFixed(0)}k`.padStart(7);
  return [
    String(size).padStart(5),
    k(sealOnly),
    k(outbound),
    k(inbound),
    k(twoPeers),
    k(wall),
    `${((outbound * size * 8) / 1e9).toFixed(2)}`.padStart(6),
    delivered > 0 ? '' : ' (inbound delivered nothing!)',
  ];
}

/** The /32 remote of road warrior `i` (198.51.100.0 .. 198.51.255.255: up to 40,000 of them). */
function warrior(i: number): string {
  return `198.51.${100 + (i >> 8)}.${i & 255}`;
}

/**
 * SPD lookups per CPU second with `n` policies, one /32 remote each (a gateway's road warriors): repeating
 * flows (the flow cache), flows spread over every policy (cache misses, the index), and the ordered scan
 * every lookup would be without the index.
 */
function spdRow(n: number): string {
  const spd = new SecurityPolicyDatabase();
  for (let i = 0; i < n; i++) {
    spd.add({
      direction: 'out',
      selector: { local: SITE_A, remote: `${warrior(i)}/32` },
      action: 'protect',
      reqid: i + 1,
    });
  }
  const keys: FlowKey[] = [];
  for (let i = 0; i < 4096; i++) {
    const p = ipv4(HOST_A, warrior((i * 7919) % n), 17, udp(1024 + i, 53));
    const k = new FlowKey();
    extractFlow(p, 0, p.length, k);
    keys.push(k);
  }
  let j = 0;
  const hot = rate(64, () => {
    for (let i = 0; i < 64; i++) spd.lookup('out', keys[i & 7]!);
  });
  const spread = rate(64, () => {
    for (let i = 0; i < 64; i++) spd.lookup('out', keys[j++ & 4095]!);
  });
  const scan = rate(64, () => {
    for (let i = 0; i < 64; i++) spd.lookupUncached('out', keys[j++ & 4095]!);
  });
  const m = (x: number): string => (x / 1e6).toFixed(2).padStart(6);
  return `spd ${String(n).padStart(6)} policies: ${m(hot)} M/s cached  ${m(spread)} M/s spread (index)  ${m(scan)} M/s ordered scan`;
}

/**
 * The outbound pipeline with `n` CHILD_SAs installed (a policy and an outbound SA each) and traffic on
 * `active` of them, round-robin: packets per CPU second and heap bytes per SA. With every SA active, nearly
 * every packet misses the flow cache and touches another SA's keys (memory-bound); with a few active, the
 * figure shows what the installed ones cost the traffic.
 */
async function scaleRow(n: number, size: number, active: number): Promise<{ pps: number; bytesPerSa: number }> {
  const tun = new StubTun();
  const sock = new StubSocket();
  const dp = new UserspaceDataplane({ tun, espSockets: { 4: sock }, rng: createTestRng('scale') });
  const heap0 = heapUsed();
  for (let i = 0; i < n; i++) {
    const sel = { local: SITE_A, remote: `${warrior(i)}/32` };
    await dp.addPolicy({ direction: 'out', selector: sel, action: 'protect', reqid: i + 1 });
    await dp.addSa({ ...saArgs(0x1000 + i, false, OUTER_A, OUTER_B, [sel], {}, KEY_A_TO_B), reqid: i + 1 });
  }
  const bytesPerSa = (heapUsed() - heap0) / n;
  const flows = Math.min(active, 4096);
  const pkts = Array.from({ length: flows }, (_, i) => packet(size, warrior((i * 7919) % active)));
  const batch = createPacketBatch({ size: BATCH, bufferBytes: HEADROOM + 1500 + 64 });
  batch.count = BATCH;
  let j = 0;
  const pps = rate(BATCH, () => {
    for (let i = 0; i < BATCH; i++) {
      pkts[j++ % flows]!.copy(batch.bufs[i]!, HEADROOM);
      batch.offsets[i] = HEADROOM;
      batch.lengths[i] = pkts[0]!.length;
    }
    dp.handleTunBatch(batch);
  });
  if (sock.stats.txPackets === 0) throw new Error('scale: nothing was sealed');
  return { pps, bytesPerSa };
}

/** JavaScript heap and external memory in use (OpenSSL's own allocations for each SA's contexts are not counted). */
function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

async function main(): Promise<void> {
  for (const n of [1, 10, 100, 1000, 10_000]) console.log(spdRow(n));
  const one = await scaleRow(1, 512, 1);
  console.log('outbound pipeline, 512 B packets, n CHILD_SAs installed, traffic on 8 of them / on all of them:');
  for (const n of [1, 100, 1000, 10_000]) {
    const few = n === 1 ? one : await scaleRow(n, 512, Math.min(8, n));
    const all = n === 1 ? one : await scaleRow(n, 512, n);
    const pct = (x: number): string => `${((x / one.pps) * 100).toFixed(0)}%`.padStart(5);
    const k = (x: number): string => `${(x / 1e3).toFixed(0)}k`.padStart(5);
    console.log(
      `  ${String(n).padStart(6)} SAs: ${k(few.pps)} pkt/s (${pct(few.pps)} of one SA)  all active: ${k(all.pps)} (${pct(all.pps)})  ${(all.bytesPerSa / 1024).toFixed(1)} KiB heap per CHILD_SA`,
    );
  }
  console.log('dataplane: packets per CPU second, AES-128-GCM-16 tunnel mode, one direction');
  console.log(' size  seal-only outbound  inbound  2-peers 2p-wall  out-Gb/s');
  for (const size of SIZES) console.log((await row(size)).join('  '));
}

await main();
