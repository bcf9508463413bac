/**
 * A running pair with an established tunnel, fed mutated inputs (issue "hostile input at scale"). In process on
 * memory I/O and a fake clock: two IKE engines (192.0.2.0/25 behind 203.0.113.1, 198.51.100.0/24 behind
 * 203.0.113.2, PSK, AES-GCM) whose CHILD_SAs are installed into two user-space data planes, glued the way the
 * daemon does it (childSaInstalled -> addSa in and out + an out policy; childSaDeleted -> delSa).
 *
 * The seeds are recorded, not invented: the IKE datagrams of a whole project-to-project session (set-up, a
 * second CHILD_SA, CHILD_SA and IKE_SA rekeys, liveness, deletes), a strongSwan 5.9.8 session with our daemon
 * (test/fuzz/corpus/, IKE and ESP-in-UDP) and the tcpdump project's IKEv2 captures of other implementations; the decrypted inner payloads of that session's requests; the ESP packets the pair
 * sealed; ESP-in-UDP datagrams of a pair with UDP encapsulation; and inner packets for the TUN. Each input is
 * one of (weights in INPUT_KINDS):
 *   ike     a mutated IKE datagram to either engine (SPIs sometimes rewritten to the live IKE_SA's)
 *   inner   a mutated inner payload list, sealed with the live keys (authenticated), to a scratch pair's
 *           responder as its next request: what a hostile but authenticated peer can reach. The scratch
 *           pair is rebuilt when an input tears it down (counted)
 *   esp     a mutated ESP packet into B's data plane (raw protocol 50)
 *   espUdp  a mutated UDP 4500 payload (ESP-in-UDP, keepalive, non-ESP marker) into the encap pair's demux
 *   tun     a mutated inner packet into A's data plane from its TUN (sealed and sent to B when it matches)
 * A crash is an exception out of an input, or an 'internal' counter moving (what the engine and the data
 * plane count for "caught a bug"). The clock moves 1 ms per input and timers run every 100 ms, so long runs
 * rekey the tunnel under fire.
 */
import { ExchangeType, IKE_MAJOR_VERSION } from '../../src/ike/codec/constants.js';
import { decodeHeader } from '../../src/ike/codec/header.js';
import type { IkeHeader } from '../../src/ike/codec/types.js';
import { childConfig, connectionConfig } from '../../src/ike/config.js';
import { IkeEngine } from '../../src/ike/engine.js';
import type { ChildSaInfo, Endpoint } from '../../src/ike/events.js';
import type { IkeSa } from '../../src/ike/sa.js';
import { IkeSaState } from '../../src/ike/sa-state.js';
import { createTestRng } from '../../src/crypto/rng.js';
import type { EncrId, IntegId } from '../../src/crypto/ids.js';
import { createDatagramBatch, createPacketBatch } from '../../src/io/batch.js';
import { writeAddressSlot } from '../../src/io/ip-address.js';
import { MemoryNetwork } from '../../src/io/memory-network.js';
import { DatagramKind, newIoStats } from '../../src/io/types.js';
import type { DatagramBatch, PacketBatch } from '../../src/io/types.js';
import { dispatchUdpBatch } from '../../src/io/udp-demux.js';
import { selectorsFromTs } from '../../src/kernel/selectors-from-ts.js';
import { Prng } from '../ike/codec/prng.js';
import { ikeMessagesFromPcap } from '../ike/codec/ike-pcap.js';
import { HOST_A, HOST_B, OUTER_A, OUTER_B, makePeer, makePeers, nextWrites, settle } from '../dataplane/two-peers.js';
import type { Peer, Peers } from '../dataplane/two-peers.js';
import { ICMP_ECHO_REQUEST, echoReplyV4, icmpEcho, icmpv6Echo, ipv4, ipv6, tcp, udp } from '../spd/packets.js';
import { recordedUdp } from './corpus.js';
import { mutate } from './mutate.js';

