/**
 * Plain packets the AH tests seal: one IPv4 or IPv6 header (from SRC4/SRC6 to DST4/DST6 unless told
 * otherwise, lengths and IPv4 checksum filled in) in front of a UDP datagram, optionally with IPv4 options
 * or IPv6 extension headers. Only inputs are built here; expected outputs are laid out by hand
 * in each test.
 */

import { DST4, DST6, SRC4, SRC6, ipv4Header, ipv6Header } from './reference.js';

/** IP protocol / IPv6 next header numbers (IANA). */
export const PROTO_UDP = 17;
export const PROTO_HOP_BY_HOP = 0;

const IPV4_HEADER_LENGTH = 20;

export interface Ipv4UdpFields {
  readonly id: number;
  /** Default 0. */
  readonly tos?: number;
  /** Flags and fragment offset, default 0. */
  readonly flagsFragment?: number;
  /** Default 64. */
  readonly ttl?: number;
  /** Default DST4. */
  readonly dst?: Buffer;
  /** IPv4 options, padded to 4 bytes; default none. */
  readonly options?: Buffer;
}

/** An IPv4 header (protocol UDP) followed by the UDP datagram `udp`. */
export function ipv4Udp(udp: Buffer, f: Ipv4UdpFields): Buffer {
  const options = f.options ?? Buffer.alloc(0);
  return Buffer.concat([
    ipv4Header({
      tos: f.tos ?? 0,
      totalLength: IPV4_HEADER_LENGTH + options.length + udp.length,
      id: f.id,
      flagsFragment: f.flagsFragment ?? 0,
      ttl: f.ttl ?? 64,
      protocol: PROTO_UDP,
      src: SRC4,
      dst: f.dst ?? DST4,
      options,
    }),
    udp,
  ]);
}

export interface Ipv6UdpFields {
  /** Default 0. */
  readonly trafficClass?: number;
  /** Default 0. */
  readonly flowLabel?: number;
  /** Default 64. */
  readonly hopLimit?: number;
  /** Default DST6. */
  readonly dst?: Buffer;
  /** Extension headers, the first a hop-by-hop options header, the last naming UDP; default none. */
  readonly extensions?: Buffer;
}

/** An IPv6 header (and the extension headers, if given) followed by the UDP datagram `udp`. */
export function ipv6Udp(udp: Buffer, f: Ipv6UdpFields = {}): Buffer {
  const ext = f.extensions ?? Buffer.alloc(0);
  return Buffer.concat([
    ipv6Header({
      trafficClass: f.trafficClass ?? 0,
      flowLabel: f.flowLabel ?? 0,
      payloadLength: ext.length + udp.length,
      nextHeader: ext.length > 0 ? PROTO_HOP_BY_HOP : PROTO_UDP,
      hopLimit: f.hopLimit ?? 64,
      src: SRC6,
      dst: f.dst ?? DST6,
    }),
    ext,
    udp,
  ]);
}
