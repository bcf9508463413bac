/**
 * Addresses and traffic selectors as swanctl.conf(5) writes them: `local_addrs`/`remote_addrs` take addresses,
 * DNS names, CIDR subnets, ranges `a-b` and `%any` (`%any4`, `%any6`); `local_ts`/`remote_ts` take a CIDR subnet, a
 * single address, a range or `dynamic`, each optionally followed by `[protocol/port]` where the protocol is a number,
 * a name or `any`, and the port a number, a range `a-b`, a service name, `any` or `opaque` (RFC 4301 OPAQUE).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ValueError, readCUnsigned } from './values.js';
import type { AddressSpec, IpAddress, IpFamily, TrafficSelector, TsAddress } from './swanctl-model.js';

/** An IP address literal (IPv6 zone ids are not allowed). */
export function parseIp(s: string): IpAddress | undefined {
  if (isIPv4(s)) return { family: 4, address: s };
  if (isIPv6(s) && !s.includes('%')) return { family: 6, address: s.toLowerCase() };
  return undefined;
}

function parsePrefix(s: string, family: IpFamily, whole: string): number {
  if (!/^[0-9]{1,3}$/.test(s) || Number(s) > (family === 4 ? 32 : 128)) {
    throw new ValueError(`bad prefix length in '${whole}'`, `use /0 to /${family === 4 ? 32 : 128}`);
  }
  return Number(s);
}

function parseCidrOrRange(s: string): TsAddress | undefined {
  const slash = s.indexOf('/');
  if (slash >= 0) {
    const ip = parseIp(s.slice(0, slash));
    if (ip === undefined) return undefined;
    return { kind: 'subnet', ...ip, prefix: parsePrefix(s.slice(slash + 1), ip.family, s) };
  }
  const dash = s.indexOf('-');
  if (dash >= 0) {
    const from = parseIp(s.slice(0, dash));
    const to = parseIp(s.slice(dash + 1));
    if (from === undefined || to === undefined) return undefined;
    if (from.family !== to.family) {
      throw new ValueError(`the range '${s}' mixes IPv4 and IPv6`, 'use two addresses of the same family');
    }
    if (compareIp(from, to) > 0) {
      throw new ValueError(`the range '${s}' ends before it starts`, 'write the lower address first');
    }
    return { kind: 'range', family: from.family, from: from.address, to: to.address };
  }
  const ip = parseIp(s);
  return ip === undefined ? undefined : { kind: 'subnet', ...ip, prefix: ip.family === 4 ? 32 : 128 };
}

/** One item of `local_addrs`/`remote_addrs`. */
export function parseAddressSpec(s: string): AddressSpec {
  const lower = s.toLowerCase();
  if (lower === '%any') return { kind: 'any' };
  if (lower === '%any4') return { kind: 'any', family: 4 };
  if (lower === '%any6') return { kind: 'any', family: 6 };
  if (s.includes('/') || (s.includes('-') && parseIp(s.slice(0, s.indexOf('-'))) !== undefined)) {
    const r = parseCidrOrRange(s);
    if (r === undefined || r.kind === 'dynamic')
      throw new ValueError(`'${s}' is not a subnet or range`, 'e.g. 192.0.2.0/24 or 192.0.2.1-192.0.2.9');
    return r;
  }
  const ip = parseIp(s);
  if (ip !== undefined) return { kind: 'address', ...ip };
  if (/^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/.test(s)) {
    if (/^[0-9.]+$/.test(s)) throw new ValueError(`'${s}' is not a valid IPv4 address`, 'check the address');
    return { kind: 'dns', name: s };
  }
  throw new ValueError(
    `'${s}' is not an address, subnet, range, DNS name or %any`,
    'e.g. 192.0.2.1 or vpn.example.org',
  );
}

/** IP protocol names a traffic selector may use (numbers from the IANA protocol registry, as /etc/protocols). */
export const IP_PROTOCOLS: Readonly<Record<string, number>> = {
  icmp: 1,
  igmp: 2,
  ipencap: 4,
  tcp: 6,
  udp: 17,
  ipv6: 41,
  gre: 47,
  esp: 50,
  ah: 51,
  'ipv6-icmp': 58,
  icmpv6: 58,
  ospf: 89,
  pim: 103,
  l2tp: 115,
  sctp: 132,
  udplite: 136,
};