export const INPUT_KINDS = { ike: 30, inner: 15, esp: 20, espUdp: 15, tun: 20 } as const;
export type InputKind = keyof typeof INPUT_KINDS;

const IKE_PORT = 500;
const PSK = Buffer.from('fuzz pair pre-shared key 0123456789');
const SLOT_BYTES = 4096;
const SLOT_OFFSET = 128;
const MAX_INPUT = SLOT_BYTES - 2 * SLOT_OFFSET;
const TIMER_EVERY = 100;

export interface Crash {
  readonly kind: InputKind | 'timer';
  readonly input: number;
  readonly what: string;
}

export interface FuzzReport {
  inputs: number;
  byKind: Record<InputKind, number>;
  crashes: number;
  firstCrashes: Crash[];
  scratchRebuilds: number;
  tunPacketsDelivered: number;
}

interface RecordedInner {
  readonly exchangeType: number;
  readonly firstPayload: number;
  readonly plaintext: Buffer;
}

/** One IKE engine with the data plane its CHILD_SAs go into (or none, for the scratch pair). */
class Side {
  readonly engine: IkeEngine;
  readonly addr: Endpoint;
  readonly peer: Peer | undefined;
  readonly children = new Map<number, ChildSaInfo>();
  ikeDeleted = 0;
  /** Why IKE_SAs and CHILD_SAs ended (the first few), for reports. */
  readonly endings: string[] = [];
  kernelErrors = 0;
  private policy = false;

  constructor(engine: IkeEngine, addr: Endpoint, peer: Peer | undefined) {
    this.engine = engine;
    this.addr = addr;
    this.peer = peer;
  }

  drainEvents(): void {
    for (let e; (e = this.engine.nextEvent());) {
      if (e.type === 'childSaInstalled') this.install(e.child);
      else if (e.type === 'childSaDeleted') {
        this.uninstall(e.childSaId);
        if (this.endings.length < 20) this.endings.push(`CHILD_SA ${e.childSaId}: ${e.reason}`);
      } else if (e.type === 'ikeSaDeleted') {
        this.ikeDeleted++;
        if (this.endings.length < 20) this.endings.push(`IKE_SA ${e.ikeSaId}: ${e.reason}`);
      }
    }
  }

  private install(c: ChildSaInfo): void {
    this.children.set(c.id, c);
    const dp = this.peer?.dp;
    if (dp === undefined) return;
    const selectors = selectorsFromTs(c.tsLocal, c.tsRemote);
    const common = { protocol: c.protocol, mode: c.mode, reqid: 1, esn: c.esn, replayWindow: 64, selectors };
    const keys = (k: ChildSaInfo['keysIn']) => ({
      ...(c.protocol === 'esp' ? { enc: { id: c.encrId as EncrId, key: k.encr } } : {}),
      ...(c.integId !== 0 ? { integ: { id: c.integId as IntegId, key: k.integ } } : {}),
    });
    const fail = () => void this.kernelErrors++;
    dp.addSa({
      ...common,
      spi: c.spiIn,
      inbound: true,
      src: c.remote.address,
      dst: c.local.address,
      ...keys(c.keysIn),
    }).catch(fail);
    dp.addSa({
      ...common,
      spi: c.spiOut,
      inbound: false,
      src: c.local.address,
      dst: c.remote.address,
      ...keys(c.keysOut),
    }).catch(fail);
    if (!this.policy) {
      this.policy = true;
      for (const selector of selectors)
        dp.addPolicy({ direction: 'out', selector, action: 'protect', reqid: 1 }).catch(fail);
    }
  }

  private uninstall(id: number): void {
    const c = this.children.get(id);
    this.children.delete(id);
    const dp = this.peer?.dp;
    if (c === undefined || dp === undefined) return;
    dp.delSa({ protocol: c.protocol, spi: c.spiIn, dst: c.local.address }).catch(() => undefined);
    dp.delSa({ protocol: c.protocol, spi: c.spiOut, dst: c.remote.address }).catch(() => undefined);
  }

