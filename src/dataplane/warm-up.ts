/**
 * Warm the packet path before the first real packet. JavaScript starts interpreted: a tunnel carrying a few
 * packets a second (an interactive session, a ping) would run its ESP path cold for minutes, and a lone packet
 * then costs several times what it costs once the JIT has compiled the path. At start the daemon pushes a few
 * thousand synthetic packets both ways through two scratch data planes (memory stubs, throwaway keys, the same
 * classes and code as the real one): AES-GCM and AES-CBC with HMAC-SHA2, raw ESP and ESP in UDP, tunnel mode.
 * Nothing touches the network; the scratch data planes are dropped afterwards.
 *
 * The synthetic traffic must look like real traffic to the JIT, or the first real packet throws the compiled code
 * away (a deoptimization) and a tunnel carrying a packet every 200 ms then runs interpreted for minutes: SPIs above
 * 2^30 (as random SPIs mostly are: not small integers to V8), ICMP, TCP and UDP (each takes its own branch
 * through the selector fields and the flow cache), many flows (cache misses), with and without ESN, the default
 * replay window of 32 and a large one, ECN-capable packets. Each variant spreads over all of these.
 * The first packet leaves checked:
 * if a sealed packet does not open on the other side, the warm-up says so (a broken crypto backend shows up at
 * start, not on the first user's packet).
 */
import { EncrId, IntegId } from '../crypto/ids.js';
import type { Rng } from '../crypto/types.js';
import { createDatagramBatch, createPacketBatch } from '../io/batch.js';
import { writeAddressSlot } from '../io/ip-address.js';
import { DatagramKind, newIoStats } from '../io/types.js';
import type { DatagramBatch, PacketBatch, PacketSocket, TunDevice, UdpEndpoint } from '../io/types.js';
import type { AddSaArgs } from '../kernel/kernel-ipsec.js';
import { UserspaceDataplane } from './userspace-dataplane.js';

const HEADROOM = 128;
const SLOT_BYTES = 2048;
const BATCH = 32;
const SITE_A = '192.0.2.0/28';
const SITE_B = '198.51.100.0/28';
const OUTER_A = '203.0.113.1';
const OUTER_B = '203.0.113.2';

/** What each warm-up variant moved, for the log line and the tests. */
export interface WarmUpReport {
  readonly packets: number;
  /** Packets that came out of the far side's TUN intact. */
  readonly delivered: number;
}

/**
 * Two real ESP-in-UDP endpoints that reach each other (the daemon opens two on the loopback address), so the
 * warm-up also compiles the socket layer (send batches, receive, NAT-T demultiplexing) with the very classes the
 * tunnel uses: JIT feedback from memory stubs alone leaves those call sites cold or polymorphic.
 */
export interface WarmUpLink {
  readonly a: UdpEndpoint;
  readonly b: UdpEndpoint;
  /** The address both are bound to. */
  readonly address: string;
  /** Let the event loop run once, so datagrams sent are received. */
  readonly yieldToLoop: () => Promise<void>;
}

/** Event-loop turns to wait for the last datagrams of the link variant before counting what arrived. */
const LINK_SETTLE_TURNS = 50;

/** A data plane endpoint whose sends are captured, and a TUN whose writes are counted and checked. */
class Capture implements TunDevice, PacketSocket, UdpEndpoint {
  readonly name = 'warm-up';
  readonly mtu = 1500;
  readonly headroom = HEADROOM;
  readonly family = 4 as const;
  readonly protocol = 50;
  readonly port = 4500;
  readonly natT = true;
  readonly stats = newIoStats();
  readonly keepalivesReceived = 0;
  readonly sent: DatagramBatch = createDatagramBatch({ size: BATCH, bufferBytes: SLOT_BYTES }, 4);
  written = 0;
  expect: readonly Buffer[] = [];
  intact = 0;

