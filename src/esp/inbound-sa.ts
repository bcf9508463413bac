/**
 * Inbound ESP processing (RFC 4303 3.4), in place and in the order the RFC gives: bounds, SPI, sequence
 * number against the replay window (3.4.3), ICV (3.4.4), decryption (3.4.2), window commit, then padding
 * (2.4), next header and the mode-specific reconstruction. Every failure returns a drop reason and bumps its
 * counter; nothing throws out of `open`.
 */

import { countDrop } from '../common/drop.js';
import type { DropReason } from '../common/drop.js';
import {
  IPV4_FLAGS_FRAGMENT_OFFSET,
  IPV4_FLAG_MF,
  IPV4_FRAGMENT_OFFSET_MASK,
  IPV4_PROTOCOL_OFFSET,
  IPV4_TOTAL_LENGTH_OFFSET,
  IPV6_HEADER_LENGTH,
  IPV6_PAYLOAD_LENGTH_OFFSET,
  IpProto,
  ipv4HeaderLength,
  ipVersion,
  newIpInfo,
  newIpv6Walk,
  parseIpHeader,
  readU16,
  readU32,
  setIpv4HeaderChecksum,
  walkIpv6Headers,
  writeU16,
  writeU32,
} from '../common/ip.js';
import type { PacketBuffer } from '../common/packet-buffer.js';
import { REPLAY_WINDOW_DEFAULT, ReplayWindow } from '../common/replay-window.js';
import {
  ESP_IV_OFFSET,
  ESP_NEXT_HEADER_DUMMY,
  ESP_SEQ_OFFSET,
  ESP_SPI_OFFSET,
  ESP_TRAILER_LENGTH,
  UDP_HEADER_LENGTH,
  writeEspAad,
} from './constants.js';
import type { EspSaParams } from './sa-params.js';
import { EspSaBase, sharedScratch } from './sa-setup.js';

/** Result of `open`: 'ok' or the drop reason (already counted in `counters.drops`). */
export type OpenResult = 'ok' | DropReason;

export class EspInboundSa extends EspSaBase {
  readonly replay: ReplayWindow;
  /** Sequence number of the last packet that verified: high (ESN) and low 32 bits. */
  lastSeqHigh = 0;
  lastSeqLow = 0;
  /** Next header of the last packet opened (4/41 in tunnel mode, the upper-layer protocol in transport). */
  lastNextHeader = 0;
  private readonly encapsulated: boolean;
  private readonly iv: Buffer;
  private readonly walk = newIpv6Walk();
  private readonly info = newIpInfo();

  /** Throws RangeError for an invalid combination of parameters (never per packet). */
  constructor(p: EspSaParams) {
    super(p);
    this.encapsulated = p.encapsulation !== undefined;
    this.replay = new ReplayWindow({
      size: p.replayWindow ?? REPLAY_WINDOW_DEFAULT,
      esn: p.esn,
      initialHighest: BigInt(p.initialSeq ?? 0),
    });
    this.iv = sharedScratch('iv', Math.max(this.layout.ivLength, 1));
  }

  /**
   * Open the ESP packet whose header starts at `espOff` inside pkt[off, off + len).
   * - `espOff === pkt.off`: the buffer holds only the ESP packet (SPI .. ICV), e.g. from a raw socket
   *   without the IP header or a UDP socket under ESP-in-UDP.
   * - `espOff > pkt.off`: the received IP datagram starts at pkt.off (IP header chain, then the ESP header,
   *   or a UDP header and then the ESP header under ESP-in-UDP).
   *
   * On 'ok' pkt.off/len describe:
   * - tunnel mode: the inner IPv4/IPv6 packet (TFC padding removed);
   * - transport mode with the IP header present: the original IP packet rebuilt (header chain moved next to
   *   the payload, protocol/next header restored, lengths and IPv4 checksum fixed);
   * - transport mode from a bare ESP packet: the upper-layer payload; `lastNextHeader` names its protocol.
   */
  open(pkt: PacketBuffer, espOff: number = pkt.off): OpenResult {
    try {
      return this.openPacket(pkt, espOff);
    } catch {
      return countDrop(this.counters.drops, 'internal');
    }
  }

