/**
 * The user-space data plane: one implementation of the kernel boundary (src/kernel/kernel-ipsec.ts) that
 * does the packet work itself, between a TUN device and raw ESP sockets / UDP 4500 endpoints (src/io/).
 *
 * Outbound (TUN -> network), per batch read from the TUN, each packet sitting at the device's headroom:
 *   selector fields (src/spd/flow.ts) -> SPD "out" lookup ->
 *     PROTECT: SA by reqid -> hard lifetime check -> ESP seal in place (header into the headroom, trailer
 *              and ICV into the tailroom) -> lifetime accounting -> slot of the raw or UDP send batch, which
 *              points at the same buffer (no copy) -> one send per batch.
 *              No SA yet: the trap path (trap-queue.ts): one acquire upcall, the packet waits, bounded.
 *     BYPASS:  dropped and counted 'bypassInTun' (see dataplane-stats.ts for why).
 *     DISCARD / no policy: dropped and counted (RFC 4301 5.1).
 * Inbound (network -> TUN), per received batch of ESP packets (raw protocol 50 or ESP-in-UDP):
 *   SPI -> SAD -> hard lifetime check -> ESP open in place (replay check, ICV, decrypt, replay commit) ->
 *   inner packet must match one of the SA's selectors, else drop 'policy' (RFC 4301 5.2 step 4) ->
 *   accounting -> NAT mapping check (only after the ICV verified) -> slot of the TUN write batch -> one write.
 * Transport mode: the raw socket hands over bare ESP and the kernel adds the IP header on send, so
 * inbound the IP header is rebuilt from the datagram's addresses and the ESP next header; under ESP-in-UDP the
 * TCP/UDP checksum is then recomputed over it (RFC 3948 3.1.2, src/esp/nat-checksum.ts).
 *
 * The ESP steps are esp-path.ts (esp-state.ts: SA set-up). AH (RFC 4302) takes the same steps through raw
 * protocol-51 sockets (ah-path.ts: the wire forms that keep the outer header under its ICV intact;
 * ah-state.ts: SA set-up, no NAT traversal). This file keeps the kernel boundary, the SPD lookup, traps,
 * the TUN write batch and the upcalls.
 *
 * Policies of direction "in" and "fwd" are stored and listed (and are what an XFRM implementation would
 * install), but this data plane never sees cleartext arriving from the network (the host stack does), so its
 * inbound check is the SA's own selectors; a packet from the TUN, local or forwarded, is looked up "out".
 * Inbound SAs are found by SPI alone (RFC 4301 4.1 allows it for unicast SAs whose SPI we chose); the outer
 * destination is not compared, since behind a NAT it is not the address the peer wrote.
 * Tunnel mode with output 'esp' lets the kernel write the outer header; the inner DSCP and ECN go to it per
 * packet as the send slot's TOS (IP_TOS / IPV6_TCLASS), and on receipt the outer ECN is applied to the inner
 * header by RFC 6040 (src/esp/ecn.ts; outer CE over a Not-ECT inner packet is dropped as 'ecn').
 *
 * Upcalls (acquire, expire, mapping) raised while a batch is processed are delivered after it, so the IKE
 * side may call back into addSa/delSa from them. Nothing on the packet path throws or allocates, apart from
 * the rare slow paths (trap queueing, upcall events).
 */

import { readU32 } from '../common/ip.js';
import { nullLogger } from '../common/log.js';
import type { Logger } from '../common/log.js';
import type { Rng } from '../crypto/types.js';
import { ESP_SPI_RESERVED_MAX } from '../esp/constants.js';
import { DatagramKind } from '../io/types.js';
import type { DatagramBatch, IpFamily, PacketBatch, PacketSocket, TunDevice, UdpEndpoint } from '../io/types.js';
import { KernelError } from '../kernel/kernel-ipsec.js';
import type {
  AddPolicyArgs,
  AddSaArgs,
  AllocSpiArgs,
  KernelIpsec,
  KernelListener,
  MappingEvent,
  SaId,
  SaUsage,
  UpdateSaArgs,
} from '../kernel/kernel-ipsec.js';
import { SecurityAssociationDatabase } from '../sad/sad.js';
import type { SaExpireEvent } from '../sad/sad.js';
import { SaLifeState } from '../sad/security-association.js';
import type { SecurityAssociation } from '../sad/security-association.js';
import { SelectorError } from '../spd/address.js';
import { FlowKey, PortKind, extractFlow } from '../spd/flow.js';
import { compileSelector } from '../spd/selector.js';
import { SecurityPolicyDatabase } from '../spd/spd.js';
import type { Policy } from '../spd/spd.js';
import { AhPath } from './ah-path.js';
import { EspPath } from './esp-path.js';
import { createAhState } from './ah-state.js';
import { newDataplaneStats } from './dataplane-stats.js';
import type { DataplaneDropReason, DataplaneStats } from './dataplane-stats.js';
import { createEspState, setSlot } from './esp-state.js';
import type { SaState } from './esp-state.js';
import { formatAddressWords } from './transport-header.js';
import { TrapQueue } from './trap-queue.js';
import type { TrapQueueOptions } from './trap-queue.js';

