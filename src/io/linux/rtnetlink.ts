/**
 * Routes into the TUN through rtnetlink (linux/rtnetlink.h, RFC 3549), without starting an `ip` process:
 * a CHILD_SA's routes go in while its IKE_AUTH answer waits, so they must cost microseconds, not the
 * milliseconds of a process start. The routes are the ones `ip route replace PREFIX dev DEV table T [src S]`
 * makes (protocol boot, link scope for IPv4), so `ip route show table T` lists them the same way, and errors
 * name that command.
 *
 * One request at a time: the kernel handles an rtnetlink request inside the send and queues its
 * acknowledgement before the send returns, so the read that follows does not wait (a receive timeout bounds
 * it all the same, should the kernel not answer).
 *
 * Also the address events MOBIKE follows (`watchAddresses`): a socket in the rtnetlink address groups, read
 * from the event loop, so no `ip monitor` process is left behind when the daemon dies.
 */
import { IoError } from '../types.js';
import { familyOf, writeAddress } from '../ip-address.js';
import { withNetns } from './netns.js';
import { pollReadable } from './fd-poller.js';
import {
  addressOf,
  EAGAIN,
  SOCK_NONBLOCK,
  errno,
  IFNAMSIZ,
  IFREQ_BYTES,
  IFREQ_UNION_OFFSET,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_SOCKET,
  sys,
  EINTR,
} from './libc.js';

const AF_NETLINK = 16;
const NETLINK_ROUTE = 0;
const SO_RCVTIMEO = 20;
const SIOCGIFINDEX = 0x8933;
const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_REPLACE = 0x100;
const NLM_F_CREATE = 0x400;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_NOWHERE = 255;
const RTN_UNICAST = 1;
const RT_TABLE_UNSPEC = 0;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_PREFSRC = 7;
const RTA_TABLE = 15;
const NLMSG_HEADER_BYTES = 16;
const RTMSG_BYTES = 12;
/** How long a read waits for the kernel's acknowledgement at most. */
const ACK_TIMEOUT_MS = 2000;
const BUFFER_BYTES = 8192;

/** One route into a device: the destination prefix, the table, and a preferred source. */
export interface NetlinkRoute {
  readonly prefix: string;
  readonly dev: string;
  readonly table: number;
  readonly src?: string;
}

const align4 = (n: number): number => (n + 3) & ~3;

/** The route request (RTM_NEWROUTE replace-or-create, or RTM_DELROUTE) for `route` through interface `ifindex`. */
export function routeMessage(type: number, route: NetlinkRoute, ifindex: number, seq: number): Buffer {
  const slash = route.prefix.lastIndexOf('/');
  const address = slash < 0 ? route.prefix : route.prefix.slice(0, slash);
  const family = familyOf(address);
  if (family === undefined) throw new IoError(`not an address prefix: ${route.prefix}`, 0);
  const bytes = family === 4 ? 4 : 16;
  const lengthText = slash < 0 ? String(bytes * 8) : route.prefix.slice(slash + 1);
  const length = Number(lengthText);
  if (!/^\d+$/.test(lengthText) || length > bytes * 8) throw new IoError(`not an address prefix: ${route.prefix}`, 0);
  const attrs: [number, Uint8Array][] = [];
  const dst = new Uint8Array(bytes);
  writeAddress(address, family, dst, 0);
  if (length > 0) attrs.push([RTA_DST, dst]);
  const u32 = (v: number): Uint8Array => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0, 0);
    return b;
  };
  attrs.push([RTA_TABLE, u32(route.table)], [RTA_OIF, u32(ifindex)]);
  if (route.src !== undefined) {
    const src = new Uint8Array(bytes);
    if (familyOf(route.src) !== family || !writeAddress(route.src, family, src, 0))
      throw new IoError(`source ${route.src} is not an IPv${family} address`, 0);
    attrs.push([RTA_PREFSRC, src]);
  }
  const total = NLMSG_HEADER_BYTES + RTMSG_BYTES + attrs.reduce((n, [, v]) => n + align4(4 + v.length), 0);
  const m = Buffer.alloc(total);
  m.writeUInt32LE(total, 0);
  m.writeUInt16LE(type, 4);
  const create = type === RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_REPLACE : 0;
  m.writeUInt16LE(NLM_F_REQUEST | NLM_F_ACK | create, 6);
  m.writeUInt32LE(seq >>> 0, 8);
  let o = NLMSG_HEADER_BYTES;
  m[o] = family === 4 ? 2 : 10;
  m[o + 1] = length;
  m[o + 4] = route.table < 256 ? route.table : RT_TABLE_UNSPEC;
  if (type === RTM_NEWROUTE) {
    m[o + 5] = RTPROT_BOOT;
    // As ip does for a route without a gateway: link scope for IPv4, universe for IPv6.
    m[o + 6] = family === 4 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    m[o + 7] = RTN_UNICAST;
  } else {
    m[o + 6] = RT_SCOPE_NOWHERE;
  }
  o += RTMSG_BYTES;
  for (const [kind, value] of attrs) {
    m.writeUInt16LE(4 + value.length, o);
    m.writeUInt16LE(kind, o + 2);
    m.set(value, o + 4);
    o += align4(4 + value.length);
  }
  return m;
}