/** Service names a port may use (IANA service registry, as /etc/services; names are looked up for any protocol). */
export const SERVICES: Readonly<Record<string, number>> = {
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  domain: 53,
  bootps: 67,
  bootpc: 68,
  http: 80,
  www: 80,
  ntp: 123,
  snmp: 161,
  bgp: 179,
  ldap: 389,
  https: 443,
  isakmp: 500,
  submission: 587,
  ldaps: 636,
  imaps: 993,
  'ipsec-nat-t': 4500,
  l2tp: 1701,
  radius: 1812,
  mysql: 3306,
  postgresql: 5432,
};

function parsePort(s: string, whole: string): number {
  const svc = SERVICES[s];
  if (svc !== undefined) return svc;
  const { value, rest } = /^[0-9]/.test(s) ? readCUnsigned(s) : { value: 0, rest: s };
  if (rest !== '' || value > 0xffff) {
    throw new ValueError(
      `bad port '${s}' in '${whole}'`,
      'use a number 0-65535, a range a-b, a service name or opaque',
    );
  }
  return value;
}

/** One item of `local_ts`/`remote_ts`, e.g. `192.0.2.0/24[tcp/http]`, `dynamic[udp/500]`, `2001:db8::/32`. */
export function parseTrafficSelector(s: string): TrafficSelector {
  let addrText = s;
  let protocol = 0;
  let portFrom = 0;
  let portTo = 0xffff;
  let opaque = false;
  const open = s.indexOf('[');
  if (open >= 0) {
    const close = s.lastIndexOf(']');
    if (close < open || close !== s.length - 1) {
      throw new ValueError(
        `'${s}' has an unclosed or misplaced '['`,
        'write subnet[protocol/port], e.g. 192.0.2.0/24[tcp/443]',
      );
    }
    addrText = s.slice(0, open);
    const inner = s.slice(open + 1, close);
    const slash = inner.indexOf('/');
    const protoText = slash >= 0 ? inner.slice(0, slash) : inner;
    const portText = slash >= 0 ? inner.slice(slash + 1) : '';
    if (protoText !== 'any' && protoText !== '') {
      const named = IP_PROTOCOLS[protoText];
      if (named !== undefined) protocol = named;
      else {
        const { value, rest } = /^[0-9]/.test(protoText) ? readCUnsigned(protoText) : { value: 0, rest: protoText };
        if (rest !== '' || value > 0xff) {
          throw new ValueError(
            `unknown protocol '${protoText}' in '${s}'`,
            'use a number 0-255 or tcp, udp, icmp, ...',
          );
        }
        protocol = value;
      }
    }
    if (portText === 'opaque') {
      opaque = true;
      portFrom = 0xffff;
      portTo = 0;
    } else if (portText !== '' && portText !== 'any') {
      const dash = portText.indexOf('-', 1);
      if (dash > 0 && SERVICES[portText] === undefined) {
        portFrom = parsePort(portText.slice(0, dash), s);
        portTo = parsePort(portText.slice(dash + 1), s);
        if (portTo < portFrom) throw new ValueError(`the port range in '${s}' ends before it starts`, 'write low-high');
      } else {
        portFrom = portTo = parsePort(portText, s);
      }
    }
  }
  let address: TsAddress;
  if (addrText === 'dynamic') address = { kind: 'dynamic' };
  else {
    const a = parseCidrOrRange(addrText);
    if (a === undefined) {
      throw new ValueError(
        `'${s}' is not a traffic selector`,
        'use a subnet (198.51.100.0/24), an address, a range (a-b) or dynamic, optionally with [protocol/port]',
      );
    }
    address = a;
  }
  return { address, protocol, portFrom, portTo, opaque, text: s };
}

/** Compare two addresses of the same family numerically. */
export function compareIp(a: IpAddress, b: IpAddress): number {
  const x = ipBytes(a);
  const y = ipBytes(b);
  for (let i = 0; i < x.length; i++) {
    const d = (x[i] as number) - (y[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** Network-order bytes of an address literal already validated by parseIp. */
export function ipBytes(a: IpAddress): number[] {
  if (a.family === 4) return a.address.split('.').map(Number);
  let text = a.address;
  const v4 = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [o1, o2, o3, o4] = v4.slice(2).map(Number) as [number, number, number, number];
    text = `${v4[1] as string}${((o1 << 8) | o2).toString(16)}:${((o3 << 8) | o4).toString(16)}`;
  }
  const groups = (p: string): number[] => (p === '' ? [] : p.split(':').map((g) => parseInt(g, 16)));
  const [head = '', rest] = text.split('::');
  const h = groups(head);
  const r = rest === undefined ? [] : groups(rest);
  const words = rest === undefined ? h : [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}