export interface UserspaceDataplaneOptions {
  /** Where opened inner packets are written. */
  readonly tun: TunDevice;
  /** Raw protocol-50 sockets per family, for plain ESP. */
  readonly espSockets?: Partial<Record<IpFamily, PacketSocket>>;
  /**
   * Raw protocol-51 sockets per family, for AH (RFC 4302). The IPv4 one must be header-included
   * (`LinuxPacketSocket({ family: 4, protocol: 51, headerIncluded: true })`): see the file comment.
   */
  readonly ahSockets?: Partial<Record<IpFamily, PacketSocket>>;
  /** UDP 4500 endpoints per family, for ESP-in-UDP (RFC 3948). Their receivers are started by the daemon. */
  readonly natTEndpoints?: Partial<Record<IpFamily, UdpEndpoint>>;
  /** For SPI allocation and CBC IVs. */
  readonly rng: Rng;
  /** Monotonic milliseconds (lifetime bookkeeping, acquire retry). Default performance.now(). */
  readonly nowMs?: () => number;
  readonly logger?: Logger;
  readonly trap?: TrapQueueOptions;
  /** Slots per send / TUN write batch (default 64). */
  readonly batchSize?: number;
}

const noListener: KernelListener = { acquire: () => undefined, expire: () => undefined, mapping: () => undefined };
const SPI_BYTES = 4;
const SPI_ALLOC_ATTEMPTS = 64;
/** Packets whose policy and SA are looked up before any of them is sealed (see handleTunBatch). */
const LOOKUP_CHUNK = 32;

/** A mutable PacketBuffer pointed at each packet in turn (one object for the whole data plane). */
interface PacketView {
  buf: Buffer;
  off: number;
  len: number;
}

export class UserspaceDataplane implements KernelIpsec {
  readonly spd = new SecurityPolicyDatabase();
  readonly sad: SecurityAssociationDatabase<SaState>;
  readonly stats: DataplaneStats = newDataplaneStats();
  private readonly tun: TunDevice;
  private readonly rng: Rng;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly trap: TrapQueue;
  private listener: KernelListener = noListener;
  private readonly upcalls: (() => void)[] = [];
  private readonly allocatedSpis = new Set<string>();
  // Packet-path scratch, allocated once.
  private readonly outKey = new FlowKey();
  private readonly esp: EspPath;
  private readonly ah: AhPath;
  private readonly tunOut: PacketBatch;
  private readonly tunOutSize: number;
  /** What the first pass of handleTunBatch found for each packet of the chunk. */
  private readonly chunkPolicies = new Array<Policy | undefined>(LOOKUP_CHUNK).fill(undefined);
  private readonly chunkSas = new Array<SecurityAssociation<SaState> | undefined>(LOOKUP_CHUNK).fill(undefined);
  /** Kept so the reads of touchSaState are not optimized away. */
  private touchSum = 0;

