/**
 * The ESP (RFC 4303) packet path of the user-space data plane, beside AH's (ah-path.ts), between the SAD and
 * the raw protocol-50 sockets and the NAT-T UDP endpoints (ESP-in-UDP, RFC 3948):
 *   outbound: seal in place (header into the headroom, trailer and ICV into the tailroom) -> lifetime
 *             accounting -> slot of the raw or UDP send batch, pointing at the same buffer -> one send;
 *   inbound:  SPI -> SAD -> open in place (replay check, ICV, decrypt, replay commit) -> transport-mode IP
 *             header rebuilt -> the inner packet must match one of the SA's selectors (RFC 4301 5.2 step 4)
 *             -> accounting -> NAT mapping check (only after the ICV verified) -> the TUN write batch.
 * Counters, lifetimes and drop reasons are the data plane's (userspace-dataplane.ts).
 */
import { IPV6_HEADER_LENGTH, readU32 } from '../common/ip.js';
import type { PacketBuffer } from '../common/packet-buffer.js';
import { ESP_HEADER_LENGTH, ESP_SPI_OFFSET } from '../esp/constants.js';
import { decapsulateEcn, outerTrafficClass, readTrafficClass } from '../esp/ecn.js';
import { fixTransportChecksum } from '../esp/nat-checksum.js';
import { formatAddress } from '../io/ip-address.js';
import { ADDRESS_SLOT_BYTES } from '../io/types.js';
import type { DatagramBatch, IpFamily, PacketSocket, UdpEndpoint } from '../io/types.js';
import type { MappingEvent } from '../kernel/kernel-ipsec.js';
import type { SecurityAssociationDatabase } from '../sad/sad.js';
import { SaLifeState } from '../sad/security-association.js';
import type { SecurityAssociation } from '../sad/security-association.js';
import { FlowKey, extractFlow } from '../spd/flow.js';
import { anySelectorMatches } from '../spd/selector.js';
import type { DataplaneStats } from './dataplane-stats.js';
import type { InboundSaState, OutboundSaState, SaState } from './esp-state.js';
import { SendBatch } from './send-batch.js';
import { OuterHeaderScratch, rebuildTransportHeader, sameBytes } from './transport-header.js';
import type { MutablePacket } from './transport-header.js';

/** Smallest spill buffer: a full-sized packet and its header, so most are allocated once. */
const SPILL_MIN_BYTES = 2048;

/** What the ESP path uses of the data plane that owns it. */
export interface EspPathHost {
  readonly sad: SecurityAssociationDatabase<SaState>;
  readonly stats: DataplaneStats;
  /** Hand an opened packet to the TUN write batch (the data plane flushes it after the batch). */
  queueTun(pkt: MutablePacket): void;
  /** Write what `queueTun` holds now. */
  flushTun(): void;
  /** An authenticated ESP-in-UDP packet came from a new address or port (once per change). */
  mapping(sa: SecurityAssociation<SaState>, event: MappingEvent): void;
}

export class EspPath {
  private readonly host: EspPathHost;
  private readonly raw: Partial<Record<IpFamily, PacketSocket>>;
  private readonly natT: Partial<Record<IpFamily, UdpEndpoint>>;
  private readonly rawOut: Record<IpFamily, SendBatch>;
  private readonly udpOut: Record<IpFamily, SendBatch>;
  // Packet-path scratch, allocated once.
  private readonly view: MutablePacket = { buf: Buffer.alloc(0), off: 0, len: 0 };
  private readonly key = new FlowKey();
  private readonly outer = new OuterHeaderScratch();
  /**
   * Transport mode, one datagram of a UDP GRO receive without room for the IP header inside its own bytes: the
   * payload is copied into the next of these (grown when short, never freed). A ring: before it comes round
   * again the TUN write batch is flushed, so no queued packet still points into a buffer being reused.
   */
  private readonly spill: Buffer[] = [];
  private spillNext = 0;
  private readonly spillSlots: number;

