/**
 * The AH (RFC 4302) packet path of the user-space data plane, between the SAD and the raw protocol-51
 * sockets: outbound seal -> wire form -> send batch; inbound wire form -> SPI -> SAD -> open -> selector
 * check -> TUN. Counters, lifetimes and drop reasons are the ESP path's (userspace-dataplane.ts).
 *
 * AH's ICV covers the outer IP header's immutable fields (RFC 4302 3.3.3.1), so the header that goes on the
 * wire must be the one that was sealed, and the one that arrives must reach `open`:
 *   IPv4: the Identification is immutable and a kernel-built header would pick its own, so the IPv4 AH
 *         socket must be header-included (IP_HDRINCL): the sealed packet goes out whole and arrives whole,
 *         options included. Linux fills in an Identification of 0 when DF is clear (raw(7)); flags are
 *         mutable (RFC 4302 A.1), so such a packet gets DF set after sealing and keeps its 0.
 *   IPv6: every immutable field of the fixed header (version, payload length, next header 51, addresses)
 *         is predictable, so the kernel builds the header on send (the sealed one is skipped; its source
 *         address is chosen with IPV6_PKTINFO) and on receive it is rebuilt from the datagram's addresses
 *         and length; traffic class, flow label and hop limit are mutable and zeroed for the ICV anyway.
 *         Extension headers in front of AH are not carried (our peers send none, and an IPv6 raw socket
 *         does not show them): an outbound packet that would need them is dropped as 'unsupported'.
 * AH has no NAT traversal (ah-state.ts refuses an SA with `encap`).
 */

import { locateAh, newAhLocation } from '../ah/index.js';
import {
  IPV4_FLAG_DF,
  IPV4_FLAGS_FRAGMENT_OFFSET,
  IPV4_ID_OFFSET,
  IPV6_ADDRESS_LENGTH,
  IPV6_HEADER_LENGTH,
  IPV6_NEXT_HEADER_OFFSET,
  IPV6_SRC_OFFSET,
  IpProto,
  ipv4HeaderLength,
  readU16,
  setIpv4HeaderChecksum,
  writeU16,
} from '../common/ip.js';
import type { PacketBuffer } from '../common/packet-buffer.js';
import { DatagramKind } from '../io/types.js';
import type { DatagramBatch, IpFamily, PacketSocket } from '../io/types.js';
import { KernelError } from '../kernel/kernel-ipsec.js';
import type { SecurityAssociationDatabase } from '../sad/sad.js';
import { SaLifeState } from '../sad/security-association.js';
import type { SecurityAssociation } from '../sad/security-association.js';
import { FlowKey, extractFlow } from '../spd/flow.js';
import { anySelectorMatches } from '../spd/selector.js';
import type { AhOutboundState } from './ah-state.js';
import type { DataplaneStats } from './dataplane-stats.js';
import type { SaState } from './esp-state.js';
import { SendBatch } from './send-batch.js';
import { OuterHeaderScratch, rebuildTransportHeader } from './transport-header.js';
import type { MutablePacket } from './transport-header.js';

/** What the AH path uses of the data plane that owns it. */
export interface AhPathHost {
  readonly sad: SecurityAssociationDatabase<SaState>;
  readonly stats: DataplaneStats;
  /** Hand an opened packet to the TUN write batch (the data plane flushes it after the batch). */
  queueTun(pkt: MutablePacket): void;
}

export class AhPath {
  private readonly host: AhPathHost;
  private readonly sockets: Partial<Record<IpFamily, PacketSocket>>;
  private readonly out: Record<IpFamily, SendBatch>;
  // Packet-path scratch, allocated once.
  private readonly view: MutablePacket = { buf: Buffer.alloc(0), off: 0, len: 0 };
  private readonly loc = newAhLocation();
  private readonly key = new FlowKey();
  private readonly outer = new OuterHeaderScratch();

  /** Throws KernelError when the IPv4 socket is not header-included (see the file comment). */
  constructor(host: AhPathHost, sockets: Partial<Record<IpFamily, PacketSocket>>, batchSize: number) {
    const v4 = sockets[4] as (PacketSocket & { readonly headerIncluded?: boolean }) | undefined;
    if (v4 !== undefined && v4.headerIncluded !== true) {
      throw new KernelError('the IPv4 AH socket must be opened with headerIncluded: true (IP_HDRINCL)');
    }
    for (const f of [4, 6] as const) {
      const s = sockets[f];
      if (s !== undefined && (s.protocol !== IpProto.AH || s.family !== f)) {
        throw new KernelError(`ahSockets[${f}] must be an IPv${f} protocol-51 socket`);
      }
    }
    this.host = host;
    this.sockets = sockets;
    this.out = { 4: new SendBatch(4, batchSize, DatagramKind.AH), 6: new SendBatch(6, batchSize, DatagramKind.AH) };
  }