/**
 * The outcome of request `seq` among the messages of one read: 0 (done), a negative errno, or undefined
 * when the read holds no answer to it (a late answer to an earlier request).
 */
export function ackOf(messages: Uint8Array, length: number, seq: number): number | undefined {
  let result: number | undefined;
  eachMessage(messages, length, (view, o, type, len) => {
    if (type !== NLMSG_ERROR || view.readUInt32LE(o + 8) !== seq >>> 0 || len < 20) return false;
    result = view.readInt32LE(o + NLMSG_HEADER_BYTES);
    return true;
  });
  return result;
}

/**
 * Calls `f` with each whole netlink message of one read (its offset, type and length) until `f` returns true or
 * a message is cut short.
 */
function eachMessage(
  messages: Uint8Array,
  length: number,
  f: (view: Buffer, at: number, type: number, len: number) => boolean,
): void {
  const view = Buffer.from(messages.buffer, messages.byteOffset, length);
  for (let o = 0; o + NLMSG_HEADER_BYTES <= length;) {
    const len = view.readUInt32LE(o);
    if (len < NLMSG_HEADER_BYTES || o + len > length) return;
    if (f(view, o, view.readUInt16LE(o + 4), len)) return;
    o += align4(len);
  }
}

/** The `ip` command an operator would type for the same change: what errors name. */
function commandText(type: number, r: NetlinkRoute): string {
  const verb = type === RTM_NEWROUTE ? 'replace' : 'del';
  return `ip route ${verb} ${r.prefix} dev ${r.dev} table ${r.table}${r.src !== undefined && type === RTM_NEWROUTE ? ` src ${r.src}` : ''}`;
}

export class RouteNetlink {
  readonly #fd: number;
  readonly #buffer = Buffer.alloc(BUFFER_BYTES);
  #seq = 1;
  #closed = false;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Opens the socket (in network namespace `netns` when given); throws IoError when the kernel refuses one. */
  static open(netns?: string): RouteNetlink {
    const fd = withNetns(netns, () => sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (fd < 0) throw new IoError(`rtnetlink socket: ${sys.strerror(errno())}`, errno());
    const timeout = Buffer.alloc(16);
    timeout.writeUInt32LE(Math.floor(ACK_TIMEOUT_MS / 1000), 0);
    timeout.writeUInt32LE((ACK_TIMEOUT_MS % 1000) * 1000, 8);
    sys.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, 16);
    return new RouteNetlink(fd);
  }

  /** `ip route replace`: adds the route or replaces the one with the same prefix and table. */
  replace(route: NetlinkRoute): void {
    this.#request(RTM_NEWROUTE, route);
  }

  /** `ip route del`; throws IoError (ESRCH) when there is no such route. */
  delete(route: NetlinkRoute): void {
    this.#request(RTM_DELROUTE, route);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    sys.close(this.#fd);
  }

