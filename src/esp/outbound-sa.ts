/**
 * Outbound ESP processing (RFC 4303 3.3): seal a packet in place inside a PacketBuffer. The packet sits at
 * `pkt.off` with enough headroom for (outer IP +) (UDP +) ESP header + IV and enough tailroom for TFC padding,
 * ESP padding, trailer and ICV (see packet-buffer.ts). `seal` writes the header in front, the trailer behind,
 * encrypts and authenticates in place, then sets `pkt.off`/`pkt.len` to what the SA's `output` option says
 * (sa-params.ts). No allocation per packet apart from one subarray view for separate integrity.
 */

import { countDrop } from '../common/drop.js';
import {
  IPV4_FLAGS_FRAGMENT_OFFSET,
  IPV4_FLAG_MF,
  IPV4_FRAGMENT_OFFSET_MASK,
  IPV4_PROTOCOL_OFFSET,
  IPV4_TOS_OFFSET,
  IPV4_TOTAL_LENGTH_OFFSET,
  IPV6_ADDRESS_LENGTH,
  IPV6_HEADER_LENGTH,
  IPV6_PAYLOAD_LENGTH_OFFSET,
  IPV6_SRC_OFFSET,
  IPV6_DST_OFFSET,
  IpProto,
  newIpInfo,
  newIpv6Walk,
  parseIpHeader,
  readU16,
  setIpv4HeaderChecksum,
  transportChecksum,
  walkIpv6Headers,
  writeOuterIp,
  writeU16,
  writeU32,
} from '../common/ip.js';
import type { OuterIpParams } from '../common/ip.js';
import type { PacketBuffer } from '../common/packet-buffer.js';
import type { Rng } from '../crypto/types.js';
import {
  ESP_IV_OFFSET,
  ESP_NEXT_HEADER_DUMMY,
  ESP_SEQ_OFFSET,
  ESP_SPI_OFFSET,
  ESP_TRAILER_LENGTH,
  SEQ_MODULUS,
  UDP_CHECKSUM_OFFSET,
  UDP_HEADER_LENGTH,
  writeEspAad,
} from './constants.js';
import { maxSequenceNumber } from './sa-params.js';
import type { EspEncapsulation, EspSaParams, SealResult } from './sa-params.js';
import { EspSaBase, sharedScratch } from './sa-setup.js';
import { writeUdpHeader } from './udp-encap.js';

/** strongSwan keyword the crypto provider names ENCR_3DES by. */
const DES3_NAME = '3des';
/** Random bytes drawn at once for CBC IVs, so the Rng is not called per packet. */
const IV_POOL_SIZE = 4096;
/** Default soft limit: 90% of the sequence space (RFC 4303 3.3.3 leaves the margin to the implementation). */
const SOFT_LIMIT_FRACTION = 0.9;

export class EspOutboundSa extends EspSaBase {
  /** Once the next sequence number passes this, `rekeyDue` turns true. */
  readonly softSeqLimit: number;
  private readonly output: 'esp' | 'ip';
  private readonly encap: EspEncapsulation | null;
  private readonly outer: OuterIpParams | null;
  private readonly tfcPadding: number;
  private readonly rng: Rng | null;
  /** True when the IV must be unpredictable (CBC), false when a unique counter suffices (CTR, AEADs). */
  private readonly randomIv: boolean;
  /** Next sequence number to send, as two 32-bit halves. */
  private seqHigh = 0;
  private seqLow = 1;
  /** Every sequence number has been used (RFC 4303 3.3.3: the counter must not cycle). */
  private wrapped = false;
  private readonly iv: Buffer;
  private readonly ivPool: Buffer;
  private ivPoolPos: number;
  private ipId = 0;
  private readonly walk = newIpv6Walk();
  private readonly info = newIpInfo();

