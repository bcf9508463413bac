/**
 * A tiny reader for classic libpcap files (not pcapng) for tests: both byte orders, microsecond and
 * nanosecond magic, link types Ethernet (1), raw IP (101, 12, 14) and Linux cooked capture (113, SLL2 276).
 * `ipOffset` is where the IP header starts inside `data` (after the link-layer header and any VLAN tags),
 * or -1 when the frame does not carry IPv4/IPv6.
 */

import { readFileSync } from 'node:fs';

export const LinkType = {
  ETHERNET: 1,
  RAW_OPENBSD: 12,
  RAW_ALT: 14,
  RAW: 101,
  LINUX_SLL: 113,
  LINUX_SLL2: 276,
} as const;

export interface PcapPacket {
  /** Index in the file, from 0. */
  index: number;
  tsSec: number;
  /** Fraction of the second in microseconds (nanosecond files are converted). */
  tsUsec: number;
  /** Original length on the wire. */
  origLength: number;
  /** Captured bytes (may be shorter than origLength). */
  data: Buffer;
  /** Offset of the IP header in `data`, or -1. */
  ipOffset: number;
}

export interface PcapFile {
  linkType: number;
  snapLength: number;
  packets: PcapPacket[];
}

const PCAP_GLOBAL_HEADER_LENGTH = 24;
const PCAP_RECORD_HEADER_LENGTH = 16;
const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERNET_HEADER_LENGTH = 14;
const SLL_HEADER_LENGTH = 16;
const SLL2_HEADER_LENGTH = 20;

/** Offset of the IP header in a frame of the given link type, or -1. */
export function ipOffsetOf(linkType: number, d: Buffer): number {
  switch (linkType) {
    case LinkType.ETHERNET: {
      let off = 12;
      if (d.length < ETHERNET_HEADER_LENGTH) return -1;
      let type = d.readUInt16BE(off);
      while ((type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ) && off + 6 <= d.length) {
        off += 4;
        type = d.readUInt16BE(off);
      }
      return type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6 ? off + 2 : -1;
    }
    case LinkType.RAW:
    case LinkType.RAW_OPENBSD:
    case LinkType.RAW_ALT: {
      const v = (d[0] ?? 0) >> 4;
      return v === 4 || v === 6 ? 0 : -1;
    }
    case LinkType.LINUX_SLL: {
      if (d.length < SLL_HEADER_LENGTH) return -1;
      const type = d.readUInt16BE(14);
      return type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6 ? SLL_HEADER_LENGTH : -1;
    }
    case LinkType.LINUX_SLL2: {
      if (d.length < SLL2_HEADER_LENGTH) return -1;
      const type = d.readUInt16BE(0);
      return type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6 ? SLL2_HEADER_LENGTH : -1;
    }
    default:
      return -1;
  }
}

/** Parse a classic pcap file held in memory. Throws Error on a truncated or unknown file. */
export function parsePcap(buf: Buffer): PcapFile {
  if (buf.length < PCAP_GLOBAL_HEADER_LENGTH) throw new Error('pcap: file shorter than its global header');
  let le: boolean;
  let nano: boolean;
  const magicBe = buf.readUInt32BE(0);
  const magicLe = buf.readUInt32LE(0);
  if (magicBe === MAGIC_USEC || magicBe === MAGIC_NSEC) {
    le = false;
    nano = magicBe === MAGIC_NSEC;
  } else if (magicLe === MAGIC_USEC || magicLe === MAGIC_NSEC) {
    le = true;
    nano = magicLe === MAGIC_NSEC;
  } else {
    throw new Error('pcap: unknown magic (pcapng is not supported)');
  }
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const snapLength = u32(16);
  const linkType = u32(20) & 0x0fffffff;
  const packets: PcapPacket[] = [];
  let off = PCAP_GLOBAL_HEADER_LENGTH;
  while (off < buf.length) {
    if (off + PCAP_RECORD_HEADER_LENGTH > buf.length) throw new Error(`pcap: truncated record header at ${off}`);
    const tsSec = u32(off);
    const frac = u32(off + 4);
    const inclLength = u32(off + 8);
    const origLength = u32(off + 12);
    off += PCAP_RECORD_HEADER_LENGTH;
    if (off + inclLength > buf.length) throw new Error(`pcap: truncated record data at ${off}`);
    const data = buf.subarray(off, off + inclLength);
    off += inclLength;
    packets.push({
      index: packets.length,
      tsSec,
      tsUsec: nano ? Math.floor(frac / 1000) : frac,
      origLength,
      data,
      ipOffset: ipOffsetOf(linkType, data),
    });
  }
  return { linkType, snapLength, packets };
}

/** Read and parse a classic pcap file. */
export function readPcap(file: string): PcapFile {
  return parsePcap(readFileSync(file));
}