  constructor(options: UserspaceDataplaneOptions) {
    this.tun = options.tun;
    this.rng = options.rng;
    this.now = options.nowMs ?? (() => performance.now());
    this.log = options.logger ?? nullLogger;
    this.trap = new TrapQueue(options.trap);
    const n = options.batchSize ?? 64;
    this.tunOutSize = n;
    this.tunOut = {
      bufs: new Array<Buffer>(n).fill(Buffer.alloc(0)),
      offsets: new Int32Array(n),
      lengths: new Int32Array(n),
      count: 0,
    };
    this.sad = new SecurityAssociationDatabase<SaState>((e) => this.onExpire(e));
    this.esp = new EspPath(
      {
        sad: this.sad,
        stats: this.stats,
        queueTun: (pkt) => this.queueTun(pkt),
        flushTun: () => this.flushTun(),
        mapping: (sa, e) => this.onMapping(sa, e),
      },
      options.espSockets ?? {},
      options.natTEndpoints ?? {},
      n,
    );
    this.ah = new AhPath(
      { sad: this.sad, stats: this.stats, queueTun: (pkt) => this.queueTun(pkt) },
      options.ahSockets ?? {},
      n,
    );
  }

  /** Start reading the TUN and the raw ESP and AH sockets. UDP 4500 endpoints are started by their owner with `espReceiver`. */
  start(): void {
    this.tun.start((b) => this.handleTunBatch(b));
    this.esp.start((b) => this.handleEspBatch(b));
    this.ah.start((b) => this.handleAhBatch(b));
  }

  /** The `esp` receiver to give a UDP 4500 endpoint's `start` (RFC 3948 ESP-in-UDP). */
  readonly espReceiver = (batch: DatagramBatch): void => this.handleEspBatch(batch);

  // ---------------------------------------------------------------- kernel boundary

  setListener(listener: KernelListener): void {
    this.listener = listener;
  }

  async allocSpi(args: AllocSpiArgs): Promise<number> {
    const b = new Uint8Array(SPI_BYTES);
    for (let i = 0; i < SPI_ALLOC_ATTEMPTS; i++) {
      this.rng.fill(b);
      const spi = readU32(b, 0);
      const k = `${args.protocol}/${spi}`;
      if (spi <= ESP_SPI_RESERVED_MAX || this.sad.inboundSpiInUse(args.protocol, spi) || this.allocatedSpis.has(k)) {
        continue;
      }
      this.allocatedSpis.add(k);
      return spi;
    }
    throw new KernelError('no free SPI found');
  }

  async addSa(args: AddSaArgs): Promise<void> {
    if (args.protocol !== 'esp' && args.protocol !== 'ah') {
      throw new KernelError(`unknown IPsec protocol '${String(args.protocol)}'`);
    }
    if (!Number.isInteger(args.spi) || args.spi <= ESP_SPI_RESERVED_MAX || args.spi > 0xffff_ffff) {
      throw new KernelError(`SPI ${args.spi} out of range 256..2^32-1 (RFC 4303 2.1, RFC 4302 2.4)`);
    }
    if (!Number.isInteger(args.reqid) || args.reqid <= 0) throw new KernelError('reqid must be a positive integer');
    let selectors;
    try {
      selectors = args.selectors.map((s) => compileSelector(s));
    } catch (e) {
      if (e instanceof SelectorError) throw new KernelError(`bad SA selector: ${e.message}`);
      throw e;
    }
    const state = args.protocol === 'ah' ? createAhState(args) : createEspState(args, this.rng);
    let sa: SecurityAssociation<SaState>;
    try {
      sa = this.sad.add({
        protocol: args.protocol,
        spi: args.spi,
        direction: args.inbound ? 'in' : 'out',
        mode: args.mode,
        src: args.src,
        dst: args.dst,
        reqid: args.reqid,
        selectors,
        engine: state,
        ...(args.lifetime !== undefined ? { lifetime: args.lifetime } : {}),
        ...(args.encap !== undefined ? { encap: args.encap } : {}),
      });
    } catch (e) {
      throw new KernelError((e as Error).message);
    }
    this.allocatedSpis.delete(`${args.protocol}/${args.spi >>> 0}`);
    this.log.log('knl', 1, `added ${sa.label} ${args.mode} ${args.src} -> ${args.dst} reqid ${args.reqid}`);
    if (!args.inbound) this.releaseTrapped(sa);
  }