  /** The newest established IKE_SA (there is one unless an input tore it down). */
  live(): IkeSa | undefined {
    const sas = this.engine.ikeSas();
    const pick = (state: IkeSaState) => sas.filter((s) => s.state === state).sort((x, y) => y.id - x.id)[0];
    return pick(IkeSaState.ESTABLISHED) ?? pick(IkeSaState.REKEYING);
  }

  /** Our IKE_SA with the same SPIs as the peer's `sa`. */
  twin(sa: IkeSa): IkeSa | undefined {
    return this.engine
      .ikeSas()
      .find((s) => s.spiI.equals(sa.spiI) && s.spiR.equals(sa.spiR) && s.state !== IkeSaState.DESTROYED);
  }

  internal(): number {
    let n = this.engine.drops.internal;
    const dp = this.peer?.dp;
    if (dp !== undefined) for (const sa of dp.sad.all()) n += sa.drops.internal;
    return n;
  }
}

function engine(seed: string, local: 'a' | 'b'): IkeEngine {
  const [me, them] = local === 'a' ? ['a.fuzz.example', 'b.fuzz.example'] : ['b.fuzz.example', 'a.fuzz.example'];
  const child = childConfig({
    name: 'net',
    proposals: ['aes128gcm16'],
    localTs: [local === 'a' ? '192.0.2.0/25' : '198.51.100.0/24'],
    remoteTs: [local === 'a' ? '198.51.100.0/24' : '192.0.2.0/25'],
  });
  const conn = connectionConfig({
    name: 'fuzz',
    localId: { type: 'fqdn', value: me },
    remoteId: { type: 'fqdn', value: them },
    proposals: ['aes128gcm16-prfsha256-x25519'],
    children: [child],
  });
  return new IkeEngine({ connections: [conn], psk: () => PSK, rng: createTestRng(`${seed}-${local}`) });
}

/** Two sides exchanging IKE synchronously: every datagram one sends to the other's address is delivered. */
class IkePair {
  readonly a: Side;
  readonly b: Side;
  /** Called with every datagram delivered (for recording). */
  tap: ((bytes: Buffer, sender: Side, receiver: Side) => void) | undefined;

  constructor(seed: string, peerA: Peer | undefined, peerB: Peer | undefined) {
    this.a = new Side(engine(seed, 'a'), { address: OUTER_A, port: IKE_PORT }, peerA);
    this.b = new Side(engine(seed, 'b'), { address: OUTER_B, port: IKE_PORT }, peerB);
  }

  pump(nowMs: number): void {
    for (let round = 0; round < 64; round++) {
      let moved = false;
      for (const [from, to] of [
        [this.a, this.b],
        [this.b, this.a],
      ] as const) {
        for (const d of from.engine.datagramsToSend()) {
          if (d.to.address !== to.addr.address) continue; // answers to forged sources go nowhere
          moved = true;
          to.engine.receiveDatagram(d.bytes, d.from, d.to, nowMs);
          this.tap?.(d.bytes, from, to);
        }
        from.drainEvents();
        to.drainEvents();
      }
      if (!moved) return;
    }
  }

  establish(nowMs: number): boolean {
    this.a.engine.initiate('fuzz', this.a.addr, this.b.addr, nowMs);
    this.pump(nowMs);
    return this.a.live() !== undefined && this.b.live() !== undefined;
  }
}

/** The same IPv4 packet with a 4-byte options field (IHL 6: two NOPs, EOL, padding). */
function withIpv4Options(p: Buffer): Buffer {
  const q = Buffer.concat([p.subarray(0, 20), Buffer.from([1, 1, 0, 0]), p.subarray(20)]);
  q[0] = 0x46;
  q.writeUInt16BE(q.length, 2);
  return q;
}