  start(receiver: (batch: DatagramBatch) => void): void {
    for (const f of [4, 6] as const) this.sockets[f]?.start(receiver);
  }

  /** Seal (RFC 4302 3.3) into the headroom and queue the wire form. */
  sealAndQueue(
    sa: SecurityAssociation<SaState>,
    st: AhOutboundState,
    buf: Buffer,
    off: number,
    len: number,
    now: number,
  ): void {
    const { sad, stats } = this.host;
    if (!sad.admit(sa)) return;
    const f = st.family;
    if (this.sockets[f] === undefined) {
      stats.drops.noSocket++;
      return;
    }
    const v = this.view;
    v.buf = buf;
    v.off = off;
    v.len = len;
    const r = st.ah.seal(v as PacketBuffer);
    if (r !== 'ok') {
      if (r === 'seqExhausted') sad.expireBySequence(sa, true);
      return sad.countDrop(sa, r);
    }
    if (f === 6 && buf[v.off + IPV6_NEXT_HEADER_OFFSET] !== IpProto.AH) {
      stats.drops.unsupported++;
      return;
    }
    sad.account(sa, len, now);
    // RFC 4302 3.3.2: rekey well before the sequence number would wrap.
    if (st.ah.rekeyDue && sa.lifeState === SaLifeState.ACTIVE) sad.expireBySequence(sa, false);
    const out = this.out[f];
    let full: boolean;
    if (f === 4) {
      keepZeroIdentification(buf, v.off);
      full = out.push(buf, v.off, v.len, st.peerSlot, 0);
    } else {
      full = out.push(buf, v.off + IPV6_HEADER_LENGTH, v.len - IPV6_HEADER_LENGTH, st.peerSlot, 0);
      out.setLastSource(buf, v.off + IPV6_SRC_OFFSET, IPV6_ADDRESS_LENGTH);
    }
    if (full) this.flush(f);
  }

  /** Send what is queued for family `f`. */
  flush(f: IpFamily): void {
    const out = this.out[f];
    const n = out.batch.count;
    if (n === 0) return;
    const sent = this.sockets[f]?.send(out.batch) ?? 0;
    const stats = this.host.stats;
    stats.netTxPackets += sent;
    if (sent < n) stats.drops.sendFailed += n - sent;
    out.clear();
  }

  /** Slot `i` of a batch from an AH socket (RFC 4302 3.4): IPv4 starts at the IP header, IPv6 at the AH. */
  inbound(batch: DatagramBatch, i: number, now: number): void {
    const { sad, stats } = this.host;
    stats.netRxPackets++;
    const buf = batch.bufs[i];
    const len = batch.lengths[i] ?? 0;
    if (buf === undefined || len <= 0) {
      stats.drops.malformed++;
      return;
    }
    const v = this.view;
    v.buf = buf;
    v.off = batch.offsets[i] ?? 0;
    v.len = len;
    // IPv6: the header the kernel consumed, rebuilt from its immutable fields (see the file comment).
    const rebuilt = batch.family === 4 || rebuildTransportHeader(v, batch, i, IpProto.AH, this.outer);
    const loc = this.loc;
    if (!rebuilt || !locateAh(v.buf, v.off, v.off + v.len, loc)) {
      stats.drops.malformed++;
      return;
    }
    const sa = sad.inbound('ah', loc.spi);
    const st = sa?.engine;
    if (sa === undefined || st?.kind !== 'ahIn') {
      stats.drops.noSa++;
      return;
    }
    if (!sad.admit(sa)) return;
    const r = st.ah.open(v as PacketBuffer);
    if (r !== 'ok') return sad.countDrop(sa, r);
    const key = this.key;
    if (extractFlow(v.buf, v.off, v.len, key) !== undefined) return sad.countDrop(sa, 'malformed');
    // RFC 4301 5.2 step 4: the inner packet must fall inside the SA's selectors.
    if (!anySelectorMatches(sa.selectors, key, true)) return sad.countDrop(sa, 'policy');
    sad.account(sa, v.len, now);
    this.host.queueTun(v);
  }
}

/**
 * Sent through IP_HDRINCL, an IPv4 Identification of 0 with DF clear is replaced by the kernel (raw(7)),
 * which would break the ICV. Flags are mutable for AH (RFC 4302 A.1), so set DF on such a packet instead.
 */
export function keepZeroIdentification(buf: Buffer, off: number): void {
  if (readU16(buf, off + IPV4_ID_OFFSET) !== 0) return;
  const ff = readU16(buf, off + IPV4_FLAGS_FRAGMENT_OFFSET);
  if ((ff & IPV4_FLAG_DF) !== 0) return;
  writeU16(buf, off + IPV4_FLAGS_FRAGMENT_OFFSET, ff | IPV4_FLAG_DF);
  const hl = ipv4HeaderLength(buf, off);
  if (hl > 0) setIpv4HeaderChecksum(buf, off, hl);
}
