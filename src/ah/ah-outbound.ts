/**
 * Outbound AH SA (RFC 4302 3.3): seals IP packets in place in a buffer with headroom.
 *
 * Tunnel mode (RFC 4302 3.1.2): the packet in the buffer is the inner IPv4/IPv6 packet; `seal` writes a new
 * outer header (from the SA's tunnel endpoints; DSCP and ECN copied from the inner header, RFC 4301 5.1.2.1
 * and RFC 6040 normal mode; DF copied from an inner IPv4 header) and the AH in front of it.
 *
 * Transport mode (RFC 4302 3.1.1): the packet is an IPv4/IPv6 packet; its IP header (with options) and the
 * IPv6 extension headers that go in front of AH (hop-by-hop, routing, destination options before a routing
 * header; walkIpv6Headers) move forward into the headroom and the AH goes in the gap. Protocol / next
 * header become 51, the lengths and the IPv4 header checksum are fixed.
 *
 * Either way the packet grows at the front only: on 'ok' `pkt.off` moves back and `pkt.len` grows; on any
 * other result the buffer may be partly rewritten and the packet must be dropped.
 *
 * Sequence numbers (RFC 4302 2.5, 3.3.2): the first packet carries 1. Without ESN the counter never wraps:
 * once 2^32 - 1 has been sent, `seal` refuses with 'seqExhausted' and the SA must be rekeyed; `rekeyDue`
 * turns true earlier, at `softSeqLimit`. With ESN the full 64-bit counter is kept (exact up to 2^53 - 1)
 * and its high 32 bits enter the ICV.
 */

import { countDrop, newDropCounters } from '../common/drop.js';
import {
  IPV4_FLAG_DF,
  IPV4_FLAG_MF,
  IPV4_FLAGS_FRAGMENT_OFFSET,
  IPV4_FRAGMENT_OFFSET_MASK,
  IPV4_PROTOCOL_OFFSET,
  IPV4_TOS_OFFSET,
  IPV4_TOTAL_LENGTH_OFFSET,
  IPV6_ADDRESS_LENGTH,
  IPV6_HEADER_LENGTH,
  IPV6_PAYLOAD_LENGTH_OFFSET,
  IPV6_VERSION_CLASS_FLOW_OFFSET,
  IPV4_MIN_HEADER_LENGTH,
  IpProto,
  ipVersion,
  ipv4HeaderLength,
  newIpv6Walk,
  readU16,
  setIpv4HeaderChecksum,
  walkIpv6Headers,
  writeOuterIpv4,
  writeOuterIpv6,
  writeU16,
  writeU32,
} from '../common/ip.js';
import type { OuterIpParams } from '../common/ip.js';
import type { PacketBuffer } from '../common/packet-buffer.js';
import { ahLength, writeAhHeader } from './ah-header.js';
import { AhIcv } from './ah-icv.js';
import { ahMaxSequenceNumber, checkAhConfig } from './ah-config.js';
import type { AhMode, AhSaConfig, AhSaCounters, AhSealResult } from './ah-config.js';

const TWO_32 = 0x1_0000_0000;
const IP_MAX_LENGTH = 0xffff;
const DEFAULT_TTL = 64;
/** Default soft limit: 90% of the sequence space. */
const SOFT_LIMIT_FRACTION = 0.9;

export class AhOutboundSa {
  readonly spi: number;
  readonly mode: AhMode;
  readonly esn: boolean;
  readonly counters: AhSaCounters = { packets: 0, bytes: 0, drops: newDropCounters() };
  /** AH length for an IPv4 and an IPv6 (outer) header (RFC 4302 2.2, 2.6). */
  readonly ahLengthIpv4: number;
  readonly ahLengthIpv6: number;
  private readonly icv: AhIcv;
  private readonly maxSeq: number;
  private readonly softLimit: number;
  /** Last sequence number sent (0 = none yet). */
  private seq: number;
  private readonly outer: OuterIpParams | null;
  private readonly outerVersion: 4 | 6;
  /** IPv4 Identification of the next outer header (RFC 791; covered by the ICV, RFC 4302 3.3.3.1.1.1). */
  private nextId = 0;
  private readonly walk = newIpv6Walk();

