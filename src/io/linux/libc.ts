/**
 * The few libc calls Node does not offer, bound through koffi, with the Linux constants and struct layouts
 * they need (x86-64 and arm64, LP64). Hot-path calls take buffer addresses as plain numbers (`intptr_t`)
 * so no per-call wrapper objects are created; `addressOf()` caches each backing store's address.
 */
import koffi from 'koffi';

/** Linux constants (linux/socket.h, linux/in.h, linux/in6.h, linux/if.h, linux/if_tun.h, asm/ioctls.h). */
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const O_RDWR = 2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SO_MARK = 36;
export const IPPROTO_IP = 0;
export const IPPROTO_IPV6 = 41;
export const IP_TOS = 1;
export const IP_PKTINFO = 8;
export const IP_RECVTOS = 13;
export const IPV6_V6ONLY = 26;
/** SOL_UDP option and control message: the segment size of a UDP GSO send (linux/udp.h). */
export const SOL_UDP = 17;
export const UDP_SEGMENT = 103;
/**
 * SOL_UDP option and control message: receive coalesced datagrams (UDP GRO). The option takes an int; each
 * coalesced receive carries a control message with the segment size, an int (linux/udp.h, udp(7)).
 */
export const UDP_GRO = 104;
/** Most segments one UDP GSO send may carry (UDP_MAX_SEGMENTS is 64 on older kernels, 128 on newer). */
export const UDP_MAX_SEGMENTS = 64;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50;
export const IPV6_RECVTCLASS = 66;
export const IPV6_TCLASS = 67;
export const MSG_DONTWAIT = 0x40;
export const MSG_CTRUNC = 0x08;
export const MSG_TRUNC = 0x20;
export const EINTR = 4;
export const EAGAIN = 11;
export const CLONE_NEWNET = 0x40000000;
export const TUNSETIFF = 0x400454ca;
export const IFF_TUN = 0x0001;
export const IFF_NO_PI = 0x1000;
export const IFF_VNET_HDR = 0x4000;
export const TUNSETOFFLOAD = 0x400454d0;
export const TUNSETVNETHDRSZ = 0x400454d8;
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_USO4 = 0x20;
export const TUN_F_USO6 = 0x40;
export const IFF_UP = 0x1;
export const SIOCGIFFLAGS = 0x8913;
export const SIOCSIFFLAGS = 0x8914;
export const SIOCSIFMTU = 0x8922;
export const IFNAMSIZ = 16;

/** struct ifreq: the name, then a union holding ifr_flags (short) or ifr_mtu (int). */
export const IFREQ_BYTES = 40;
export const IFREQ_UNION_OFFSET = 16;

/** struct iovec { void *iov_base; size_t iov_len; } */
export const IOVEC_BYTES = 16;
export const IOV_BASE_OFFSET = 0;
export const IOV_LEN_OFFSET = 8;

/** struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; } with msghdr's LP64 layout. */
export const MMSGHDR_BYTES = 64;
export const MSG_NAME_OFFSET = 0;
export const MSG_NAMELEN_OFFSET = 8;
export const MSG_IOV_OFFSET = 16;
export const MSG_IOVLEN_OFFSET = 24;
export const MSG_CONTROL_OFFSET = 32;
export const MSG_CONTROLLEN_OFFSET = 40;
export const MSG_FLAGS_OFFSET = 48;
export const MSG_LEN_OFFSET = 56;

/** struct sockaddr_in / sockaddr_in6. */
export const SOCKADDR_IN_BYTES = 16;
export const SOCKADDR_IN6_BYTES = 28;
export const SOCKADDR_FAMILY_OFFSET = 0;
export const SOCKADDR_PORT_OFFSET = 2;
export const SOCKADDR_IN_ADDR_OFFSET = 4;
export const SOCKADDR_IN6_ADDR_OFFSET = 8;

/** struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } then data, 8-byte aligned. */
export const CMSG_HEADER_BYTES = 16;
export const CMSG_LEN_OFFSET = 0;
export const CMSG_LEVEL_OFFSET = 8;
export const CMSG_TYPE_OFFSET = 12;
/** struct in_pktinfo { int ipi_ifindex; struct in_addr ipi_spec_dst; struct in_addr ipi_addr; } */
export const IN_PKTINFO_SPEC_DST_OFFSET = 4;
export const IN_PKTINFO_ADDR_OFFSET = 8;
export const IN_PKTINFO_BYTES = 12;
/** struct in6_pktinfo { struct in6_addr ipi6_addr; int ipi6_ifindex; } */
export const IN6_PKTINFO_ADDR_OFFSET = 0;
export const IN6_PKTINFO_BYTES = 20;

