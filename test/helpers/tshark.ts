/**
 * Wireshark's tshark as an outside reader for tests: whether it is installed, a classic pcap writer for raw
 * IP packets (LINKTYPE_RAW), and a runner that writes packets to a temporary capture, has tshark read it
 * and removes the file again.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Link type of frames that start with the IPv4/IPv6 header. */
export const LINKTYPE_RAW = 101;

const PCAP_MAGIC_USEC = 0xa1b2c3d4;
const PCAP_VERSION_MAJOR = 2;
const PCAP_VERSION_MINOR = 4;
const PCAP_SNAPLEN = 65535;
const PCAP_GLOBAL_HEADER_LENGTH = 24;
const PCAP_RECORD_HEADER_LENGTH = 16;
/** Timestamp (seconds) of the first packet; each further packet is one second later. */
const DEFAULT_FIRST_SECOND = 1_700_000_000;

/** A classic pcap file (microsecond magic, little-endian) of raw IP packets, one second apart. */
export function rawIpPcap(packets: readonly Buffer[], firstSecond: number = DEFAULT_FIRST_SECOND): Buffer {
  const g = Buffer.alloc(PCAP_GLOBAL_HEADER_LENGTH);
  g.writeUInt32LE(PCAP_MAGIC_USEC, 0);
  g.writeUInt16LE(PCAP_VERSION_MAJOR, 4);
  g.writeUInt16LE(PCAP_VERSION_MINOR, 6);
  g.writeUInt32LE(PCAP_SNAPLEN, 16);
  g.writeUInt32LE(LINKTYPE_RAW, 20);
  const parts: Buffer[] = [g];
  packets.forEach((p, i) => {
    const r = Buffer.alloc(PCAP_RECORD_HEADER_LENGTH);
    r.writeUInt32LE(firstSecond + i, 0);
    r.writeUInt32LE(p.length, 8);
    r.writeUInt32LE(p.length, 12);
    parts.push(r, p);
  });
  return Buffer.concat(parts);
}

/** tshark arguments printing the given fields of each packet on one line, separated by `separator`. */
export function tsharkFieldArgs(fields: readonly string[], separator = '|'): string[] {
  const args = ['-T', 'fields', '-E', `separator=${separator}`];
  for (const f of fields) args.push('-e', f);
  return args;
}

/**
 * Write `packets` as a raw-IP pcap into a fresh temporary folder (name starting with `tempPrefix`), run
 * `tshark -n -r <file> ...args` on it and return its standard output (standard error is ignored). The
 * folder is removed afterwards, also when tshark fails (its error is thrown).
 */
export function tsharkOnPackets(
  packets: readonly Buffer[],
  args: readonly string[],
  tempPrefix = 'ts-ipsec-',
  fileName = 'capture.pcap',
): string {
  const dir = mkdtempSync(path.join(tmpdir(), tempPrefix));
  try {
    const file = path.join(dir, fileName);
    writeFileSync(file, rawIpPcap(packets));
    return execFileSync('tshark', ['-n', '-r', file, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
