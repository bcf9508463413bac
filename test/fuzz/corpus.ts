/**
 * Recorded seeds for the fuzz harness that come from files: test/fuzz/corpus/ (see its README.md). The
 * strongSwan capture gives real IKE messages of charon 5.9.8 (both directions of a session with our daemon)
 * and its ESP-in-UDP packets.
 */
import { readFileSync } from 'node:fs';
import { parsePcap } from '../helpers/pcap.js';
import { repoRoot } from '../helpers/vectors.js';
import path from 'node:path';

const UDP_HEADER_LENGTH = 8;
const IPV4_TOTAL_LENGTH_OFFSET = 2;
const IPPROTO_UDP = 17;
const NAT_T_PORT = 4500;
const NON_ESP_MARKER_LENGTH = 4;

export interface RecordedUdp {
  /** IKE messages (the non-ESP marker removed). */
  readonly ike: Buffer[];
  /** UDP 4500 payloads that are ESP. */
  readonly espUdp: Buffer[];
}

/** The UDP payloads of an IPv4 capture in test/fuzz/corpus/, sorted into IKE and ESP-in-UDP. */
export function recordedUdp(name: string): RecordedUdp {
  const pcap = parsePcap(readFileSync(path.join(repoRoot, 'test', 'fuzz', 'corpus', name)));
  const out: RecordedUdp = { ike: [], espUdp: [] };
  for (const p of pcap.packets) {
    if (p.ipOffset < 0) continue;
    const ip = p.data.subarray(p.ipOffset);
    if ((ip[0] ?? 0) >> 4 !== 4 || ip[9] !== IPPROTO_UDP) continue;
    const ihl = ((ip[0] ?? 0) & 0x0f) * 4;
    const udp = ip.subarray(ihl, ip.readUInt16BE(IPV4_TOTAL_LENGTH_OFFSET));
    const payload = Buffer.from(udp.subarray(UDP_HEADER_LENGTH));
    const natT = udp.readUInt16BE(0) === NAT_T_PORT || udp.readUInt16BE(2) === NAT_T_PORT;
    if (!natT) out.ike.push(payload);
    else if (payload.length > NON_ESP_MARKER_LENGTH && payload.readUInt32BE(0) === 0)
      out.ike.push(payload.subarray(NON_ESP_MARKER_LENGTH));
    else if (payload.length > 1) out.espUdp.push(payload);
  }
  return out;
}