  /** Throws RangeError for an impossible configuration (never per packet). */
  constructor(config: AhSaConfig) {
    checkAhConfig(config, true);
    this.spi = config.spi;
    this.mode = config.mode;
    this.esn = config.esn;
    this.icv = new AhIcv(config.integrity, config.esn);
    this.ahLengthIpv4 = ahLength(this.icv.ivLength, this.icv.icvLength, 4);
    this.ahLengthIpv6 = ahLength(this.icv.ivLength, this.icv.icvLength, 6);
    this.maxSeq = ahMaxSequenceNumber(config.esn);
    this.softLimit = config.softSeqLimit ?? Math.floor(this.maxSeq * SOFT_LIMIT_FRACTION);
    this.seq = (config.initialSeq ?? 1) - 1;
    const t = config.tunnel;
    if (config.mode === 'tunnel' && t !== undefined) {
      this.outer = {
        src: t.src,
        dst: t.dst,
        protocol: IpProto.AH,
        tos: 0,
        ttl: t.ttl ?? DEFAULT_TTL,
        id: 0,
        dontFragment: false,
        flowLabel: 0,
      };
      this.outerVersion = t.src.length === IPV6_ADDRESS_LENGTH ? 6 : 4;
    } else {
      this.outer = null;
      this.outerVersion = 4;
    }
  }

  /** Last sequence number used (0 before the first packet). */
  get lastSeq(): number {
    return this.seq;
  }

  /** True once the soft sequence limit has been reached: time to rekey (RFC 4302 2.5, 3.3.2). */
  get rekeyDue(): boolean {
    return this.seq >= this.softLimit || this.seq >= this.maxSeq;
  }

  /** True once no sequence number is left: `seal` refuses every packet. */
  get exhausted(): boolean {
    return this.seq >= this.maxSeq;
  }

  /** Seal `pkt` in place (see the file comment). Never throws. */
  seal(pkt: PacketBuffer): AhSealResult {
    if (pkt.off < 0 || pkt.len < 1 || pkt.off + pkt.len > pkt.buf.length) {
      return countDrop(this.counters.drops, 'malformed');
    }
    try {
      const r = this.mode === 'tunnel' ? this.sealTunnel(pkt) : this.sealTransport(pkt);
      if (r !== 'ok') return countDrop(this.counters.drops, r);
      return r;
    } catch {
      return countDrop(this.counters.drops, 'internal');
    }
  }

  /** The next sequence number, or 0 if the counter is exhausted (RFC 4302 3.3.2: never wrap). */
  private nextSeq(): number {
    return this.seq >= this.maxSeq ? 0 : this.seq + 1;
  }

  /** RFC 4543: AES-GMAC needs an IV unique under the key; the 64-bit sequence number is one. */
  private setIv(seq: number): void {
    if (this.icv.ivLength === 0) return;
    writeU32(this.icv.iv, 0, Math.floor(seq / TWO_32));
    writeU32(this.icv.iv, 4, seq >>> 0);
  }

  private sealTunnel(pkt: PacketBuffer): AhSealResult {
    const outer = this.outer;
    if (outer === null) return 'internal';
    const buf = pkt.buf;
    const inner = pkt.off;
    const end = pkt.off + pkt.len;
    const innerVersion = ipVersion(buf, inner);
    let tos: number;
    let df = false;
    let nextHeader: number;
    if (innerVersion === 4) {
      if (pkt.len < IPV4_MIN_HEADER_LENGTH) return 'malformed';
      tos = buf[inner + IPV4_TOS_OFFSET] ?? 0;
      df = (readU16(buf, inner + IPV4_FLAGS_FRAGMENT_OFFSET) & IPV4_FLAG_DF) !== 0;
      nextHeader = IpProto.IPV4;
    } else if (innerVersion === 6) {
      if (pkt.len < IPV6_HEADER_LENGTH) return 'malformed';
      tos = (readU16(buf, inner + IPV6_VERSION_CLASS_FLOW_OFFSET) >> 4) & 0xff;
      nextHeader = IpProto.IPV6;
    } else {
      return 'malformed';
    }
    const v = this.outerVersion;
    const ahLen = v === 6 ? this.ahLengthIpv6 : this.ahLengthIpv4;
    const outerLen = v === 6 ? IPV6_HEADER_LENGTH : IPV4_MIN_HEADER_LENGTH;
    const start = inner - ahLen - outerLen;
    if (start < 0) return 'tooBig';
    const total = end - start;
    if ((v === 4 ? total : total - IPV6_HEADER_LENGTH) > IP_MAX_LENGTH) return 'tooBig';
    const seq = this.nextSeq();
    if (seq === 0) return 'seqExhausted';

    outer.tos = tos;
    outer.dontFragment = df;
    outer.id = this.nextId;
    if (v === 6) writeOuterIpv6(buf, start, total, outer);
    else writeOuterIpv4(buf, start, total, outer);
    const ahOff = start + outerLen;
    this.setIv(seq);
    writeAhHeader(buf, ahOff, ahLen, nextHeader, this.spi, seq >>> 0, this.icv.iv);
    if (!this.icv.seal(buf, v, start, ahOff, ahLen, end, seq)) return 'internal';

    this.seq = seq;
    this.nextId = (this.nextId + 1) & 0xffff;
    this.counters.packets++;
    this.counters.bytes += pkt.len;
    pkt.off = start;
    pkt.len = total;
    return 'ok';
  }

