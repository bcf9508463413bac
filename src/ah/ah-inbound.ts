/**
 * Inbound AH SA (RFC 4302 3.4): verifies and strips AH in place.
 *
 * `open` takes a whole received IP packet (IPv4 or IPv6, AH after the IPv4 header or after hop-by-hop,
 * routing and destination options headers) and, in order (STYLE.md "check, authenticate, commit"):
 *   1. checks the bounds of the IP header, the header chain up to AH and the AH length for this SA's
 *      algorithm ('short', 'malformed'); IP fragments are refused ('malformed': RFC 4302 3.4.1, AH is
 *      checked after reassembly), and so is a SPI that is not this SA's ('noSa');
 *   2. checks the sequence number against the anti-replay window, inferring the ESN high bits
 *      (RFC 4302 3.4.3, RFC 4303 Appendix A) ('replay');
 *   3. verifies the ICV in constant time over the prepared copy of the headers, the payload and the ESN
 *      high bits (RFC 4302 3.4.4) ('icv');
 *   4. commits the sequence number to the window;
 *   5. decapsulates. Tunnel mode: the packet becomes the inner packet (next header must be 4 or 41 and
 *      match the inner version); a CE mark on the outer header is copied to an ECN-capable inner header
 *      (RFC 6040 4.2). Transport mode: the IP header and the extension headers in front of AH move back
 *      over the AH, next header / protocol, lengths and the IPv4 checksum are restored.
 *
 * Nothing is written to the buffer before step 5. Every failure is counted in `counters.drops` and returned;
 * nothing throws out of `open`. On 'ok', `pkt.off` and `pkt.len` describe the result (trailing bytes past
 * the IP length, e.g. link-layer padding, are cut off).
 */

import { countDrop, newDropCounters } from '../common/drop.js';
import {
  IPV4_FLAG_MF,
  IPV4_FLAGS_FRAGMENT_OFFSET,
  IPV4_FRAGMENT_OFFSET_MASK,
  IPV4_MIN_HEADER_LENGTH,
  IPV4_PROTOCOL_OFFSET,
  IPV4_TOS_OFFSET,
  IPV4_TOTAL_LENGTH_OFFSET,
  IPV6_HEADER_LENGTH,
  IPV6_NEXT_HEADER_OFFSET,
  IPV6_PAYLOAD_LENGTH_OFFSET,
  IPV6_VERSION_CLASS_FLOW_OFFSET,
  IpProto,
  ipVersion,
  readU16,
  readU32,
  setIpv4HeaderChecksum,
  writeU16,
} from '../common/ip.js';
import type { PacketBuffer } from '../common/packet-buffer.js';
import { REPLAY_WINDOW_DEFAULT, ReplayWindow } from '../common/replay-window.js';
import {
  AH_FIXED_LENGTH,
  AH_NEXT_HEADER_OFFSET,
  AH_PAYLOAD_LENGTH_OFFSET,
  AH_SEQ_OFFSET,
  AH_SPI_OFFSET,
  AH_ALIGN_IPV6,
  ahLength,
  ahLengthFromPayloadLength,
} from './ah-header.js';
import { AhIcv } from './ah-icv.js';
import { checkAhConfig } from './ah-config.js';
import type { AhMode, AhOpenResult, AhSaConfig, AhSaCounters } from './ah-config.js';

const IPV6_EXT_LENGTH_OFFSET = 1;
const IPV6_EXT_LENGTH_UNIT = 8;
/** RFC 3168 5: the ECN field is the low two bits of TOS / Traffic Class. */
const ECN_MASK = 0x03;
const ECN_CE = 0x03;
const ECN_NOT_ECT = 0x00;
/** Traffic Class sits in bits 4..11 of the first 32-bit word of the IPv6 header. */
const IPV6_TC_SHIFT = 4;

export class AhInboundSa {
  readonly spi: number;
  readonly mode: AhMode;
  readonly esn: boolean;
  readonly counters: AhSaCounters = { packets: 0, bytes: 0, drops: newDropCounters() };
  readonly window: ReplayWindow;
  private readonly icv: AhIcv;
  /** Smallest AH this SA accepts: fixed part + IV + ICV, without padding. */
  private readonly minAhLen: number;
  /** Largest: padded to 8 bytes (RFC 4302 2.6 needs 4 for IPv4; 8-byte padding there is tolerated). */
  private readonly maxAhLen: number;

