/**
 * Independent references for the AH tests: the integrity algorithms straight on node:crypto (not through
 * src/crypto), an IPv4 header checksum, and packet builders that lay out IPv4 and IPv6 headers byte by byte
 * from explicit field values. The tests build the RFC 4302 "hand-zeroed copy" with these builders by
 * passing the values the RFC prescribes (zero for mutable fields, the final destination for routed
 * packets), never by calling the code under test.
 */

import { createCipheriv, createHmac } from 'node:crypto';
import { IntegId } from '../../src/crypto/ids.js';

export interface RefAlgo {
  readonly id: number;
  readonly name: string;
  /** Keymat bytes (GMAC: AES key || 4-byte salt, RFC 4543). */
  readonly keyLength: number;
  readonly icvLength: number;
  readonly ivLength: number;
  /** The ICV over `data` (GMAC: nonce salt || iv). */
  mac(key: Buffer, data: Buffer, iv: Buffer): Buffer;
}

function hmac(hash: string, icvLength: number) {
  return (key: Buffer, data: Buffer): Buffer => createHmac(hash, key).update(data).digest().subarray(0, icvLength);
}

function aesEcbBlock(key: Buffer, block: Buffer): Buffer {
  const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

/** AES-XCBC-MAC (RFC 3566 2.2), full 128-bit output. */
export function xcbcMac(key: Buffer, msg: Buffer): Buffer {
  const k1 = aesEcbBlock(key, Buffer.alloc(16, 0x01));
  const k2 = aesEcbBlock(key, Buffer.alloc(16, 0x02));
  const k3 = aesEcbBlock(key, Buffer.alloc(16, 0x03));
  const blocks = Math.max(1, Math.ceil(msg.length / 16));
  let e: Buffer = Buffer.alloc(16);
  for (let i = 0; i < blocks; i++) {
    const m = Buffer.alloc(16);
    const part = msg.subarray(i * 16, i * 16 + 16);
    part.copy(m);
    if (i === blocks - 1) {
      if (part.length === 16) {
        for (let j = 0; j < 16; j++) m[j]! ^= k2[j]!;
      } else {
        m[part.length] = 0x80;
        for (let j = 0; j < 16; j++) m[j]! ^= k3[j]!;
      }
    }
    for (let j = 0; j < 16; j++) m[j]! ^= e[j]!;
    e = aesEcbBlock(k1, m);
  }
  return e;
}

/** AES-GMAC (RFC 4543): GCM with everything as AAD and no plaintext, nonce = salt || iv. */
function gmac(key: Buffer, data: Buffer, iv: Buffer): Buffer {
  const aesKey = key.subarray(0, key.length - 4);
  const nonce = Buffer.concat([key.subarray(key.length - 4), iv]);
  const c = createCipheriv(`aes-${aesKey.length * 8}-gcm` as 'aes-128-gcm', aesKey, nonce, { authTagLength: 16 });
  c.setAAD(data);
  c.final();
  return c.getAuthTag();
}

export const REF_ALGOS: readonly RefAlgo[] = [
  {
    id: IntegId.AUTH_HMAC_SHA1_96,
    name: 'hmac-sha1-96',
    keyLength: 20,
    icvLength: 12,
    ivLength: 0,
    mac: hmac('sha1', 12),
  },
  {
    id: IntegId.AUTH_HMAC_SHA2_256_128,
    name: 'hmac-sha256-128',
    keyLength: 32,
    icvLength: 16,
    ivLength: 0,
    mac: hmac('sha256', 16),
  },
  {
    id: IntegId.AUTH_HMAC_SHA2_384_192,
    name: 'hmac-sha384-192',
    keyLength: 48,
    icvLength: 24,
    ivLength: 0,
    mac: hmac('sha384', 24),
  },
  {
    id: IntegId.AUTH_HMAC_SHA2_512_256,
    name: 'hmac-sha512-256',
    keyLength: 64,
    icvLength: 32,
    ivLength: 0,
    mac: hmac('sha512', 32),
  },
  {
    id: IntegId.AUTH_AES_XCBC_96,
    name: 'aes-xcbc-96',
    keyLength: 16,
    icvLength: 12,
    ivLength: 0,
    mac: (k, d) => xcbcMac(k, d).subarray(0, 12),
  },
  { id: IntegId.AUTH_AES_128_GMAC, name: 'aes128-gmac', keyLength: 20, icvLength: 16, ivLength: 8, mac: gmac },
  { id: IntegId.AUTH_AES_256_GMAC, name: 'aes256-gmac', keyLength: 36, icvLength: 16, ivLength: 8, mac: gmac },
];

/** A fixed key for an algorithm (different per algorithm and per `salt`). */
export function testKey(algo: RefAlgo, salt = 0): Buffer {
  const k = Buffer.alloc(algo.keyLength);
  for (let i = 0; i < k.length; i++) k[i] = (i * 29 + algo.id * 7 + salt * 13 + 1) & 0xff;
  return k;
}

/** RFC 1071 checksum of an IPv4 header, written out plainly. */
export function ipv4Checksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += (h[i]! << 8) | (h[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Ipv4Fields {
  tos: number;
  totalLength: number;
  id: number;
  /** Flags (3 bits) and fragment offset (13 bits) as one 16-bit value. */
  flagsFragment: number;
  ttl: number;
  protocol: number;
  /** Written as given; `withChecksum: true` computes it instead. */
  checksum?: number;
  src: Buffer;
  dst: Buffer;
  /** Options, a multiple of 4 bytes. */
  options: Buffer;
}

/** An IPv4 header from explicit fields (RFC 791 3.1). */
export function ipv4Header(f: Ipv4Fields): Buffer {
  if (f.options.length % 4 !== 0) throw new Error('options must be padded to 4 bytes');
  const h = Buffer.alloc(20 + f.options.length);
  h[0] = 0x40 | (h.length / 4);
  h[1] = f.tos;
  h.writeUInt16BE(f.totalLength, 2);
  h.writeUInt16BE(f.id, 4);
  h.writeUInt16BE(f.flagsFragment, 6);
  h[8] = f.ttl;
  h[9] = f.protocol;
  f.src.copy(h, 12);
  f.dst.copy(h, 16);
  f.options.copy(h, 20);
  h.writeUInt16BE(f.checksum ?? ipv4Checksum(h), 10);
  return h;
}

export interface Ipv6Fields {
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  src: Buffer;
  dst: Buffer;
}

/** An IPv6 fixed header from explicit fields (RFC 8200 3). */
export function ipv6Header(f: Ipv6Fields): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(((6 << 28) | (f.trafficClass << 20) | f.flowLabel) >>> 0, 0);
  h.writeUInt16BE(f.payloadLength, 4);
  h[6] = f.nextHeader;
  h[7] = f.hopLimit;
  f.src.copy(h, 8);
  f.dst.copy(h, 24);
  return h;
}

/** One TLV option of a hop-by-hop or destination options header (RFC 8200 4.2). */
export interface Ipv6Option {
  type: number;
  data: Buffer;
}

/**
 * A hop-by-hop or destination options header holding `options`, padded with PadN / Pad1 to 8 bytes.
 * `zeroMutable` writes the data of options whose type has the 0x20 bit as zeros (RFC 4302 3.3.3.1.2.1).
 */
export function ipv6OptionsHeader(nextHeader: number, options: readonly Ipv6Option[], zeroMutable = false): Buffer {
  const parts: Buffer[] = [];
  for (const o of options) {
    const data = zeroMutable && (o.type & 0x20) !== 0 ? Buffer.alloc(o.data.length) : o.data;
    parts.push(Buffer.from([o.type, o.data.length]), data);
  }
  let body = Buffer.concat(parts);
  const total = Math.ceil((body.length + 2) / 8) * 8;
  const pad = total - 2 - body.length;
  if (pad === 1) body = Buffer.concat([body, Buffer.from([0])]);
  else if (pad > 1) body = Buffer.concat([body, Buffer.from([1, pad - 2]), Buffer.alloc(pad - 2)]);
  return Buffer.concat([Buffer.from([nextHeader, total / 8 - 1]), body]);
}

/** A type 0 routing header (RFC 2460 4.4) with `addresses` and `segmentsLeft`. */
export function routingType0(nextHeader: number, segmentsLeft: number, addresses: readonly Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([nextHeader, addresses.length * 2, 0, segmentsLeft, 0, 0, 0, 0]), ...addresses]);
}

