/** Hand-made IPv4/ICMP packets for the I/O tests, written independently of the project's IP helpers. */

function checksum(buf: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += ((buf[i] ?? 0) << 8) | (i + 1 < end ? (buf[i + 1] ?? 0) : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function v4(text: string): number[] {
  return text.split('.').map(Number);
}

/** An IPv4 ICMP echo (type 8) or echo reply (type 0) with a 20-byte header and valid checksums. */
export function icmpEcho(type: 0 | 8, src: string, dst: string, id: number, seq: number, data: Uint8Array): Buffer {
  const p = Buffer.alloc(20 + 8 + data.length);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p.writeUInt16BE(0x1234, 4);
  p[8] = 64;
  p[9] = 1;
  p.set(v4(src), 12);
  p.set(v4(dst), 16);
  p.writeUInt16BE(checksum(p, 0, 20), 10);
  p[20] = type;
  p.writeUInt16BE(id, 24);
  p.writeUInt16BE(seq, 26);
  p.set(data, 28);
  p.writeUInt16BE(checksum(p, 20, p.length), 22);
  return p;
}

export interface ParsedEcho {
  type: number;
  src: string;
  dst: string;
  id: number;
  seq: number;
  data: Buffer;
}

/** Parse an IPv4 ICMP echo or reply, checking both checksums; undefined for anything else. */
export function parseIcmpEcho(p: Uint8Array): ParsedEcho | undefined {
  const b = Buffer.from(p);
  if (b.length < 28 || b[0] !== 0x45 || b[9] !== 1) return undefined;
  if (checksum(b, 0, 20) !== 0 || checksum(b, 20, b.length) !== 0) return undefined;
  const type = b[20] ?? -1;
  if (type !== 0 && type !== 8) return undefined;
  return {
    type,
    src: [...b.subarray(12, 16)].join('.'),
    dst: [...b.subarray(16, 20)].join('.'),
    id: b.readUInt16BE(24),
    seq: b.readUInt16BE(26),
    data: b.subarray(28),
  };
}

/** The reply an IPv4 host would send to echo request `req`. */
export function echoReplyFor(req: Uint8Array): Buffer | undefined {
  const e = parseIcmpEcho(req);
  if (e === undefined || e.type !== 8) return undefined;
  return icmpEcho(0, e.dst, e.src, e.id, e.seq, e.data);
}

/** A fake ESP packet: SPI, sequence number, then `payloadBytes` bytes of a counting pattern. */
export function fakeEsp(spi: number, seq: number, payloadBytes: number): Buffer {
  const p = Buffer.alloc(8 + payloadBytes);
  p.writeUInt32BE(spi, 0);
  p.writeUInt32BE(seq, 4);
  for (let i = 0; i < payloadBytes; i++) p[8 + i] = (seq + i) & 0xff;
  return p;
}