  /** Throws RangeError for an invalid combination of parameters (never per packet). */
  constructor(p: EspSaParams) {
    super(p);
    if (this.cipher !== null && this.cipher.name === DES3_NAME) {
      // RFC 8221 5: ENCR_3DES SHOULD NOT be used; it is kept for opening old traffic (published captures) only.
      throw new RangeError('3DES-CBC is accepted for decryption only');
    }
    this.output = p.output ?? 'esp';
    this.encap = p.encapsulation ?? null;
    this.tfcPadding = p.tfcPadding ?? 0;
    this.rng = p.rng ?? null;
    this.randomIv = this.cipher !== null && this.cipher.blockSize > 1 && this.layout.ivLength > 0;
    if (this.randomIv && this.rng === null) throw new RangeError(`${this.layout.name} needs an Rng for its IVs`);
    if (this.mode === 'tunnel' && this.output === 'ip') {
      if (p.tunnel === undefined) throw new RangeError("tunnel mode with output 'ip' needs tunnel addresses");
      if (p.tunnel.src.length !== p.tunnel.dst.length || (p.tunnel.src.length !== 4 && p.tunnel.src.length !== 16)) {
        throw new RangeError('tunnel addresses must both be IPv4 or both IPv6');
      }
      this.outer = { src: p.tunnel.src, dst: p.tunnel.dst, protocol: this.encap ? IpProto.UDP : IpProto.ESP };
    } else {
      this.outer = null;
    }
    this.softSeqLimit = p.softSeqLimit ?? maxSequenceNumber(this.esn) * SOFT_LIMIT_FRACTION;
    const first = BigInt(p.initialSeq ?? 1);
    if (first < 1n || first > (this.esn ? 0xffff_ffff_ffff_ffffn : 0xffff_ffffn)) {
      throw new RangeError('initialSeq out of range');
    }
    this.seqHigh = Number(first >> 32n);
    this.seqLow = Number(first & 0xffff_ffffn);
    this.iv = sharedScratch('iv', Math.max(this.layout.ivLength, 8));
    this.ivPool = Buffer.alloc(this.randomIv ? IV_POOL_SIZE : 0);
    this.ivPoolPos = IV_POOL_SIZE;
  }

  /** The sequence number the next packet will carry (64-bit). */
  get nextSequenceNumber(): bigint {
    return (BigInt(this.seqHigh) << 32n) | BigInt(this.seqLow);
  }

  /** True once the soft limit is passed: the owner should rekey (RFC 4303 3.3.3). */
  get rekeyDue(): boolean {
    return this.wrapped || this.seqHigh * SEQ_MODULUS + this.seqLow > this.softSeqLimit;
  }

  /** True once every sequence number is used: nothing more can be sent on this SA (RFC 4303 3.3.3). */
  get exhausted(): boolean {
    return this.wrapped;
  }

  /** Seal the IP packet at pkt[off, off + len). On 'ok', pkt.off/len describe the output (see sa-params.ts). */
  seal(pkt: PacketBuffer): SealResult {
    return this.guarded(pkt, null, -1);
  }

  /** Seal with a caller-given IV (known-answer tests; callers that manage IV uniqueness themselves). */
  sealWithIv(pkt: PacketBuffer, iv: Uint8Array): SealResult {
    if (iv.length !== this.layout.ivLength) return countDrop(this.counters.drops, 'malformed');
    return this.guarded(pkt, iv, -1);
  }

  /**
   * Seal pkt[off, off + len) as the ESP Payload Data as is, with the given Next Header value, without
   * looking at it (no mode processing, no TFC padding). The output is the ESP packet (with outer headers
   * for tunnel mode and output 'ip'). For protocols the data plane frames itself and for known-answer tests.
   */
  sealPayload(pkt: PacketBuffer, nextHeader: number, iv?: Uint8Array): SealResult {
    if (iv !== undefined && iv.length !== this.layout.ivLength) return countDrop(this.counters.drops, 'malformed');
    return this.guarded(pkt, iv ?? null, nextHeader & 0xff);
  }

  /**
   * Seal a dummy packet (RFC 4303 2.6, next header 59) of `payloadLength` zero bytes written at pkt.off.
   * The receiver discards it after checking the ICV.
   */
  sealDummy(pkt: PacketBuffer, payloadLength: number): SealResult {
    if (payloadLength < 0 || pkt.off + payloadLength + this.tailNeeded(payloadLength) > pkt.buf.length) {
      return countDrop(this.counters.drops, 'tooBig');
    }
    pkt.buf.fill(0, pkt.off, pkt.off + payloadLength);
    pkt.len = payloadLength;
    return this.guarded(pkt, null, ESP_NEXT_HEADER_DUMMY);
  }

  /** rawNextHeader < 0: pkt holds an IP packet to process per the SA's mode; otherwise a bare payload. */
  private guarded(pkt: PacketBuffer, iv: Uint8Array | null, rawNextHeader: number): SealResult {
    try {
      return this.sealPacket(pkt, iv, rawNextHeader);
    } catch {
      return countDrop(this.counters.drops, 'internal');
    }
  }