  private openPacket(pkt: PacketBuffer, espOff: number): OpenResult {
    const drops = this.counters.drops;
    const buf = pkt.buf;
    const L = this.layout;
    const end = pkt.off + pkt.len;
    if (pkt.off < 0 || end > buf.length || espOff < pkt.off || pkt.len < 0) return countDrop(drops, 'malformed');
    const payloadOff = espOff + L.payloadOffset;
    const icvOff = end - L.icvLength;
    const cipherLen = icvOff - payloadOff;
    if (cipherLen < ESP_TRAILER_LENGTH) return countDrop(drops, 'short');
    if (readU32(buf, espOff + ESP_SPI_OFFSET) !== this.spi) return countDrop(drops, 'noSa');
    if (cipherLen % L.cipherBlock !== 0) return countDrop(drops, 'malformed');

    // RFC 4303 3.4.3: sequence number check before anything expensive.
    const seqLow = readU32(buf, espOff + ESP_SEQ_OFFSET);
    if (!this.replay.checkParts(seqLow)) return countDrop(drops, 'replay');
    const seqHigh = this.replay.checkedHigh;

    const ivLen = L.ivLength;
    if (ivLen > 0) buf.copy(this.iv, 0, espOff + ESP_IV_OFFSET, espOff + ESP_IV_OFFSET + ivLen);
    if (this.aead !== null) {
      const aad = this.aad;
      writeEspAad(aad, this.spi, seqHigh, seqLow, this.esn);
      if (!this.aead.open(this.iv, aad, buf, payloadOff, cipherLen, buf, icvOff)) return countDrop(drops, 'icv');
    } else if (this.cipher !== null) {
      // RFC 4303 3.4.4: verify the ICV first, then decrypt.
      if (this.integrity !== null) {
        this.chunks[0] = buf.subarray(espOff, icvOff);
        if (this.esn) writeU32(this.seqHi, 0, seqHigh);
        if (!this.integrity.verify(this.chunks, buf, icvOff)) return countDrop(drops, 'icv');
      }
      this.cipher.decrypt(this.iv, buf, payloadOff, cipherLen);
    }
    // Authenticated: only now may the window move (RFC 4303 3.4.3).
    if (!this.replay.commitParts(seqHigh, seqLow)) return countDrop(drops, 'replay');
    this.lastSeqHigh = seqHigh;
    this.lastSeqLow = seqLow;

    // RFC 4303 2.4-2.6: trailer and self-describing padding 1, 2, 3, ...
    const trailerOff = icvOff - ESP_TRAILER_LENGTH;
    const padLen = buf[trailerOff] ?? 0;
    const nextHeader = buf[trailerOff + 1] ?? 0;
    const dataLen = cipherLen - ESP_TRAILER_LENGTH - padLen;
    if (dataLen < 0) return countDrop(drops, 'padding');
    const padOff = payloadOff + dataLen;
    for (let i = 0; i < padLen; i++) if (buf[padOff + i] !== i + 1) return countDrop(drops, 'padding');
    this.lastNextHeader = nextHeader;
    if (nextHeader === ESP_NEXT_HEADER_DUMMY) return countDrop(drops, 'dummy');

    if (this.mode === 'tunnel') {
      // The inner header gives the real length; anything after it is TFC padding (RFC 4303 2.7).
      const v = ipVersion(buf, payloadOff);
      if ((nextHeader === IpProto.IPV4 && v !== 4) || (nextHeader === IpProto.IPV6 && v !== 6)) {
        return countDrop(drops, 'malformed');
      }
      if (nextHeader !== IpProto.IPV4 && nextHeader !== IpProto.IPV6) return countDrop(drops, 'malformed');
      if (!parseIpHeader(buf, payloadOff, payloadOff + dataLen, this.info)) return countDrop(drops, 'malformed');
      pkt.off = payloadOff;
      pkt.len = this.info.totalLength;
    } else if (espOff === pkt.off) {
      pkt.off = payloadOff;
      pkt.len = dataLen;
    } else {
      const r = this.rebuildTransport(pkt, espOff, payloadOff, dataLen, nextHeader);
      if (r !== 'ok') return countDrop(drops, r);
    }
    this.counters.packets++;
    this.counters.bytes += pkt.len;
    return 'ok';
  }

  /** Transport mode (RFC 4303 3.1.1): move the outer header chain next to the payload and restore it. */
  private rebuildTransport(
    pkt: PacketBuffer,
    espOff: number,
    payloadOff: number,
    dataLen: number,
    nextHeader: number,
  ): 'ok' | 'malformed' {
    const buf = pkt.buf;
    const ipOff = pkt.off;
    const expected = this.encapsulated ? IpProto.UDP : IpProto.ESP;
    const headerEnd = this.encapsulated ? espOff - UDP_HEADER_LENGTH : espOff;
    const v = ipVersion(buf, ipOff);
    let hl: number;
    let nhField: number;
    if (v === 4) {
      hl = ipv4HeaderLength(buf, ipOff, espOff);
      if (hl < 0 || ipOff + hl !== headerEnd || buf[ipOff + IPV4_PROTOCOL_OFFSET] !== expected) return 'malformed';
      if ((readU16(buf, ipOff + IPV4_FLAGS_FRAGMENT_OFFSET) & (IPV4_FLAG_MF | IPV4_FRAGMENT_OFFSET_MASK)) !== 0) {
        return 'malformed';
      }
      nhField = ipOff + IPV4_PROTOCOL_OFFSET;
    } else if (v === 6) {
      const w = this.walk;
      if (!walkIpv6Headers(buf, ipOff, headerEnd, w)) return 'malformed';
      if (w.upperOffset !== headerEnd || w.upperProtocol !== expected || w.fragment) return 'malformed';
      hl = headerEnd - ipOff;
      nhField = w.upperNextHeaderFieldOffset;
    } else {
      return 'malformed';
    }
    const newOff = payloadOff - hl;
    buf.copyWithin(newOff, ipOff, ipOff + hl);
    buf[nhField + (newOff - ipOff)] = nextHeader;
    if (v === 4) {
      writeU16(buf, newOff + IPV4_TOTAL_LENGTH_OFFSET, hl + dataLen);
      setIpv4HeaderChecksum(buf, newOff, hl);
    } else {
      writeU16(buf, newOff + IPV6_PAYLOAD_LENGTH_OFFSET, hl + dataLen - IPV6_HEADER_LENGTH);
    }
    pkt.off = newOff;
    pkt.len = hl + dataLen;
    return 'ok';
  }
}