  /** Throws RangeError for an impossible configuration (never per packet). */
  constructor(config: AhSaConfig) {
    checkAhConfig(config, false);
    this.spi = config.spi;
    this.mode = config.mode;
    this.esn = config.esn;
    this.icv = new AhIcv(config.integrity, config.esn);
    this.window = new ReplayWindow({ size: config.replayWindow ?? REPLAY_WINDOW_DEFAULT, esn: config.esn });
    this.minAhLen = AH_FIXED_LENGTH + this.icv.ivLength + this.icv.icvLength;
    this.maxAhLen = ahLength(this.icv.ivLength, this.icv.icvLength, 6);
  }

  /** Verify and strip AH from the packet in `pkt` (see the file comment). Never throws. */
  open(pkt: PacketBuffer): AhOpenResult {
    try {
      const r = this.openPacket(pkt);
      if (r !== 'ok') return countDrop(this.counters.drops, r);
      return r;
    } catch {
      return countDrop(this.counters.drops, 'internal');
    }
  }

  private openPacket(pkt: PacketBuffer): AhOpenResult {
    const buf = pkt.buf;
    const off = pkt.off;
    if (off < 0 || pkt.len < 1 || off + pkt.len > buf.length) return 'short';
    const v = ipVersion(buf, off);
    let end: number;
    let ahOff: number;
    let nhField: number;
    if (v === 4) {
      if (pkt.len < IPV4_MIN_HEADER_LENGTH) return 'short';
      const hl = ((buf[off] ?? 0) & 0x0f) * 4;
      if (hl < IPV4_MIN_HEADER_LENGTH) return 'malformed';
      const total = readU16(buf, off + IPV4_TOTAL_LENGTH_OFFSET);
      if (total < hl) return 'malformed';
      if (total > pkt.len) return 'short';
      end = off + total;
      const ff = readU16(buf, off + IPV4_FLAGS_FRAGMENT_OFFSET);
      if ((ff & (IPV4_FLAG_MF | IPV4_FRAGMENT_OFFSET_MASK)) !== 0) return 'malformed';
      nhField = off + IPV4_PROTOCOL_OFFSET;
      if (buf[nhField] !== IpProto.AH) return 'malformed';
      ahOff = off + hl;
    } else if (v === 6) {
      if (pkt.len < IPV6_HEADER_LENGTH) return 'short';
      const payload = readU16(buf, off + IPV6_PAYLOAD_LENGTH_OFFSET);
      // Payload length 0 means a jumbogram (RFC 2675); AH packets here are never that large.
      if (payload === 0) return 'malformed';
      if (IPV6_HEADER_LENGTH + payload > pkt.len) return 'short';
      end = off + IPV6_HEADER_LENGTH + payload;
      nhField = off + IPV6_NEXT_HEADER_OFFSET;
      let nh = buf[nhField] ?? 0;
      let p = off + IPV6_HEADER_LENGTH;
      // RFC 4302 3.1.1: only hop-by-hop, routing and destination options headers precede AH.
      while (nh === IpProto.HOPOPT || nh === IpProto.IPV6_ROUTE || nh === IpProto.IPV6_OPTS) {
        if (p + 2 > end) return 'short';
        const len = ((buf[p + IPV6_EXT_LENGTH_OFFSET] ?? 0) + 1) * IPV6_EXT_LENGTH_UNIT;
        if (p + len > end) return 'short';
        nhField = p;
        nh = buf[p] ?? 0;
        p += len;
      }
      if (nh !== IpProto.AH) return 'malformed';
      ahOff = p;
    } else {
      return 'malformed';
    }

    if (ahOff + AH_FIXED_LENGTH > end) return 'short';
    const ahLen = ahLengthFromPayloadLength(buf[ahOff + AH_PAYLOAD_LENGTH_OFFSET] ?? 0);
    if (ahLen < this.minAhLen || ahLen > this.maxAhLen) return 'malformed';
    if (v === 6 && ahLen % AH_ALIGN_IPV6 !== 0) return 'malformed';
    if (ahOff + ahLen > end) return 'short';
    if (readU32(buf, ahOff + AH_SPI_OFFSET) !== this.spi) return 'noSa';
    const nextHeader = buf[ahOff + AH_NEXT_HEADER_OFFSET] ?? 0;
    const payloadOff = ahOff + ahLen;
    if (this.mode === 'tunnel') {
      // Checked before the ICV so a wrong inner protocol costs no crypto; the bytes are covered by the ICV.
      if (payloadOff >= end) return 'malformed';
      const innerVersion = ipVersion(buf, payloadOff);
      const want = nextHeader === IpProto.IPV4 ? 4 : nextHeader === IpProto.IPV6 ? 6 : -1;
      if (want < 0 || innerVersion !== want) return 'malformed';
    }

    const seq = this.window.check(readU32(buf, ahOff + AH_SEQ_OFFSET));
    if (typeof seq !== 'number') return 'replay';
    const verdict = this.icv.verify(buf, v, off, ahOff, ahLen, end, seq);
    if (verdict !== 'ok') return verdict;
    if (!this.window.commit(seq)) return 'replay';

    if (this.mode === 'tunnel') {
      propagateCe(buf, v, off, payloadOff, end);
      this.counters.packets++;
      this.counters.bytes += end - payloadOff;
      pkt.off = payloadOff;
      pkt.len = end - payloadOff;
      return 'ok';
    }
    const hdrLen = ahOff - off;
    const start = off + ahLen;
    buf.copyWithin(start, off, ahOff);
    buf[nhField + ahLen] = nextHeader;
    const total = end - start;
    if (v === 4) {
      writeU16(buf, start + IPV4_TOTAL_LENGTH_OFFSET, total);
      setIpv4HeaderChecksum(buf, start, hdrLen);
    } else {
      writeU16(buf, start + IPV6_PAYLOAD_LENGTH_OFFSET, total - IPV6_HEADER_LENGTH);
    }
    this.counters.packets++;
    this.counters.bytes += end - payloadOff;
    pkt.off = start;
    pkt.len = total;
    return 'ok';
  }
}