  async updateSa(args: UpdateSaArgs): Promise<void> {
    const sa = this.sad.get(args.id);
    if (sa === undefined) throw new KernelError(`no SA ${describe(args.id)}`);
    const st = sa.engine;
    const src = args.src ?? sa.src;
    const dst = args.dst ?? sa.dst;
    const encap = args.encap;
    if (st.kind === 'ahOut' || st.kind === 'ahIn') {
      if (encap) throw new KernelError(`${sa.label}: AH cannot cross a NAT (no UDP encapsulation)`);
      if (st.kind === 'ahOut') st.move(src, dst);
      else setSlot(st.peerSlot, src, st.family);
    } else {
      if (encap !== undefined && (encap !== null) !== st.encap && sa.mode !== 'tunnel')
        throw new KernelError(
          `${sa.label}: a transport mode SA cannot switch UDP encapsulation ${encap === null ? 'off' : 'on'}` +
            ' (its checksum handling is fixed at installation): install a new SA',
        );
      if (st.kind === 'out') {
        setSlot(st.peerSlot, dst, st.family);
        if (encap !== undefined) st.peerPort = encap?.dport ?? 0;
      } else {
        setSlot(st.peerSlot, src, st.family);
        if (encap !== undefined) st.peerPort = encap?.sport ?? 0;
        st.reportedPort = -1;
      }
      if (encap !== undefined) st.encap = encap !== null;
    }
    sa.src = src;
    if (dst !== sa.dst) this.sad.moveDestination(sa, dst);
    if (encap !== undefined) sa.encap = encap ?? undefined;
    this.log.log(
      'knl',
      1,
      `updated ${sa.label}: ${sa.src} -> ${sa.dst}${sa.encap ? ` udp ${sa.encap.sport}/${sa.encap.dport}` : ''}`,
    );
  }

  async delSa(id: SaId): Promise<void> {
    const sa = this.sad.remove(id);
    if (sa === undefined) throw new KernelError(`no SA ${describe(id)}`);
    this.log.log('knl', 1, `deleted ${sa.label}`);
  }

  async querySa(id: SaId): Promise<SaUsage> {
    const sa = this.sad.get(id);
    if (sa === undefined) throw new KernelError(`no SA ${describe(id)}`);
    return {
      packets: sa.packets,
      bytes: sa.bytes,
      drops: { ...sa.drops },
      lastUseMs: sa.lastUseMs,
      state:
        sa.lifeState === SaLifeState.ACTIVE
          ? 'active'
          : sa.lifeState === SaLifeState.SOFT_EXPIRED
            ? 'soft-expired'
            : 'hard-expired',
    };
  }

  async addPolicy(args: AddPolicyArgs): Promise<number> {
    try {
      const p = this.spd.add(args);
      this.log.log('knl', 2, `added policy ${p.id} ${p.direction} ${p.action} ${p.selector.toString()}`);
      return p.id;
    } catch (e) {
      throw new KernelError(`bad policy: ${(e as Error).message}`);
    }
  }

  async delPolicy(policyId: number): Promise<void> {
    if (this.spd.get(policyId) === undefined) throw new KernelError(`no policy ${policyId}`);
    await this.delPolicies([policyId]);
  }

  /** One SPD batch (one index update), all or nothing. */
  async addPolicies(args: readonly AddPolicyArgs[]): Promise<number[]> {
    try {
      const added = this.spd.addPolicies(args);
      this.log.log('knl', 2, `added ${added.length} policies ${added.map((p) => p.id).join(', ')}`);
      return added.map((p) => p.id);
    } catch (e) {
      throw new KernelError(`bad policy: ${(e as Error).message}`);
    }
  }

  async delPolicies(policyIds: readonly number[]): Promise<void> {
    const gone = policyIds.map((id) => this.spd.get(id)).filter((p) => p !== undefined);
    this.spd.removePolicies(policyIds);
    const reqids = new Set(gone.filter((p) => p.action === 'protect').map((p) => p.reqid));
    if (reqids.size === 0) return;
    for (const q of this.spd.all()) if (q.action === 'protect') reqids.delete(q.reqid);
    for (const reqid of reqids) this.stats.drops.trapDiscarded += this.trap.discard(reqid);
  }

  // ---------------------------------------------------------------- outbound