  private sealPacket(pkt: PacketBuffer, ivIn: Uint8Array | null, rawNextHeader: number): SealResult {
    const drops = this.counters.drops;
    if (this.wrapped) return countDrop(drops, 'seqExhausted');
    const buf = pkt.buf;
    const L = this.layout;
    const udpLength = this.encap !== null && this.output === 'ip' ? UDP_HEADER_LENGTH : 0;
    let payloadOff: number;
    let payloadLen: number;
    let nextHeader: number;
    // Transport mode with output 'ip': [ipStart, ipEnd) is the IP header chain moved in front of ESP.
    let ipStart = -1;
    let ipLen = 0;
    let nhField = -1;
    let version = 0;
    const raw = rawNextHeader >= 0;
    if (raw) {
      if (pkt.len < 0 || pkt.off < 0 || pkt.off + pkt.len > buf.length) return countDrop(drops, 'malformed');
      payloadOff = pkt.off;
      payloadLen = pkt.len;
      nextHeader = rawNextHeader;
    } else {
      const info = this.info;
      if (!parseIpHeader(buf, pkt.off, pkt.off + pkt.len, info) || info.totalLength !== pkt.len) {
        return countDrop(drops, 'malformed');
      }
      version = info.version;
      if (this.mode === 'tunnel') {
        payloadOff = pkt.off;
        payloadLen = pkt.len;
        nextHeader = version === 4 ? IpProto.IPV4 : IpProto.IPV6;
      } else if (version === 4) {
        const frag = readU16(buf, pkt.off + IPV4_FLAGS_FRAGMENT_OFFSET);
        if ((frag & (IPV4_FLAG_MF | IPV4_FRAGMENT_OFFSET_MASK)) !== 0) return countDrop(drops, 'malformed');
        ipStart = pkt.off;
        ipLen = info.headerLength;
        nhField = pkt.off + IPV4_PROTOCOL_OFFSET;
        payloadOff = pkt.off + ipLen;
        payloadLen = pkt.len - ipLen;
        nextHeader = info.protocol;
      } else {
        const w = this.walk;
        if (!walkIpv6Headers(buf, pkt.off, pkt.off + pkt.len, w) || w.fragment) return countDrop(drops, 'malformed');
        ipStart = pkt.off;
        ipLen = w.insertOffset - pkt.off;
        nhField = w.nextHeaderFieldOffset;
        payloadOff = w.insertOffset;
        payloadLen = pkt.off + pkt.len - payloadOff;
        nextHeader = w.nextHeader;
      }
    }
    // RFC 4303 2.7: TFC padding only where the receiver can find the inner length (tunnel mode).
    let tfc = 0;
    if (!raw && this.mode === 'tunnel' && payloadLen < this.tfcPadding) tfc = this.tfcPadding - payloadLen;
    const padded = this.paddedLength(payloadLen + tfc);
    const padLen = padded - payloadLen - tfc - ESP_TRAILER_LENGTH;
    const espOff = payloadOff - L.payloadOffset;
    const icvOff = payloadOff + padded;
    const end = icvOff + L.icvLength;
    const withIp = this.output === 'ip';
    let front = espOff - udpLength;
    if (withIp) front -= this.mode === 'tunnel' ? this.outerLength() : ipLen;
    if (front < 0 || end > buf.length) return countDrop(drops, 'tooBig');

    // Read what the outer header needs from the inner one, and move a transport-mode header chain out of
    // the way, before the ESP header and encryption overwrite them.
    let tos = 0;
    let shift = 0;
    if (withIp && !raw) {
      if (this.mode === 'tunnel') {
        tos = version === 4 ? (buf[payloadOff + IPV4_TOS_OFFSET] ?? 0) : this.ipv6Class(buf, payloadOff);
      } else if (ipStart >= 0) {
        buf.copyWithin(front, ipStart, ipStart + ipLen);
        shift = ipStart - front;
      }
    }

    // Trailer (RFC 4303 2.4-2.6): TFC zeros, padding 1, 2, 3, ..., pad length, next header.
    let t = payloadOff + payloadLen;
    if (tfc > 0) {
      buf.fill(0, t, t + tfc);
      t += tfc;
    }
    for (let i = 1; i <= padLen; i++) buf[t++] = i;
    buf[t++] = padLen;
    buf[t] = nextHeader;

    // Header (RFC 4303 2.1, 2.2): SPI and the low 32 bits of the sequence number.
    const seqLow = this.seqLow;
    const seqHigh = this.seqHigh;
    writeU32(buf, espOff + ESP_SPI_OFFSET, this.spi);
    writeU32(buf, espOff + ESP_SEQ_OFFSET, seqLow);
    const iv = this.iv;
    const ivLen = L.ivLength;
    if (ivIn !== null) {
      iv.set(ivIn, 0);
    } else if (this.randomIv) {
      this.takeRandomIv(ivLen);
    } else if (ivLen >= 8) {
      // AEADs and CTR need a unique IV per key (RFC 4106 3.1, RFC 3686 3.1): the 64-bit sequence number.
      writeU32(iv, ivLen - 8, seqHigh);
      writeU32(iv, ivLen - 4, seqLow);
    }
    if (ivLen > 0) iv.copy(buf, espOff + ESP_IV_OFFSET, 0, ivLen);

    if (this.aead !== null) {
      // RFC 4106 5, RFC 4309 5, RFC 4543 3.3, RFC 7634 2.1: AAD = SPI || [seq high ||] seq low.
      const aad = this.aad;
      writeEspAad(aad, this.spi, seqHigh, seqLow, this.esn);
      this.aead.seal(iv, aad, buf, payloadOff, padded, buf, icvOff);
    } else if (this.cipher !== null) {
      this.cipher.encrypt(iv, buf, payloadOff, padded);
      if (this.integrity !== null) {
        // RFC 4303 3.3.2: ICV over SPI .. trailer; with ESN the high 32 bits are appended (2.2.1).
        this.chunks[0] = buf.subarray(espOff, icvOff);
        if (this.esn) writeU32(this.seqHi, 0, seqHigh);
        this.integrity.compute(this.chunks, buf, icvOff);
      }
    }
    if (seqLow === 0xffff_ffff) {
      this.seqLow = 0;
      this.seqHigh = seqHigh + 1;
      if (!this.esn || this.seqHigh === SEQ_MODULUS) this.wrapped = true;
    } else {
      this.seqLow = seqLow + 1;
    }

    // Outer headers.
    let start = espOff;
    if (udpLength > 0 && this.encap !== null) {
      start -= UDP_HEADER_LENGTH;
      writeUdpHeader(buf, start, this.encap.srcPort, this.encap.dstPort, end - espOff);
    }
    if (withIp) {
      if (this.mode === 'tunnel' && this.outer !== null) {
        const outer = this.outer;
        const hl = this.outerLength();
        start -= hl;
        outer.tos = tos;
        outer.id = this.ipId = (this.ipId + 1) & 0xffff;
        writeOuterIp(buf, start, end - start, outer);
        if (udpLength > 0 && hl === IPV6_HEADER_LENGTH) this.fillUdpChecksum(buf, start, start + hl, end);
      } else if (ipStart >= 0) {
        // Transport mode: the header chain (moved above) now announces ESP (or UDP), with fixed lengths.
        start -= ipLen;
        buf[nhField - shift] = udpLength > 0 ? IpProto.UDP : IpProto.ESP;
        if (version === 4) {
          writeU16(buf, start + IPV4_TOTAL_LENGTH_OFFSET, end - start);
          setIpv4HeaderChecksum(buf, start, ipLen);
        } else {
          writeU16(buf, start + IPV6_PAYLOAD_LENGTH_OFFSET, end - start - IPV6_HEADER_LENGTH);
          if (udpLength > 0) this.fillUdpChecksum(buf, start, espOff - UDP_HEADER_LENGTH, end);
        }
      }
    }
    pkt.off = start;
    pkt.len = end - start;
    this.counters.packets++;
    this.counters.bytes += payloadLen;
    return 'ok';
  }

