/**
 * TUN offloads without the device: the virtio-net header a TUN opened with IFF_VNET_HDR puts in front of every
 * packet, segmentation of the kernel's GSO super-packets (TCP over IPv4/IPv6, UDP with USO) into MTU-sized
 * packets before ESP, checksum completion for CHECKSUM_PARTIAL packets, and the reverse on the way in:
 * coalescing (GRO) consecutive TCP segments of one flow into one super-packet that the kernel segments or
 * delivers whole. Pure functions over buffers; `linux/tun.ts` does the reads and writes.
 *
 * Layouts: struct virtio_net_hdr (linux/virtio_net.h), 10 bytes, little-endian on every Linux host here.
 */
import {
  IPV4_DST_OFFSET,
  IPV4_ID_OFFSET,
  IPV4_SRC_OFFSET,
  IPV4_TOTAL_LENGTH_OFFSET,
  IPV6_DST_OFFSET,
  IPV6_HEADER_LENGTH,
  IPV6_PAYLOAD_LENGTH_OFFSET,
  IPV6_SRC_OFFSET,
  IpProto,
  onesComplementSum,
  readU16,
  readU32,
  setIpv4HeaderChecksum,
  transportChecksum,
  writeU16,
  writeU32,
} from '../common/ip.js';

export const VIRTIO_NET_HDR_LENGTH = 10;
const VNET_FLAGS_OFFSET = 0;
const VNET_GSO_TYPE_OFFSET = 1;
const VNET_HDR_LEN_OFFSET = 2;
const VNET_GSO_SIZE_OFFSET = 4;
const VNET_CSUM_START_OFFSET = 6;
const VNET_CSUM_OFFSET_OFFSET = 8;

/** virtio_net_hdr.flags */
export const VNET_F_NEEDS_CSUM = 1;
/** virtio_net_hdr.gso_type (the ECN bit aside). */
export const GsoType = { NONE: 0, TCPV4: 1, UDP: 3, TCPV6: 4, UDP_L4: 5 } as const;
const GSO_ECN = 0x80;

const TCP_SEQ_OFFSET = 4;
const TCP_ACK_OFFSET = 8;
const TCP_DATA_OFFSET_OFFSET = 12;
const TCP_FLAGS_OFFSET = 13;
const TCP_CHECKSUM_OFFSET = 16;
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_PSH = 0x08;
const TCP_URG = 0x20;
const TCP_CWR = 0x80;
const UDP_LENGTH_OFFSET = 4;
const UDP_CHECKSUM_OFFSET = 6;
const UDP_HEADER_LENGTH = 8;
/** The largest IP packet a super-packet may become. */
export const MAX_SUPER_PACKET = 65535;