  /** Process one batch read from the TUN (the device's receiver). */
  /**
   * Process one batch read from the TUN (the device's receiver), LOOKUP_CHUNK packets at a time in two passes:
   * first the policy and SA of every packet of the chunk, then the actions. With traffic spread over thousands
   * of SAs each packet's SA state is a chain of cache misses (SA -> per-SA state -> ESP engine); between the
   * passes one short loop reads along each chain, so the misses of different packets overlap instead of
   * queueing one after the other inside the seal. Nothing can change the SPD or the SAD inside a batch
   * (upcalls wait for its end), so what the first pass found still holds in the second.
   */
  handleTunBatch(batch: PacketBatch): void {
    const now = this.now();
    const policies = this.chunkPolicies;
    const sas = this.chunkSas;
    for (let first = 0; first < batch.count; first += LOOKUP_CHUNK) {
      const n = Math.min(LOOKUP_CHUNK, batch.count - first);
      for (let i = 0; i < n; i++) {
        const buf = batch.bufs[first + i];
        const off = batch.offsets[first + i] ?? 0;
        const len = batch.lengths[first + i] ?? 0;
        const policy = buf === undefined ? undefined : this.outboundPolicy(buf, off, len);
        policies[i] = policy;
        sas[i] = policy?.action === 'protect' ? this.sad.outboundFor(policy.reqid) : undefined;
      }
      this.touchSaState(sas, n);
      for (let i = 0; i < n; i++) {
        const policy = policies[i];
        const buf = batch.bufs[first + i];
        if (policy === undefined || buf === undefined) continue;
        this.outboundPacket(policy, sas[i], buf, batch.offsets[first + i] ?? 0, batch.lengths[first + i] ?? 0, now);
      }
    }
    this.flushSends();
    this.deliverUpcalls();
  }

  /** First pass: the packet's policy, or undefined after counting the drop (malformed, no policy). */
  private outboundPolicy(buf: Buffer, off: number, len: number): Policy | undefined {
    this.stats.tunRxPackets++;
    const key = this.outKey;
    if (extractFlow(buf, off, len, key) !== undefined) {
      this.drop('malformed');
      return undefined;
    }
    const policy = this.spd.lookup('out', key);
    if (policy === undefined) this.drop('noPolicy');
    return policy;
  }