  /** The index of device `name` in the socket's namespace (SIOCGIFINDEX on the socket itself), 0 when none. */
  #ifindex(name: string): number {
    const ifreq = Buffer.alloc(IFREQ_BYTES);
    if (Buffer.byteLength(name) >= IFNAMSIZ) return 0;
    ifreq.write(name, 0, 'utf8');
    if (sys.ioctl(this.#fd, SIOCGIFINDEX, ifreq) < 0) return 0;
    return ifreq.readInt32LE(IFREQ_UNION_OFFSET);
  }

  #request(type: number, route: NetlinkRoute): void {
    if (this.#closed) throw new IoError(`${commandText(type, route)}: rtnetlink socket closed`, 0);
    const ifindex = this.#ifindex(route.dev);
    if (ifindex === 0) throw new IoError(`${commandText(type, route)}: no device ${route.dev}`, errno());
    const seq = this.#seq;
    this.#seq = (this.#seq % 0xffffffff) + 1;
    const message = routeMessage(type, route, ifindex, seq);
    if (sys.write(this.#fd, addressOf(message), message.length) !== message.length)
      throw new IoError(`${commandText(type, route)}: ${sys.strerror(errno())}`, errno());
    for (;;) {
      const n = sys.read(this.#fd, addressOf(this.#buffer), BUFFER_BYTES);
      if (n < 0) {
        const e = errno();
        if (e === EINTR) continue;
        throw new IoError(`${commandText(type, route)}: no answer from the kernel (${sys.strerror(e)})`, e);
      }
      const result = ackOf(this.#buffer, n, seq);
      if (result === undefined) continue;
      if (result === 0) return;
      throw new IoError(`${commandText(type, route)}: ${sys.strerror(-result)}`, -result);
    }
  }
}

const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTMGRP_IPV4_IFADDR = 0x10;
const RTMGRP_IPV6_IFADDR = 0x100;
/** struct sockaddr_nl { sa_family_t nl_family; unsigned short nl_pad; __u32 nl_pid; __u32 nl_groups; } */
const SOCKADDR_NL_BYTES = 12;

/** True when the messages of one read hold an address added or removed. */
export function hasAddressEvent(messages: Uint8Array, length: number): boolean {
  let found = false;
  eachMessage(messages, length, (_view, _at, type) => (found = type === RTM_NEWADDR || type === RTM_DELADDR));
  return found;
}

/**
 * Calls `onChange` once per read that brings IPv4 or IPv6 address events (the rtnetlink address groups, as
 * `ip monitor address` listens to), from the event loop; returns how to stop. Throws IoError when the kernel
 * refuses the socket. A receive queue that overflowed (ENOBUFS) counts as a change: events were lost.
 */
export function watchAddresses(onChange: () => void, netns?: string): () => void {
  const fd = withNetns(netns, () => sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
  if (fd < 0) throw new IoError(`rtnetlink socket: ${sys.strerror(errno())}`, errno());
  const sa = Buffer.alloc(SOCKADDR_NL_BYTES);
  sa.writeUInt16LE(AF_NETLINK, 0);
  sa.writeUInt32LE(RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, 8);
  if (sys.bind(fd, sa, SOCKADDR_NL_BYTES) < 0) {
    const e = errno();
    sys.close(fd);
    throw new IoError(`rtnetlink address events: ${sys.strerror(e)}`, e);
  }
  const buffer = Buffer.alloc(BUFFER_BYTES);
  let open = true;
  const poller = pollReadable(fd, () => {
    let changed = false;
    for (let i = 0; i < 64 && open; i++) {
      const n = sys.read(fd, addressOf(buffer), BUFFER_BYTES);
      if (n < 0) {
        const e = errno();
        if (e === EINTR) continue;
        if (e !== EAGAIN) changed = true; // ENOBUFS: events were dropped, look again
        break;
      }
      if (n === 0) break;
      if (hasAddressEvent(buffer, n)) changed = true;
    }
    if (changed && open) onChange();
  });
  return () => {
    if (!open) return;
    open = false;
    poller.close();
    sys.close(fd);
  };
}