  /** RFC 4303 2.4: payload + trailer rounded up to the alignment. */
  private paddedLength(payloadLength: number): number {
    const a = this.layout.align;
    const n = payloadLength + ESP_TRAILER_LENGTH;
    return Math.ceil(n / a) * a;
  }

  private tailNeeded(payloadLength: number): number {
    return this.paddedLength(payloadLength) - payloadLength + this.layout.icvLength;
  }

  private outerLength(): number {
    return this.outer !== null && this.outer.src.length === 16 ? IPV6_HEADER_LENGTH : 20;
  }

  private ipv6Class(buf: Buffer, off: number): number {
    return (readU16(buf, off) >>> 4) & 0xff;
  }

  /** IPv6 requires a UDP checksum (RFC 8200 8.1); ipOff is the IPv6 header, udpOff the UDP header. */
  private fillUdpChecksum(buf: Buffer, ipOff: number, udpOff: number, end: number): void {
    writeU16(buf, udpOff + UDP_CHECKSUM_OFFSET, 0);
    const c = transportChecksum(
      buf,
      ipOff + IPV6_SRC_OFFSET,
      ipOff + IPV6_DST_OFFSET,
      IPV6_ADDRESS_LENGTH,
      IpProto.UDP,
      udpOff,
      end - udpOff,
    );
    writeU16(buf, udpOff + UDP_CHECKSUM_OFFSET, c);
  }

  private takeRandomIv(len: number): void {
    if (this.ivPoolPos + len > this.ivPool.length) {
      this.rng?.fill(this.ivPool);
      this.ivPoolPos = 0;
    }
    this.ivPool.copy(this.iv, 0, this.ivPoolPos, this.ivPoolPos + len);
    this.ivPoolPos += len;
  }
}