  start(): void {}
  write(batch: PacketBatch): number {
    for (let i = 0; i < batch.count; i++) {
      const off = batch.offsets[i] ?? 0;
      const got = batch.bufs[i]?.subarray(off, off + (batch.lengths[i] ?? 0));
      if (got !== undefined && this.expect.some((e) => got.equals(e))) this.intact++;
    }
    this.written += batch.count;
    return batch.count;
  }
  send(batch: DatagramBatch): number {
    return this.capture(batch);
  }
  sendEsp(batch: DatagramBatch): number {
    return this.capture(batch);
  }
  sendIke(): boolean {
    return false;
  }
  sendKeepalive(): boolean {
    return false;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  private capture(batch: DatagramBatch): number {
    const s = this.sent;
    for (let i = 0; i < batch.count && s.count < BATCH; i++) {
      const off = batch.offsets[i] ?? 0;
      const len = batch.lengths[i] ?? 0;
      batch.bufs[i]?.copy(s.bufs[s.count]!, HEADROOM, off, off + len);
      s.offsets[s.count] = HEADROOM;
      s.lengths[s.count] = len;
      s.kinds[s.count] = DatagramKind.ESP;
      if (s.tos !== undefined) s.tos[s.count] = batch.tos?.[i] ?? 0;
      writeAddressSlot(OUTER_A, 4, s.remoteAddrs, s.count);
      s.remotePorts[s.count] = 4500;
      s.count++;
    }
    return batch.count;
  }
}

/** Inner protocols of the synthetic packets (RFC 790 numbers). */
const ICMP = 1;
const TCP = 6;
const UDP = 17;
const IPV4_HEADER_BYTES = 20;
/** ECN field ECT(0) in the TOS byte (RFC 3168 5). */
const ECT0 = 0x02;

/** An IPv4 packet from SITE_A host `host` to SITE_B: ICMP echo, TCP (ECN-capable) or UDP, `payloadBytes` after its header. */
function ipv4Packet(protocol: number, host: number, payloadBytes: number): Buffer {
  const l4 = protocol === TCP ? 20 : 8;
  const p = Buffer.alloc(IPV4_HEADER_BYTES + l4 + payloadBytes, 0x5a);
  p.writeUInt8(0x45, 0);
  p.writeUInt8(protocol === TCP ? ECT0 : 0, 1);
  p.writeUInt16BE(p.length, 2);
  p.writeUInt8(64, 8);
  p.writeUInt8(protocol, 9);
  Buffer.from([192, 0, 2, 1 + host]).copy(p, 12);
  Buffer.from([198, 51, 100, 1 + (host % 3)]).copy(p, 16);
  const t = IPV4_HEADER_BYTES;
  if (protocol === ICMP) {
    p.writeUInt16BE(0x0800, t); // echo request, code 0
    p.writeUInt16BE(0, t + 2);
    p.writeUInt16BE(0x1234, t + 4);
    p.writeUInt16BE(host, t + 6);
  } else {
    p.writeUInt16BE(40000 + host, t);
    p.writeUInt16BE(protocol === TCP ? 443 : 9, t + 2);
    if (protocol === UDP) p.writeUInt16BE(8 + payloadBytes, t + 4);
    else p.writeUInt8(0x50, t + 12); // data offset 5 words
  }
  return p;
}

/** The packet mix of every variant: each protocol, several hosts (flows), small and large. */
function packetMix(): Buffer[] {
  const out: Buffer[] = [];
  for (const protocol of [ICMP, TCP, UDP])
    for (const host of [0, 1, 2, 3]) out.push(ipv4Packet(protocol, host, 56 + host * 300));
  return out;
}

/** SA parameters that vary between variants the way they vary between real SAs. */
interface SaShape {
  readonly spi: number;
  readonly esn: boolean;
  readonly replayWindow: number;
}

function sa(
  shape: SaShape,
  inbound: boolean,
  algs: Pick<AddSaArgs, 'enc' | 'integ'>,
  encap: boolean,
  link?: WarmUpLink,
): AddSaArgs {
  return {
    spi: shape.spi,
    protocol: 'esp',
    mode: 'tunnel',
    inbound,
    src: link?.address ?? OUTER_A,
    dst: link?.address ?? OUTER_B,
    reqid: 1,
    ...algs,
    replayWindow: shape.replayWindow,
    esn: shape.esn,
    selectors: [{ local: inbound ? SITE_B : SITE_A, remote: inbound ? SITE_A : SITE_B }],
    ...(link !== undefined
      ? { encap: { sport: link.a.port, dport: link.b.port } }
      : encap
        ? { encap: { sport: 4500, dport: 4500 } }
        : {}),
  };
}

/** One variant: `rounds` batches from A's TUN, sealed, handed to B, opened and written to B's TUN. */
async function variant(
  rng: Rng,
  algs: Pick<AddSaArgs, 'enc' | 'integ'>,
  encap: boolean,
  shape: SaShape,
  rounds: number,
): Promise<WarmUpReport> {
  const a = new Capture();
  const b = new Capture();
  const dpA = new UserspaceDataplane({
    tun: a,
    rng,
    ...(encap ? { natTEndpoints: { 4: a } } : { espSockets: { 4: a } }),
  });
  const dpB = new UserspaceDataplane({
    tun: b,
    rng,
    ...(encap ? { natTEndpoints: { 4: b } } : { espSockets: { 4: b } }),
  });
  await dpA.addPolicy({ direction: 'out', selector: { local: SITE_A, remote: SITE_B }, action: 'protect', reqid: 1 });
  await dpA.addSa(sa(shape, false, algs, encap));
  await dpB.addSa(sa(shape, true, algs, encap));
  const mix = packetMix();
  b.expect = mix;
  const batch = createPacketBatch({ size: BATCH, bufferBytes: SLOT_BYTES });
  let packets = 0;
  for (let r = 0; r < rounds; r++) {
    batch.count = BATCH;
    for (let i = 0; i < BATCH; i++) {
      const plain = mix[(r * BATCH + i) % mix.length]!;
      plain.copy(batch.bufs[i]!, HEADROOM);
      batch.offsets[i] = HEADROOM;
      batch.lengths[i] = plain.length;
    }
    a.sent.count = 0;
    dpA.handleTunBatch(batch);
    dpB.handleEspBatch(a.sent);
    packets += BATCH;
  }
  return { packets, delivered: b.intact };
}

/**
 * The link variant: A's TUN batches (of one packet and of whole batches, as sparse and bulk traffic bring) are
 * sealed and sent for real from `link.a` to `link.b`, whose receiver opens them into B's TUN.
 */
async function linkVariant(
  rng: Rng,
  algs: Pick<AddSaArgs, 'enc' | 'integ'>,
  shape: SaShape,
  rounds: number,
  link: WarmUpLink,
  receiveInto: { esp: (batch: DatagramBatch) => void },
): Promise<WarmUpReport> {
  const a = new Capture();
  const b = new Capture();
  const dpA = new UserspaceDataplane({ tun: a, rng, natTEndpoints: { 4: link.a } });
  const dpB = new UserspaceDataplane({ tun: b, rng, natTEndpoints: { 4: link.b } });
  receiveInto.esp = dpB.espReceiver;
  await dpA.addPolicy({ direction: 'out', selector: { local: SITE_A, remote: SITE_B }, action: 'protect', reqid: 1 });
  await dpA.addSa(sa(shape, false, algs, true, link));
  await dpB.addSa(sa(shape, true, algs, true, link));
  const mix = packetMix();
  b.expect = mix;
  const batch = createPacketBatch({ size: BATCH, bufferBytes: SLOT_BYTES });
  let packets = 0;
  for (let r = 0; r < rounds; r++) {
    batch.count = r % 2 === 0 ? 1 : BATCH;
    for (let i = 0; i < batch.count; i++) {
      const plain = mix[(packets + i) % mix.length]!;
      plain.copy(batch.bufs[i]!, HEADROOM);
      batch.offsets[i] = HEADROOM;
      batch.lengths[i] = plain.length;
    }
    dpA.handleTunBatch(batch);
    packets += batch.count;
    await link.yieldToLoop();
  }
  for (let t = 0; t < LINK_SETTLE_TURNS && b.written < packets; t++) await link.yieldToLoop();
  return { packets, delivered: b.intact };
}

/**
 * Run the warm-up: about `packets` packets (default 2048) through each variant. Resolves with what moved;
 * `delivered < packets` means a variant's packets did not survive the trip.
 */
export async function warmUpDataplane(rng: Rng, packets = 2048, link?: WarmUpLink): Promise<WarmUpReport[]> {
  const rounds = Math.max(1, Math.ceil(packets / BATCH));
  const key16 = Buffer.alloc(16, 0x42);
  const gcm = { enc: { id: EncrId.ENCR_AES_GCM_16, key: Buffer.concat([key16, Buffer.alloc(4, 1)]) } };
  const cbc = {
    enc: { id: EncrId.ENCR_AES_CBC, key: key16 },
    integ: { id: IntegId.AUTH_HMAC_SHA2_256_128, key: Buffer.alloc(32, 0x24) },
  };
  // Random SPIs are above 2^30 three times in four; ESN and the window size differ between configurations.
  const shapes: SaShape[] = [
    { spi: 0xc2a4_1e07, esn: false, replayWindow: 32 },
    { spi: 0x8d31_02f5, esn: true, replayWindow: 1024 },
  ];
  const out: WarmUpReport[] = [];
  let k = 0;
  for (const algs of [gcm, cbc]) {
    for (const encap of [false, true]) out.push(await variant(rng, algs, encap, shapes[k++ % shapes.length]!, rounds));
  }
  if (link !== undefined) {
    const receiveInto = { esp: (_batch: DatagramBatch): void => undefined };
    link.b.start({ ike: () => undefined, esp: (batch) => receiveInto.esp(batch) });
    for (const algs of [gcm, cbc]) {
      out.push(await linkVariant(rng, algs, shapes[k++ % shapes.length]!, rounds, link, receiveInto));
    }
  }
  return out;
}