/** ECN field of the IP header at `off`. */
function ecnOf(buf: Uint8Array, version: number, off: number): number {
  if (version === 4) return (buf[off + IPV4_TOS_OFFSET] ?? 0) & ECN_MASK;
  return (readU16(buf, off + IPV6_VERSION_CLASS_FLOW_OFFSET) >> IPV6_TC_SHIFT) & ECN_MASK;
}

/**
 * RFC 6040 4.2 (decapsulation): an outer CE mark is carried to an inner header that is ECN-capable. (An
 * outer CE over a Not-ECT inner packet should be dropped by the RFC; the data plane leaves that policy to
 * its caller and forwards the inner packet unchanged.)
 */
function propagateCe(buf: Uint8Array, outerVersion: number, outerOff: number, innerOff: number, end: number): void {
  if (ecnOf(buf, outerVersion, outerOff) !== ECN_CE) return;
  const innerVersion = ipVersion(buf, innerOff);
  if (innerVersion === 4) {
    if (innerOff + IPV4_MIN_HEADER_LENGTH > end) return;
    const tos = buf[innerOff + IPV4_TOS_OFFSET] ?? 0;
    if ((tos & ECN_MASK) === ECN_NOT_ECT || (tos & ECN_MASK) === ECN_CE) return;
    const hl = ((buf[innerOff] ?? 0) & 0x0f) * 4;
    if (hl < IPV4_MIN_HEADER_LENGTH || innerOff + hl > end) return;
    buf[innerOff + IPV4_TOS_OFFSET] = tos | ECN_CE;
    setIpv4HeaderChecksum(buf, innerOff, hl);
  } else if (innerVersion === 6) {
    if (innerOff + IPV6_HEADER_LENGTH > end) return;
    const ecn = ecnOf(buf, 6, innerOff);
    if (ecn === ECN_NOT_ECT || ecn === ECN_CE) return;
    // ECN bits are bits 4..5 of byte 1 (the low bits of Traffic Class).
    buf[innerOff + 1] = (buf[innerOff + 1] ?? 0) | (ECN_CE << IPV6_TC_SHIFT);
  }
}