  constructor(
    host: EspPathHost,
    raw: Partial<Record<IpFamily, PacketSocket>>,
    natT: Partial<Record<IpFamily, UdpEndpoint>>,
    batchSize: number,
  ) {
    this.host = host;
    this.raw = raw;
    this.natT = natT;
    this.rawOut = { 4: new SendBatch(4, batchSize), 6: new SendBatch(6, batchSize) };
    this.udpOut = { 4: new SendBatch(4, batchSize), 6: new SendBatch(6, batchSize) };
    this.spillSlots = batchSize;
  }

  /** Start the raw sockets; the UDP endpoints are started by their owner with the data plane's `espReceiver`. */
  start(receiver: (batch: DatagramBatch) => void): void {
    for (const f of [4, 6] as const) this.raw[f]?.start(receiver);
  }

  sealAndQueue(
    sa: SecurityAssociation<SaState>,
    st: OutboundSaState,
    buf: Buffer,
    off: number,
    len: number,
    now: number,
  ) {
    const { sad, stats } = this.host;
    if (!sad.admit(sa)) return;
    const out = st.encap ? this.udpOut[st.family] : this.rawOut[st.family];
    if ((st.encap ? this.natT[st.family] : this.raw[st.family]) === undefined) {
      stats.drops.noSocket++;
      return;
    }
    const v = this.view;
    v.buf = buf;
    v.off = off;
    v.len = len;
    // RFC 4301 5.1.2.1, RFC 6040: the outer header takes the inner DSCP and ECN (read before encryption).
    const tos = sa.mode === 'tunnel' ? outerTrafficClass(readTrafficClass(buf, off, len)) : 0;
    const r = st.esp.seal(v as PacketBuffer);
    if (r !== 'ok') {
      if (r === 'seqExhausted') sad.expireBySequence(sa, true);
      return sad.countDrop(sa, r);
    }
    sad.account(sa, len, now);
    // RFC 4303 3.3.3: rekey well before the sequence number would wrap.
    if (st.esp.rekeyDue && sa.lifeState === SaLifeState.ACTIVE) sad.expireBySequence(sa, false);
    if (out.push(buf, v.off, v.len, st.peerSlot, st.peerPort, tos)) this.send(out, st.encap);
  }

  /** Send what is queued for family `f`, raw and in UDP. */
  flush(f: IpFamily): void {
    this.send(this.rawOut[f], false);
    this.send(this.udpOut[f], true);
  }

  /** Send what is queued on the path of an outbound SA (a pooled trap buffer goes back right after). */
  flushFor(st: OutboundSaState): void {
    this.send(st.encap ? this.udpOut[st.family] : this.rawOut[st.family], st.encap);
  }

  /** Slot `i` of a received batch holding ESP (raw protocol 50 or ESP-in-UDP). */
  inbound(batch: DatagramBatch, i: number, now: number): void {
    const { sad, stats } = this.host;
    stats.netRxPackets++;
    const buf = batch.bufs[i];
    const off = batch.offsets[i] ?? 0;
    const len = batch.lengths[i] ?? 0;
    if (buf === undefined || len < ESP_HEADER_LENGTH) {
      stats.drops.malformed++;
      return;
    }
    const sa = sad.inbound('esp', readU32(buf, off + ESP_SPI_OFFSET));
    const st = sa?.engine;
    if (sa === undefined || st?.kind !== 'in') {
      stats.drops.noSa++;
      return;
    }
    if (!sad.admit(sa)) return;
    const v = this.view;
    v.buf = buf;
    v.off = off;
    v.len = len;
    const r = st.esp.open(v as PacketBuffer);
    if (r !== 'ok') return sad.countDrop(sa, r);
    // RFC 6040 4.2: the outer ECN field carries congestion marks into the inner header (or drops the packet).
    if (sa.mode === 'tunnel' && !decapsulateEcn(v.buf, v.off, v.len, batch.tos?.[i] ?? 0)) {
      return sad.countDrop(sa, 'ecn');
    }
    if (sa.mode === 'transport' && !this.transportHeader(v, batch, i, st.esp.lastNextHeader, off, len)) {
      return sad.countDrop(sa, 'tooBig');
    }
    // RFC 3948 3.1.2: behind a NAT the peer's TCP/UDP checksum covers addresses other than the rebuilt ones.
    if (sa.mode === 'transport' && st.encap) fixTransportChecksum(v.buf, v.off, v.len);
    const key = this.key;
    if (extractFlow(v.buf, v.off, v.len, key) !== undefined) return sad.countDrop(sa, 'malformed');
    // RFC 4301 5.2 step 4: the inner packet must fall inside the SA's selectors.
    if (!anySelectorMatches(sa.selectors, key, true)) return sad.countDrop(sa, 'policy');
    sad.account(sa, v.len, now);
    if (st.encap) this.checkMapping(sa, st, batch, i);
    this.host.queueTun(v);
  }