  /** Read along each ESP SA's chain of objects (see handleTunBatch); the sum is kept so the reads stay. */
  private touchSaState(sas: readonly (SecurityAssociation<SaState> | undefined)[], n: number): void {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const st = sas[i]?.engine;
      if (st?.kind === 'out') sum ^= st.esp.spi;
    }
    this.touchSum = sum;
  }

  /** Second pass: what the policy says, with the SA the first pass found for a protect policy. */
  private outboundPacket(
    policy: Policy,
    sa: SecurityAssociation<SaState> | undefined,
    buf: Buffer,
    off: number,
    len: number,
    now: number,
  ): void {
    policy.packets++;
    policy.bytes += len;
    if (policy.action === 'discard') return this.drop('discard');
    if (policy.action === 'bypass') return this.drop('bypassInTun');
    if (sa === undefined) {
      // The acquire carries the packet's selector fields: read them again (the first pass moved on).
      extractFlow(buf, off, len, this.outKey);
      return this.trapPacket(policy, buf, off, len, now);
    }
    this.sealAndQueue(sa, buf, off, len, now);
  }

  private sealAndQueue(sa: SecurityAssociation<SaState>, buf: Buffer, off: number, len: number, now: number): void {
    const st = sa.engine;
    if (st.kind === 'ahOut') this.ah.sealAndQueue(sa, st, buf, off, len, now);
    else if (st.kind === 'out') this.esp.sealAndQueue(sa, st, buf, off, len, now);
  }

  private trapPacket(policy: Policy, buf: Buffer, off: number, len: number, now: number): void {
    const { kept, acquire } = this.trap.enqueue(policy.reqid, buf, off, len, now);
    this.drop(kept ? 'trapQueued' : 'trapQueueFull');
    if (!acquire) return;
    this.stats.acquires++;
    const k = this.outKey;
    const event = {
      reqid: policy.reqid,
      policyId: policy.id,
      packet: {
        src: formatAddressWords(k.family, k.src),
        dst: formatAddressWords(k.family, k.dst),
        protocol: k.protocol,
        srcPort: k.portKind === PortKind.PORTS ? k.srcPort : 0,
        dstPort: k.portKind === PortKind.PORTS ? k.dstPort : 0,
      },
    };
    this.log.log('knl', 1, `acquire for reqid ${policy.reqid}: ${event.packet.src} -> ${event.packet.dst}`);
    this.upcalls.push(() => this.listener.acquire(event));
  }

  /** An outbound SA arrived: send what waited for its reqid. */
  private releaseTrapped(sa: SecurityAssociation<SaState>): void {
    const now = this.now();
    const st = sa.engine;
    this.trap.flush(sa.reqid, (pkt) => {
      this.sealAndQueue(sa, pkt.buf, pkt.off, pkt.len, now);
      // The pooled buffer goes back when this returns: send now, not at the end of a batch.
      if (st.kind === 'out') this.esp.flushFor(st);
      else if (st.kind === 'ahOut') this.ah.flush(st.family);
    });
    this.deliverUpcalls();
  }

  private flushSends(): void {
    for (const f of [4, 6] as const) {
      this.esp.flush(f);
      this.ah.flush(f);
    }
  }

  // ---------------------------------------------------------------- inbound

  /** Process a batch of received datagrams; only ESP slots are looked at (raw protocol 50 or ESP-in-UDP). */
  handleEspBatch(batch: DatagramBatch): void {
    const now = this.now();
    for (let i = 0; i < batch.count; i++) {
      if (batch.kinds[i] === DatagramKind.ESP) this.esp.inbound(batch, i, now);
    }
    this.flushTun();
    this.deliverUpcalls();
  }

  /** Process a batch from a raw AH socket (RFC 4302 3.4): IPv4 slots start at the IP header, IPv6 at the AH. */
  handleAhBatch(batch: DatagramBatch): void {
    const now = this.now();
    for (let i = 0; i < batch.count; i++) {
      if (batch.kinds[i] === DatagramKind.AH) this.ah.inbound(batch, i, now);
    }
    this.flushTun();
    this.deliverUpcalls();
  }

  /** Add an opened packet to the TUN write batch (also the AH path's `AhPathHost.queueTun`). */
  private queueTun(v: PacketView): void {
    const t = this.tunOut;
    const j = t.count++;
    t.bufs[j] = v.buf;
    t.offsets[j] = v.off;
    t.lengths[j] = v.len;
    if (t.count === this.tunOutSize) this.flushTun();
  }

  /** The ESP path saw a NAT mapping change: tell IKE after the batch. */
  private onMapping(sa: SecurityAssociation<SaState>, event: MappingEvent): void {
    this.log.log('knl', 1, `NAT mapping of ${sa.label} changed to ${event.newSrc.address}:${event.newSrc.port}`);
    this.upcalls.push(() => this.listener.mapping(event));
  }

  private flushTun(): void {
    const t = this.tunOut;
    if (t.count === 0) return;
    const n = t.count;
    const written = this.tun.write(t);
    this.stats.tunTxPackets += written;
    if (written < n) this.stats.drops.sendFailed += n - written;
    t.count = 0;
  }

  // ---------------------------------------------------------------- upcalls and counters

  private onExpire(e: SaExpireEvent<SaState>): void {
    const sa = e.sa;
    const event = {
      id: { protocol: sa.protocol, spi: sa.spi, dst: sa.dst },
      reqid: sa.reqid,
      inbound: sa.direction === 'in',
      hard: e.hard,
      reason: e.reason,
    };
    this.log.log('knl', 1, `${e.hard ? 'hard' : 'soft'} expire of ${sa.label} by ${e.reason}`);
    this.upcalls.push(() => this.listener.expire(event));
  }

  private deliverUpcalls(): void {
    while (this.upcalls.length > 0) {
      const u = this.upcalls.shift();
      try {
        u?.();
      } catch (e) {
        this.log.log('knl', 0, `upcall failed: ${(e as Error).message}`);
      }
    }
  }

  private drop(reason: DataplaneDropReason): void {
    this.stats.drops[reason]++;
  }

  /** Everything for `tsipsec sas --json` / `stats`: SAs, policies, data-plane counters. */
  toJSON(): Record<string, unknown> {
    return {
      sas: this.sad.all().map((sa) => sa.toJSON()),
      policies: this.spd.all().map((p) => p.toJSON()),
      stats: { ...this.stats, drops: { ...this.stats.drops } },
      spdCache: this.spd.cacheStats(),
    };
  }
}

function describe(id: SaId): string {
  return `${id.protocol} ${(id.spi >>> 0).toString(16)} to ${id.dst}`;
}