/** The inner packets the TUN seeds are made of (A's site to B's site, and some that match no policy). */
function tunSeeds(): Buffer[] {
  const data = Buffer.from('fuzz payload 0123456789abcdef');
  return [
    ipv4(HOST_A, HOST_B, 1, icmpEcho(ICMP_ECHO_REQUEST, 7, 1, data)),
    ipv4(HOST_A, HOST_B, 17, udp(5353, 53, data)),
    ipv4(HOST_A, HOST_B, 6, tcp(40000, 443)),
    withIpv4Options(ipv4(HOST_A, HOST_B, 17, udp(1, 2, data))),
    ipv4(HOST_A, HOST_B, 17, udp(3, 4, data), { fragmentOffset8: 8, moreFragments: true }),
    ipv4('192.0.2.200', HOST_B, 1, icmpEcho(ICMP_ECHO_REQUEST, 7, 2, data)),
    ipv6('2001:db8:a::1', '2001:db8:b::1', 58, icmpv6Echo('2001:db8:a::1', '2001:db8:b::1', 128, 1, 1, data)),
  ];
}

export class FuzzTarget {
  private readonly r: Prng;
  private nowMs = 1_000_000;
  private readonly net = new MemoryNetwork();
  private readonly pair: IkePair;
  private scratch: IkePair;
  private readonly encap: Peers;
  private readonly seeds: Record<Exclude<InputKind, 'inner'>, Buffer[]> = { ike: [], esp: [], espUdp: [], tun: [] };
  private readonly innerSeeds: RecordedInner[] = [];
  private readonly datagram: DatagramBatch = createDatagramBatch({ size: 1, bufferBytes: SLOT_BYTES }, 4);
  private readonly packet: PacketBatch = createPacketBatch({ size: 1, bufferBytes: SLOT_BYTES });
  private readonly demux = { stats: newIoStats(), keepalives: 0 };
  private readonly demuxReceivers;
  private readonly weights: [InputKind, number][] = Object.entries(INPUT_KINDS) as [InputKind, number][];
  private readonly weightTotal = Object.values(INPUT_KINDS).reduce((x, y) => x + y, 0);
  private baselineInternal = 0;
  readonly report: FuzzReport = {
    inputs: 0,
    byKind: { ike: 0, inner: 0, esp: 0, espUdp: 0, tun: 0 },
    crashes: 0,
    firstCrashes: [],
    scratchRebuilds: 0,
    tunPacketsDelivered: 0,
  };

  private constructor(seed: number, encap: Peers) {
    this.r = new Prng(seed);
    this.encap = encap;
    const opts = { nowMs: () => this.nowMs };
    this.pair = new IkePair(
      `main-${seed}`,
      makePeer(this.net, 'a', 4, OUTER_A, opts),
      makePeer(this.net, 'b', 4, OUTER_B, opts),
    );
    this.scratch = new IkePair(`scratch-${seed}-0`, undefined, undefined);
    this.demuxReceivers = { ike: () => undefined, esp: encap.b.dp.espReceiver };
  }

  /** Builds the pairs, records the seeds and brings the tunnels up. */
  static async create(seed = 1): Promise<FuzzTarget> {
    const t = new FuzzTarget(seed, await makePeers({ encap: true }));
    await t.record();
    return t;
  }

