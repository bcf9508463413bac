/**
 * IKE messages out of the tcpdump test captures (test/vectors/files/tcpdump/), and the dissection lines
 * tcpdump printed for them (the .out files). Uses test/helpers/pcap.ts; adds link type 0 (BSD loopback,
 * a 4-byte address family header), which these captures use.
 */
import { readFileSync } from 'node:fs';
import { parsePcap } from '../../helpers/pcap.js';
import { vectorPath } from '../../helpers/vectors.js';

const LINKTYPE_NULL = 0;
const NULL_HEADER_LENGTH = 4;
const UDP_HEADER_LENGTH = 8;
const IPV4_TOTAL_LENGTH_OFFSET = 2;

/** The UDP payloads (IKE messages on port 500) of a capture, in frame order, as fresh Buffers. */
export function ikeMessagesFromPcap(name: string): Buffer[] {
  const pcap = parsePcap(readFileSync(vectorPath(`files/tcpdump/${name}`)));
  return pcap.packets.map((p) => {
    const ipOff = pcap.linkType === LINKTYPE_NULL ? NULL_HEADER_LENGTH : p.ipOffset;
    if (ipOff < 0) throw new Error(`frame ${p.index}: not IP`);
    const ip = p.data.subarray(ipOff);
    if ((ip[0] ?? 0) >> 4 !== 4) throw new Error(`frame ${p.index}: not IPv4`);
    const ihl = ((ip[0] ?? 0) & 0x0f) * 4;
    const total = ip.readUInt16BE(IPV4_TOTAL_LENGTH_OFFSET);
    return Buffer.from(ip.subarray(ihl + UDP_HEADER_LENGTH, total));
  });
}

/** One frame of a tcpdump -v text dump: the ISAKMP header line and the payload lines under it. */
export interface DumpFrame {
  /** Captured fields of "isakmp M.m msgid X cookie I->R: ... EXCHANGE[I|R]:". */
  version: string;
  msgid: string;
  spiI: string;
  spiR: string;
  exchange: string;
  role: string;
  /** Payload lines, each normalised with `normalizeDumpLine`. */
  lines: string[];
}

/** Compare lines without tcpdump's closing-parenthesis layout and its [C] (critical bit) marks. */
export function normalizeDumpLine(line: string): string {
  return line
    .trim()
    .replace(/\[C\]/g, '')
    .replace(/[)\s]+$/, '');
}

const FRAME_START = /^\s*\d+\s+\d{4}-\d\d-\d\d /;
const ISAKMP_LINE = /isakmp (\d\.\d) msgid ([0-9a-f]{8}) cookie ([0-9a-f]{16})->([0-9a-f]{16}): \S+\s+(\S+)\[([IR])\]:/;

/** Parse a tcpdump -v output file from test/vectors/files/tcpdump/. */
export function readDump(name: string): DumpFrame[] {
  const text = readFileSync(vectorPath(`files/tcpdump/${name}`), 'utf8');
  const frames: DumpFrame[] = [];
  let current: DumpFrame | undefined;
  for (const line of text.split('\n')) {
    if (FRAME_START.test(line)) {
      current = undefined;
      continue;
    }
    const m = ISAKMP_LINE.exec(line);
    if (m !== null) {
      current = {
        version: m[1] ?? '',
        msgid: m[2] ?? '',
        spiI: m[3] ?? '',
        spiR: m[4] ?? '',
        exchange: m[5] ?? '',
        role: m[6] ?? '',
        lines: [],
      };
      frames.push(current);
      continue;
    }
    if (current !== undefined && line.trim().startsWith('(')) current.lines.push(normalizeDumpLine(line));
  }
  return frames;
}