/** The AH as RFC 4302 2 lays it out, with `icvField` (IV, ICV, padding) given whole. */
export function ahBytes(nextHeader: number, spi: number, seqLow: number, icvField: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h[0] = nextHeader;
  h[1] = (12 + icvField.length) / 4 - 2;
  h.writeUInt32BE(spi >>> 0, 4);
  h.writeUInt32BE(seqLow >>> 0, 8);
  return Buffer.concat([h, icvField]);
}

/** 32-bit big-endian. */
export function be32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

/** 64-bit big-endian of a safe integer. */
export function be64(v: number): Buffer {
  return Buffer.concat([be32(Math.floor(v / 0x1_0000_0000)), be32(v % 0x1_0000_0000)]);
}

export const SRC4 = Buffer.from([192, 0, 2, 1]);
export const DST4 = Buffer.from([198, 51, 100, 7]);
export const HOP4A = Buffer.from([203, 0, 113, 1]);
export const HOP4B = Buffer.from([203, 0, 113, 2]);

function v6(last: number, net = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(0x20010db8, 0);
  b[7] = net;
  b[15] = last;
  return b;
}
export const SRC6 = v6(1, 1);
export const DST6 = v6(7, 2);
export const HOP6A = v6(1, 3);
export const HOP6B = v6(2, 3);

/** A UDP datagram (RFC 768) with a zero checksum; content only matters as bytes here. */
export function udpDatagram(payload: Buffer, srcPort = 5000, dstPort = 6000): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(srcPort, 0);
  h.writeUInt16BE(dstPort, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** Deterministic bytes. */
export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17 + 3) & 0xff;
  return b;
}

/** xorshift32, for reproducible fuzzing. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}