  private sealTransport(pkt: PacketBuffer): AhSealResult {
    const buf = pkt.buf;
    const off = pkt.off;
    const end = off + pkt.len;
    const v = ipVersion(buf, off);
    let hdrEnd: number;
    let nhField: number;
    if (v === 4) {
      const hl = ipv4HeaderLength(buf, off, end);
      if (hl < 0 || readU16(buf, off + IPV4_TOTAL_LENGTH_OFFSET) !== pkt.len) return 'malformed';
      // RFC 4302 3.3.4: AH is applied before fragmentation; a fragment cannot be sealed.
      const ff = readU16(buf, off + IPV4_FLAGS_FRAGMENT_OFFSET);
      if ((ff & (IPV4_FLAG_MF | IPV4_FRAGMENT_OFFSET_MASK)) !== 0) return 'malformed';
      hdrEnd = off + hl;
      nhField = off + IPV4_PROTOCOL_OFFSET;
    } else if (v === 6) {
      if (pkt.len < IPV6_HEADER_LENGTH) return 'malformed';
      if (IPV6_HEADER_LENGTH + readU16(buf, off + IPV6_PAYLOAD_LENGTH_OFFSET) !== pkt.len) return 'malformed';
      const w = this.walk;
      if (!walkIpv6Headers(buf, off, end, w) || w.fragment) return 'malformed';
      hdrEnd = w.insertOffset;
      nhField = w.nextHeaderFieldOffset;
    } else {
      return 'malformed';
    }
    const ahLen = v === 6 ? this.ahLengthIpv6 : this.ahLengthIpv4;
    const start = off - ahLen;
    if (start < 0) return 'tooBig';
    const total = pkt.len + ahLen;
    if ((v === 4 ? total : total - IPV6_HEADER_LENGTH) > IP_MAX_LENGTH) return 'tooBig';
    const seq = this.nextSeq();
    if (seq === 0) return 'seqExhausted';

    const nextHeader = buf[nhField] ?? 0;
    buf.copyWithin(start, off, hdrEnd);
    buf[nhField - ahLen] = IpProto.AH;
    if (v === 4) writeU16(buf, start + IPV4_TOTAL_LENGTH_OFFSET, total);
    else writeU16(buf, start + IPV6_PAYLOAD_LENGTH_OFFSET, total - IPV6_HEADER_LENGTH);
    const ahOff = hdrEnd - ahLen;
    this.setIv(seq);
    writeAhHeader(buf, ahOff, ahLen, nextHeader, this.spi, seq >>> 0, this.icv.iv);
    // Malformed IPv4 options or an IPv6 routing header whose final destination cannot be predicted.
    if (!this.icv.seal(buf, v, start, ahOff, ahLen, end, seq)) return 'malformed';
    if (v === 4) setIpv4HeaderChecksum(buf, start, hdrEnd - off);

    this.seq = seq;
    this.counters.packets++;
    this.counters.bytes += end - hdrEnd;
    pkt.off = start;
    pkt.len = total;
    return 'ok';
  }
}