  private async record(): Promise<void> {
    // 1. A whole project-to-project session on a recording pair: wire datagrams and decrypted requests.
    const rec = new IkePair('recording', undefined, undefined);
    rec.tap = (bytes, _from, to) => {
      this.seeds.ike.push(Buffer.from(bytes));
      const h = decodeHeader(bytes);
      if (h.flags.response || h.exchangeType === ExchangeType.IKE_SA_INIT) return;
      const sa = to.engine.ikeSas().find((s) => s.spiI.equals(h.spiI) && s.spiR.equals(h.spiR));
      const opened = sa?.protectIn?.open(Buffer.from(bytes));
      if (opened?.ok === true)
        this.innerSeeds.push({
          exchangeType: h.exchangeType,
          firstPayload: opened.firstPayload,
          plaintext: opened.plaintext,
        });
    };
    if (!rec.establish(this.nowMs)) throw new Error('recording pair did not establish');
    const ike = rec.a.live()!;
    rec.a.engine.createChild(ike.id, 'net', this.nowMs);
    rec.pump(this.nowMs);
    const child = [...rec.a.children.keys()][0]!;
    rec.a.engine.rekeyChild(child, this.nowMs);
    rec.pump(this.nowMs);
    rec.b.engine.rekeyIke(rec.b.live()!.id, this.nowMs);
    rec.pump(this.nowMs);
    rec.a.engine.checkLiveness(rec.a.live()!.id, this.nowMs);
    rec.pump(this.nowMs);
    rec.a.engine.terminateChild([...rec.a.children.keys()][0]!, this.nowMs);
    rec.pump(this.nowMs);
    rec.b.engine.terminate(rec.b.live()!.id, this.nowMs);
    rec.pump(this.nowMs);
    for (const name of ['ikev2four.pcap', 'ikev2pI2.pcap']) this.seeds.ike.push(...ikeMessagesFromPcap(name));
    const strongSwan = recordedUdp('strongswan-5.9.8-ikev2.pcap');
    this.seeds.ike.push(...strongSwan.ike);
    this.seeds.espUdp.push(...strongSwan.espUdp);

    // 2. The main pair and the scratch pair come up.
    if (!this.pair.establish(this.nowMs)) throw new Error('main pair did not establish');
    this.rebuildScratch();

    // 3. ESP packets the main pair seals, copied off the wire; ESP-in-UDP of the encapsulating pair.
    this.seeds.tun.push(...tunSeeds());
    this.net.drop = (pkt, proto) => {
      if (proto === 50 && pkt.srcAddr === OUTER_A) this.seeds.esp.push(Buffer.from(pkt.bytes));
      return false;
    };
    this.encap.net.drop = (pkt, proto) => {
      if (proto === 17 && pkt.srcAddr === OUTER_A) this.seeds.espUdp.push(Buffer.from(pkt.bytes));
      return false;
    };
    for (const p of this.seeds.tun) {
      this.pair.a.peer!.tun.inject(p);
      this.encap.a.tun.inject(p);
    }
    this.pair.b.peer!.tun.onWrite = () => void this.report.tunPacketsDelivered++;
    this.encap.b.tun.onWrite = () => void this.report.tunPacketsDelivered++;
    for (let k = 0; k < 20 && (this.seeds.esp.length === 0 || this.seeds.espUdp.length === 0); k++) await settle();
    this.net.drop = undefined;
    this.encap.net.drop = undefined;
    this.seeds.espUdp.push(Buffer.from([0xff]), Buffer.from([0, 0, 0, 0, ...(this.seeds.ike[0] ?? [])]));
    for (const [k, v] of Object.entries(this.seeds)) if (v.length === 0) throw new Error(`no ${k} seeds recorded`);
    if (this.innerSeeds.length === 0) throw new Error('no inner payloads recorded');
    this.baselineInternal = this.internalCount();
  }

  private rebuildScratch(): void {
    this.scratch = new IkePair(`scratch-${this.report.scratchRebuilds}`, undefined, undefined);
    if (!this.scratch.establish(this.nowMs)) throw new Error('scratch pair did not establish');
  }

  private internalCount(): number {
    return this.pair.a.internal() + this.pair.b.internal() + this.scratch.a.internal() + this.scratch.b.internal();
  }

  private pickKind(): InputKind {
    let x = this.r.int(0, this.weightTotal - 1);
    for (const [k, w] of this.weights) {
      if (x < w) return k;
      x -= w;
    }
    return 'ike';
  }

  private seedOf(list: readonly Buffer[]): [Buffer, Buffer] {
    return [this.r.pick(list), this.r.pick(list)];
  }