const libc = koffi.load('libc.so.6');

/* eslint-disable @typescript-eslint/no-explicit-any -- koffi functions are untyped; each is wrapped below. */
const fns: Record<string, any> = {
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  setsockopt: libc.func('int setsockopt(int fd, int level, int name, void *value, uint32_t len)'),
  bind: libc.func('int bind(int fd, void *addr, uint32_t len)'),
  getsockname: libc.func('int getsockname(int fd, void *addr, _Inout_ uint32_t *len)'),
  recvmmsg: libc.func('int recvmmsg(int fd, intptr_t msgvec, uint32_t vlen, int flags, void *timeout)'),
  sendmmsg: libc.func('int sendmmsg(int fd, intptr_t msgvec, uint32_t vlen, int flags)'),
  read: libc.func('long read(int fd, intptr_t buf, size_t count)'),
  write: libc.func('long write(int fd, intptr_t buf, size_t count)'),
  writev: libc.func('long writev(int fd, intptr_t iov, int iovcnt)'),
  open: libc.func('int open(const char *path, int flags)'),
  close: libc.func('int close(int fd)'),
  ioctl: libc.func('int ioctl(int fd, unsigned long request, void *arg)'),
  ioctlValue: libc.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']),
  setns: libc.func('int setns(int fd, int nstype)'),
  strerror: libc.func('const char *strerror(int errnum)'),
};
/* eslint-enable @typescript-eslint/no-explicit-any */

export const sys = {
  socket: fns.socket as (domain: number, type: number, protocol: number) => number,
  setsockopt: fns.setsockopt as (fd: number, level: number, name: number, value: Uint8Array, len: number) => number,
  bind: fns.bind as (fd: number, addr: Uint8Array, len: number) => number,
  getsockname: fns.getsockname as (fd: number, addr: Uint8Array, len: Uint32Array) => number,
  recvmmsg: fns.recvmmsg as (fd: number, msgvec: number, vlen: number, flags: number, timeout: null) => number,
  sendmmsg: fns.sendmmsg as (fd: number, msgvec: number, vlen: number, flags: number) => number,
  read: fns.read as (fd: number, buf: number, count: number) => number,
  write: fns.write as (fd: number, buf: number, count: number) => number,
  writev: fns.writev as (fd: number, iov: number, iovcnt: number) => number,
  open: fns.open as (path: string, flags: number) => number,
  close: fns.close as (fd: number) => number,
  ioctl: fns.ioctl as (fd: number, request: number, arg: Uint8Array) => number,
  /** ioctl whose argument is a value, not a pointer (TUNSETOFFLOAD). */
  ioctlValue: fns.ioctlValue as (fd: number, request: number, arg: number) => number,
  setns: fns.setns as (fd: number, nstype: number) => number,
  strerror: fns.strerror as (errnum: number) => string,
};

export function errno(): number {
  return koffi.errno();
}

const addressCache = new WeakMap<ArrayBufferLike, number>();

/**
 * Address of `bytes[0]` in native memory. Reading `.buffer` first moves a small on-heap typed array's
 * storage off the V8 heap, after which it never moves.
 */
export function addressOf(bytes: Uint8Array): number {
  const backing = bytes.buffer;
  let base = addressCache.get(backing);
  if (base === undefined) {
    base = Number(koffi.address(new Uint8Array(backing, 0, 0)));
    addressCache.set(backing, base);
  }
  return base + bytes.byteOffset;
}

const TWO_POW_32 = 4294967296;

/** Store a 64-bit little-endian pointer or size held in a double (exact below 2^53). */
export function writeU64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value >>> 0, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_POW_32), offset + 4);
}

/** setsockopt with a 32-bit integer value; returns 0 or -1 (errno set). */
export function setIntOption(fd: number, level: number, name: number, value: number): number {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setInt32(0, value, true);
  return sys.setsockopt(fd, level, name, v, 4);
}