  /**
   * Rebuild the transport-mode IP header of slot `i` (delivered as `len` bytes at `off`). A UDP GRO view may
   * write only inside those bytes; when they cannot hold the header too, the payload moves to a spill buffer.
   */
  private transportHeader(v: MutablePacket, batch: DatagramBatch, i: number, nh: number, off: number, len: number) {
    if (batch.shared?.[i] !== 1) return rebuildTransportHeader(v, batch, i, nh, this.outer);
    if (rebuildTransportHeader(v, batch, i, nh, this.outer, off, off + len)) return true;
    const room = IPV6_HEADER_LENGTH;
    if (this.spillNext === this.spillSlots) {
      this.host.flushTun();
      this.spillNext = 0;
    }
    const k = this.spillNext++;
    let s = this.spill[k];
    if (s === undefined || s.length < room + v.len) {
      s = Buffer.allocUnsafeSlow(Math.max(room + v.len, SPILL_MIN_BYTES));
      this.spill[k] = s;
    }
    v.buf.copy(s, room, v.off, v.off + v.len);
    v.buf = s;
    v.off = room;
    return rebuildTransportHeader(v, batch, i, nh, this.outer);
  }

  private send(out: SendBatch, encap: boolean): void {
    const n = out.batch.count;
    if (n === 0) return;
    const f = out.batch.family;
    const sent = encap ? (this.natT[f]?.sendEsp(out.batch) ?? 0) : (this.raw[f]?.send(out.batch) ?? 0);
    this.host.stats.netTxPackets += sent;
    if (sent < n) this.host.stats.drops.sendFailed += n - sent;
    out.clear();
  }

  /** RFC 3948 / RFC 7296 2.23: an authenticated packet from a new address or port: tell IKE, once per change. */
  private checkMapping(sa: SecurityAssociation<SaState>, st: InboundSaState, batch: DatagramBatch, i: number): void {
    const port = batch.remotePorts[i] ?? 0;
    const slot = i * ADDRESS_SLOT_BYTES;
    const n = st.family === 4 ? 4 : 16;
    if (port === st.peerPort && sameBytes(batch.remoteAddrs, slot, st.peerSlot, n)) return;
    if (port === st.reportedPort && sameBytes(batch.remoteAddrs, slot, st.reportedSlot, n)) return;
    st.reportedSlot.set(batch.remoteAddrs.subarray(slot, slot + ADDRESS_SLOT_BYTES));
    st.reportedPort = port;
    this.host.stats.mappings++;
    this.host.mapping(sa, {
      id: { protocol: sa.protocol, spi: sa.spi, dst: sa.dst },
      reqid: sa.reqid,
      oldSrc: { address: formatAddress(st.peerSlot, 0, st.family), port: st.peerPort },
      newSrc: { address: formatAddress(batch.remoteAddrs, slot, st.family), port },
    });
  }
}