export interface VnetHeader {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

export function newVnetHeader(): VnetHeader {
  return { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
}

export function decodeVnetHeader(buf: Uint8Array, off: number, out: VnetHeader): void {
  out.flags = buf[off + VNET_FLAGS_OFFSET] ?? 0;
  out.gsoType = (buf[off + VNET_GSO_TYPE_OFFSET] ?? 0) & ~GSO_ECN;
  out.hdrLen = readU16le(buf, off + VNET_HDR_LEN_OFFSET);
  out.gsoSize = readU16le(buf, off + VNET_GSO_SIZE_OFFSET);
  out.csumStart = readU16le(buf, off + VNET_CSUM_START_OFFSET);
  out.csumOffset = readU16le(buf, off + VNET_CSUM_OFFSET_OFFSET);
}

export function encodeVnetHeader(buf: Uint8Array, off: number, h: VnetHeader): void {
  buf[off + VNET_FLAGS_OFFSET] = h.flags;
  buf[off + VNET_GSO_TYPE_OFFSET] = h.gsoType;
  writeU16le(buf, off + VNET_HDR_LEN_OFFSET, h.hdrLen);
  writeU16le(buf, off + VNET_GSO_SIZE_OFFSET, h.gsoSize);
  writeU16le(buf, off + VNET_CSUM_START_OFFSET, h.csumStart);
  writeU16le(buf, off + VNET_CSUM_OFFSET_OFFSET, h.csumOffset);
}

function readU16le(buf: Uint8Array, off: number): number {
  return (buf[off] ?? 0) | ((buf[off + 1] ?? 0) << 8);
}

function writeU16le(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
}

/**
 * Complete a CHECKSUM_PARTIAL packet (VNET_F_NEEDS_CSUM): the field at csumStart + csumOffset holds the
 * pseudo-header sum; the checksum over [csumStart, end) goes there. False when the offsets do not fit.
 */
export function completeChecksum(buf: Uint8Array, off: number, len: number, h: VnetHeader): boolean {
  const field = h.csumStart + h.csumOffset;
  if (h.csumStart >= len || field + 2 > len) return false;
  const c = ~onesComplementSum(buf, off + h.csumStart, len - h.csumStart) & 0xffff;
  writeU16(buf, off + field, c === 0 && h.csumOffset === UDP_CHECKSUM_OFFSET ? 0xffff : c);
  return true;
}

/** Where a packet's addresses and transport header are: IPv4 (any header length) or IPv6 without extensions. */
interface L3 {
  v6: boolean;
  srcOff: number;
  dstOff: number;
  addrLen: number;
  l4Off: number;
}

function l3Of(buf: Uint8Array, off: number, len: number, protocol: number, out: L3): boolean {
  if (len < 1) return false;
  const version = (buf[off] ?? 0) >> 4;
  if (version === 4) {
    const ihl = ((buf[off] ?? 0) & 0x0f) * 4;
    if (ihl < 20 || len < ihl || buf[off + 9] !== protocol) return false;
    out.v6 = false;
    out.srcOff = IPV4_SRC_OFFSET;
    out.dstOff = IPV4_DST_OFFSET;
    out.addrLen = 4;
    out.l4Off = ihl;
    return true;
  }
  if (version === 6) {
    if (len < IPV6_HEADER_LENGTH || buf[off + 6] !== protocol) return false;
    out.v6 = true;
    out.srcOff = IPV6_SRC_OFFSET;
    out.dstOff = IPV6_DST_OFFSET;
    out.addrLen = 16;
    out.l4Off = IPV6_HEADER_LENGTH;
    return true;
  }
  return false;
}

function setIpLength(buf: Uint8Array, off: number, l3: L3, total: number): void {
  if (l3.v6) writeU16(buf, off + IPV6_PAYLOAD_LENGTH_OFFSET, total - IPV6_HEADER_LENGTH);
  else {
    writeU16(buf, off + IPV4_TOTAL_LENGTH_OFFSET, total);
    setIpv4HeaderChecksum(buf, off, l3.l4Off);
  }
}

/** Receives each segment of a split super-packet: a buffer and the offset and length of one packet. */
export interface SegmentSink {
  /** A buffer of at least `room` bytes from `offset` to write the next segment into. */
  next(room: number): { buf: Uint8Array; off: number } | undefined;
  /** The segment written at the place `next` gave is `len` bytes long. */
  done(len: number): void;
}

export type SplitResult = 'ok' | 'badGso' | 'sinkFull';

/**
 * Split a GSO super-packet (TCPV4, TCPV6 or UDP_L4) at src[off, off + len) into segments of `gsoSize` payload
 * bytes, each a whole packet with its own IP length (and IPv4 ID and checksum), TCP sequence number and flags
 * (FIN and PSH on the last segment only, CWR on the first), and a full transport checksum.
 */
export function splitGso(src: Uint8Array, off: number, len: number, h: VnetHeader, sink: SegmentSink): SplitResult {
  const tcp = h.gsoType === GsoType.TCPV4 || h.gsoType === GsoType.TCPV6;
  if (!tcp && h.gsoType !== GsoType.UDP_L4) return 'badGso';
  const protocol = tcp ? IpProto.TCP : IpProto.UDP;
  const l3: L3 = { v6: false, srcOff: 0, dstOff: 0, addrLen: 0, l4Off: 0 };
  if (!l3Of(src, off, len, protocol, l3)) return 'badGso';
  if (h.csumStart !== 0 && h.csumStart !== l3.l4Off) l3.l4Off = h.csumStart;
  const l4Len = tcp ? ((src[off + l3.l4Off + TCP_DATA_OFFSET_OFFSET] ?? 0) >> 4) * 4 : UDP_HEADER_LENGTH;
  const hdrLen = l3.l4Off + l4Len;
  if ((tcp && l4Len < 20) || hdrLen > len || h.gsoSize === 0) return 'badGso';
  const payload = len - hdrLen;
  const seq0 = tcp ? readU32(src, off + l3.l4Off + TCP_SEQ_OFFSET) : 0;
  const id0 = l3.v6 ? 0 : readU16(src, off + IPV4_ID_OFFSET);
  const flags0 = tcp ? (src[off + l3.l4Off + TCP_FLAGS_OFFSET] ?? 0) : 0;
  for (let i = 0, at = 0; at < payload || (payload === 0 && i === 0); i++, at += h.gsoSize) {
    const segLen = Math.min(h.gsoSize, payload - at);
    const total = hdrLen + segLen;
    const slot = sink.next(total);
    if (slot === undefined) return 'sinkFull';
    const { buf, off: o } = slot;
    buf.set(src.subarray(off, off + hdrLen), o);
    buf.set(src.subarray(off + hdrLen + at, off + hdrLen + at + segLen), o + hdrLen);
    if (!l3.v6) writeU16(buf, o + IPV4_ID_OFFSET, (id0 + i) & 0xffff);
    setIpLength(buf, o, l3, total);
    const l4 = o + l3.l4Off;
    if (tcp) {
      writeU32(buf, l4 + TCP_SEQ_OFFSET, (seq0 + at) >>> 0);
      const last = at + segLen >= payload;
      let f = flags0;
      if (!last) f &= ~(TCP_FIN | TCP_PSH);
      if (i > 0) f &= ~TCP_CWR;
      buf[l4 + TCP_FLAGS_OFFSET] = f;
      writeU16(buf, l4 + TCP_CHECKSUM_OFFSET, 0);
      writeU16(
        buf,
        l4 + TCP_CHECKSUM_OFFSET,
        transportChecksum(buf, o + l3.srcOff, o + l3.dstOff, l3.addrLen, protocol, l4, total - l3.l4Off),
      );
    } else {
      writeU16(buf, l4 + UDP_LENGTH_OFFSET, total - l3.l4Off);
      writeU16(buf, l4 + UDP_CHECKSUM_OFFSET, 0);
      writeU16(
        buf,
        l4 + UDP_CHECKSUM_OFFSET,
        transportChecksum(buf, o + l3.srcOff, o + l3.dstOff, l3.addrLen, protocol, l4, total - l3.l4Off),
      );
    }
    sink.done(total);
    if (payload === 0) break;
  }
  return 'ok';
}

/** One TCP flow's run of segments being coalesced into a super-packet. */
interface Run {
  /** Index in the write batch of the first segment (its headers lead the super-packet). */
  first: number;
  /** Indexes of the segments in order. */
  members: number[];
  gsoSize: number;
  nextSeq: number;
  bytes: number;
  closed: boolean;
}

/** The write-side plan: each entry is one write, a lone packet (`members.length === 1`) or a super-packet. */
export interface CoalescePlan {
  readonly runs: readonly { readonly members: readonly number[]; readonly gsoSize: number }[];
}

const L3_SCRATCH: L3 = { v6: false, srcOff: 0, dstOff: 0, addrLen: 0, l4Off: 0 };

/** True when the TCP segment at buf[off, off + len) has a valid checksum (it is about to lose it). */
function tcpChecksumValid(buf: Uint8Array, off: number, len: number, l3: L3): boolean {
  let sum = onesComplementSum(buf, off + l3.srcOff, l3.addrLen);
  sum = onesComplementSum(buf, off + l3.dstOff, l3.addrLen, sum);
  const l4Len = len - l3.l4Off;
  sum += IpProto.TCP + (l4Len >>> 16) + (l4Len & 0xffff);
  return onesComplementSum(buf, off + l3.l4Off, l4Len, sum) === 0xffff;
}

/** Whether two segments' headers agree everywhere a super-packet needs them to (lengths, IDs, seq, flags, checksums aside). */
function sameHeaders(a: Uint8Array, ao: number, b: Uint8Array, bo: number, l3: L3, tcpLen: number): boolean {
  if (!l3.v6) {
    // TOS, flags and fragment offset, TTL, protocol, addresses and options; ID, length and checksum differ.
    if (a[ao + 1] !== b[bo + 1] || readU16(a, ao + 6) !== readU16(b, bo + 6)) return false;
    if (a[ao + 8] !== b[bo + 8] || a[ao + 9] !== b[bo + 9]) return false;
    for (let i = IPV4_SRC_OFFSET; i < l3.l4Off; i++) if (a[ao + i] !== b[bo + i]) return false;
  } else {
    // Version, traffic class, flow label, next header, hop limit, addresses; the payload length differs.
    for (let i = 0; i < 4; i++) if (a[ao + i] !== b[bo + i]) return false;
    for (let i = 6; i < IPV6_HEADER_LENGTH; i++) if (a[ao + i] !== b[bo + i]) return false;
  }
  const al = ao + l3.l4Off;
  const bl = bo + l3.l4Off;
  for (let i = 0; i < 4; i++) if (a[al + i] !== b[bl + i]) return false; // ports
  for (let i = TCP_ACK_OFFSET; i < TCP_FLAGS_OFFSET; i++) if (a[al + i] !== b[bl + i]) return false;
  for (let i = TCP_FLAGS_OFFSET + 1; i < TCP_CHECKSUM_OFFSET; i++) if (a[al + i] !== b[bl + i]) return false; // window
  for (let i = 20; i < tcpLen; i++) if (a[al + i] !== b[bl + i]) return false; // options
  return true;
}

/**
 * Plan GRO over packets `bufs[i][offs[i], offs[i] + lens[i])`, i < count: consecutive in-order TCP segments of
 * one flow with equal headers and equal payload sizes (the last may be shorter) join one run, up to
 * MAX_SUPER_PACKET; SYN, RST, URG, FIN, PSH close a run (PSH and FIN end it, included); anything else is a
 * lone packet. At most `maxRuns` flows are tracked at once.
 */
export function planCoalesce(
  bufs: readonly (Uint8Array | undefined)[],
  offs: Int32Array,
  lens: Int32Array,
  count: number,
  maxRuns = 8,
): CoalescePlan {
  const runs: Run[] = [];
  const open: Run[] = [];
  for (let i = 0; i < count; i++) {
    const buf = bufs[i];
    const off = offs[i] ?? 0;
    const len = lens[i] ?? 0;
    const lone = (): void => {
      runs.push({ first: i, members: [i], gsoSize: 0, nextSeq: 0, bytes: len, closed: true });
    };
    if (buf === undefined || !l3Of(buf, off, len, IpProto.TCP, L3_SCRATCH)) {
      lone();
      continue;
    }
    const l3 = L3_SCRATCH;
    if (!l3.v6 && (readU16(buf, off + 6) & 0x3fff) !== 0) {
      lone(); // a fragment
      continue;
    }
    const l4 = off + l3.l4Off;
    const tcpLen = ((buf[l4 + TCP_DATA_OFFSET_OFFSET] ?? 0) >> 4) * 4;
    const hdrLen = l3.l4Off + tcpLen;
    const payload = len - hdrLen;
    const flags = buf[l4 + TCP_FLAGS_OFFSET] ?? 0;
    if (tcpLen < 20 || payload <= 0 || (flags & (TCP_SYN | TCP_RST | TCP_URG)) !== 0) {
      lone();
      continue;
    }
    const seq = readU32(buf, l4 + TCP_SEQ_OFFSET);
    let joined = false;
    for (let k = 0; k < open.length; k++) {
      const r = open[k]!;
      const fb = bufs[r.first]!;
      const fo = offs[r.first] ?? 0;
      if (r.closed || r.nextSeq !== seq || payload > r.gsoSize || r.bytes + payload > MAX_SUPER_PACKET) continue;
      if ((fb[fo] ?? 0) >> 4 !== (buf[off] ?? 0) >> 4) continue;
      if (((fb[fo + l3.l4Off + TCP_DATA_OFFSET_OFFSET] ?? 0) >> 4) * 4 !== tcpLen) continue;
      if (!sameHeaders(fb, fo, buf, off, l3, tcpLen)) continue;
      if (!tcpChecksumValid(buf, off, len, l3)) break;
      if (r.members.length === 1 && !tcpChecksumValid(fb, fo, lens[r.first] ?? 0, l3)) break;
      r.members.push(i);
      r.nextSeq = (seq + payload) >>> 0;
      r.bytes += payload;
      if (payload < r.gsoSize || (flags & (TCP_PSH | TCP_FIN)) !== 0) r.closed = true;
      joined = true;
      break;
    }
    if (joined) continue;
    const r: Run = {
      first: i,
      members: [i],
      gsoSize: payload,
      nextSeq: (seq + payload) >>> 0,
      bytes: len,
      closed: (flags & (TCP_PSH | TCP_FIN)) !== 0,
    };
    runs.push(r);
    open.push(r);
    if (open.length > maxRuns) open.shift();
  }
  return { runs: runs.map((r) => ({ members: r.members, gsoSize: r.members.length > 1 ? r.gsoSize : 0 })) };
}

/**
 * Build the super-packet of a run into `out` at `outOff` with its virtio-net header in front (at outOff):
 * the first segment's headers with the total length, the payloads in order, the last segment's PSH/FIN, and
 * the pseudo-header sum in the TCP checksum field (CHECKSUM_PARTIAL). Returns the bytes written, header
 * included.
 */
export function buildSuperPacket(
  bufs: readonly (Uint8Array | undefined)[],
  offs: Int32Array,
  lens: Int32Array,
  members: readonly number[],
  gsoSize: number,
  out: Uint8Array,
  outOff: number,
): number {
  const first = members[0] ?? 0;
  const fb = bufs[first]!;
  const fo = offs[first] ?? 0;
  const l3: L3 = { v6: false, srcOff: 0, dstOff: 0, addrLen: 0, l4Off: 0 };
  l3Of(fb, fo, lens[first] ?? 0, IpProto.TCP, l3);
  const tcpLen = ((fb[fo + l3.l4Off + TCP_DATA_OFFSET_OFFSET] ?? 0) >> 4) * 4;
  const hdrLen = l3.l4Off + tcpLen;
  const p = outOff + VIRTIO_NET_HDR_LENGTH;
  out.set(fb.subarray(fo, fo + hdrLen), p);
  let at = p + hdrLen;
  let lastFlags = 0;
  for (const m of members) {
    const b = bufs[m]!;
    const o = offs[m] ?? 0;
    out.set(b.subarray(o + hdrLen, o + (lens[m] ?? 0)), at);
    at += (lens[m] ?? 0) - hdrLen;
    lastFlags = b[o + l3.l4Off + TCP_FLAGS_OFFSET] ?? 0;
  }
  const total = at - p;
  setIpLength(out, p, l3, total);
  const l4 = p + l3.l4Off;
  out[l4 + TCP_FLAGS_OFFSET] = (out[l4 + TCP_FLAGS_OFFSET] ?? 0) | (lastFlags & (TCP_PSH | TCP_FIN));
  const l4Len = total - l3.l4Off;
  let sum = onesComplementSum(out, p + l3.srcOff, l3.addrLen);
  sum = onesComplementSum(out, p + l3.dstOff, l3.addrLen, sum);
  sum += IpProto.TCP + (l4Len >>> 16) + (l4Len & 0xffff);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  writeU16(out, l4 + TCP_CHECKSUM_OFFSET, sum);
  encodeVnetHeader(out, outOff, {
    flags: VNET_F_NEEDS_CSUM,
    gsoType: l3.v6 ? GsoType.TCPV6 : GsoType.TCPV4,
    hdrLen,
    gsoSize,
    csumStart: l3.l4Off,
    csumOffset: TCP_CHECKSUM_OFFSET,
  });
  return VIRTIO_NET_HDR_LENGTH + total;
}