  /** Runs `count` inputs; yields to the event loop now and then so the memory network delivers. */
  async run(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const kind = this.pickKind();
      const before = this.internalCount();
      try {
        this.one(kind);
      } catch (e) {
        this.crash(kind, `threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
      if (this.internalCount() !== before) this.crash(kind, 'an internal error was counted');
      this.report.inputs++;
      this.report.byKind[kind]++;
      this.nowMs += 1;
      if (this.report.inputs % TIMER_EVERY === 0) this.timers();
      if (this.report.inputs % 256 === 0) await settle(1);
    }
    await settle();
  }

  private crash(kind: Crash['kind'], what: string): void {
    this.report.crashes++;
    if (this.report.firstCrashes.length < 5) this.report.firstCrashes.push({ kind, input: this.report.inputs, what });
  }

  private timers(): void {
    const before = this.internalCount();
    try {
      for (const p of [this.pair, this.scratch]) {
        p.a.engine.handleTimer(this.nowMs);
        p.b.engine.handleTimer(this.nowMs);
        p.pump(this.nowMs);
      }
    } catch (e) {
      this.crash('timer', `threw ${e instanceof Error ? e.message : String(e)}`);
    }
    if (this.internalCount() !== before) this.crash('timer', 'an internal error was counted');
  }

  private one(kind: InputKind): void {
    switch (kind) {
      case 'ike':
        return this.ikeInput();
      case 'inner':
        return this.innerInput();
      case 'esp':
        return this.espInput(this.pair.b.peer!, false);
      case 'espUdp':
        return this.espInput(this.encap.b, true);
      case 'tun':
        return this.tunInput();
    }
  }

  private ikeInput(): void {
    const [seed, other] = this.seedOf(this.seeds.ike);
    const m = mutate(this.r, seed, other).subarray(0, MAX_INPUT);
    const toB = this.r.bool();
    const [sender, receiver] = toB ? [this.pair.a, this.pair.b] : [this.pair.b, this.pair.a];
    const live = receiver.live();
    // Often aim at the live IKE_SA, so mutations get past the SPI lookup to the task manager.
    if (live !== undefined && m.length >= 28 && this.r.int(0, 2) > 0) {
      live.spiI.copy(m, 0);
      live.spiR.copy(m, 8);
      if (this.r.bool()) m.writeUInt32BE(m.length, 24);
    }
    const from = this.r.int(0, 7) === 0 ? { address: '192.0.2.99', port: this.r.int(1, 65535) } : sender.addr;
    receiver.engine.receiveDatagram(m, from, receiver.addr, this.nowMs);
    this.pair.pump(this.nowMs);
  }

  /** The scratch pair's live IKE_SA on both sides, with keys to seal with (rebuilt if an input ended it). */
  private scratchSas(): [IkeSa, IkeSa] {
    for (let attempt = 0; attempt < 2; attempt++) {
      const a = this.scratch.a.live();
      const b = a === undefined ? undefined : this.scratch.b.twin(a);
      if (a !== undefined && b !== undefined && a.protectOut === undefined) {
        // A fresh (rekeyed) IKE_SA makes its SK keys on first use: one liveness check.
        this.scratch.a.engine.checkLiveness(a.id, this.nowMs);
        this.scratch.pump(this.nowMs);
      }
      if (a !== undefined && b !== undefined && a.protectOut !== undefined && a.state === IkeSaState.ESTABLISHED)
        return [a, b];
      this.report.scratchRebuilds++;
      this.rebuildScratch();
    }
    throw new Error('scratch pair without keys');
  }

  private innerInput(): void {
    const [a, b] = this.scratchSas();
    const seed = this.r.pick(this.innerSeeds);
    const other = this.r.pick(this.innerSeeds);
    const plaintext = mutate(this.r, seed.plaintext, other.plaintext).subarray(0, MAX_INPUT);
    const header: IkeHeader = {
      spiI: a.spiI,
      spiR: a.spiR,
      nextPayload: 0,
      majorVersion: IKE_MAJOR_VERSION,
      minorVersion: 0,
      exchangeType: this.r.int(0, 9) === 0 ? this.r.int(33, 38) : seed.exchangeType,
      flags: { initiator: a.initiator, response: false, version: false },
      messageId: b.expectedRequestId,
      length: 0,
    };
    const firstPayload = this.r.int(0, 9) === 0 ? this.r.int(0, 255) : seed.firstPayload;
    const bytes = a.protectOut!.sealPlaintext(header, firstPayload, plaintext);
    this.scratch.b.engine.receiveDatagram(bytes, this.scratch.a.addr, this.scratch.b.addr, this.nowMs);
    // The forged request used A's next Message ID: keep A in step (its own next request follows it).
    if (a.nextRequestId < b.expectedRequestId) a.nextRequestId = b.expectedRequestId;
    this.scratch.pump(this.nowMs);
  }

  private espInput(peer: Peer, encap: boolean): void {
    const [seed, other] = this.seedOf(encap ? this.seeds.espUdp : this.seeds.esp);
    const m = mutate(this.r, seed, other).subarray(0, MAX_INPUT);
    const b = this.datagram;
    const buf = b.bufs[0]!;
    m.copy(buf, SLOT_OFFSET);
    b.offsets[0] = SLOT_OFFSET;
    b.lengths[0] = m.length;
    b.count = 1;
    writeAddressSlot(OUTER_A, 4, b.remoteAddrs, 0);
    writeAddressSlot(OUTER_B, 4, b.localAddrs, 0);
    b.remotePorts[0] = encap ? 4500 : 0;
    b.localPorts[0] = encap ? 4500 : 0;
    if (encap) dispatchUdpBatch(b, true, this.demuxReceivers, this.demux);
    else {
      b.kinds[0] = DatagramKind.ESP;
      peer.dp.handleEspBatch(b);
    }
  }

  private tunInput(): void {
    const [seed, other] = this.seedOf(this.seeds.tun);
    const m = mutate(this.r, seed, other).subarray(0, MAX_INPUT - SLOT_OFFSET);
    const b = this.packet;
    m.copy(b.bufs[0]!, SLOT_OFFSET);
    b.offsets[0] = SLOT_OFFSET;
    b.lengths[0] = m.length;
    b.count = 1;
    this.pair.a.peer!.dp.handleTunBatch(b);
  }

  /** After the run: crashes counted, and whether both tunnels still carry an echo and IKE still answers. */
  async health(): Promise<{ mainTunnel: boolean; encapTunnel: boolean; ikeAlive: boolean }> {
    const echo = async (a: Peer, b: Peer): Promise<boolean> => {
      const req = ipv4(HOST_A, HOST_B, 1, icmpEcho(ICMP_ECHO_REQUEST, 0x4242, 9, Buffer.from('still up?')));
      try {
        const atB = nextWrites(b.tun);
        a.tun.inject(req);
        const [got] = await atB;
        if (got === undefined || !got.equals(req)) return false;
        const atA = nextWrites(a.tun);
        b.tun.inject(echoReplyV4(got));
        const [back] = await atA;
        return back !== undefined && back[20] === 0;
      } catch {
        return false;
      } finally {
        b.tun.onWrite = () => void this.report.tunPacketsDelivered++;
      }
    };
    const mainTunnel = await echo(this.pair.a.peer!, this.pair.b.peer!);
    const encapTunnel = await echo(this.encap.a, this.encap.b);
    const sa = this.pair.a.live();
    let ikeAlive = false;
    if (sa !== undefined) {
      const deleted = this.pair.a.ikeDeleted;
      this.pair.a.engine.checkLiveness(sa.id, this.nowMs);
      this.pair.pump(this.nowMs);
      ikeAlive = sa.state === IkeSaState.ESTABLISHED && sa.active === undefined && this.pair.a.ikeDeleted === deleted;
    }
    return { mainTunnel, encapTunnel, ikeAlive };
  }

  /** Counts of internal errors since the seeds were recorded (should stay 0). */
  internalErrors(): number {
    return this.internalCount() - this.baselineInternal;
  }

  async close(): Promise<void> {
    for (const p of [this.pair.a.peer!, this.pair.b.peer!]) {
      await p.tun.close();
      await p.raw.close();
      await p.ah.close();
      await p.udp.close();
    }
    await this.encap.close();
  }
}
