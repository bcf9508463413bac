/**
 * What the namespace, interop and capture tests need from the machine, each piece with the Debian package that
 * brings it. `scripts/setup.sh` installs them all; `test/prerequisites.test.ts` fails with one line per missing
 * piece, and `labSkip()` gives a namespace test its skip reason (a failure in strict runs, see test/run.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { CHARON } from './strongswan.js';

/** strongSwan's plugin folder on Debian. */
export const CHARON_PLUGIN_DIR = '/usr/lib/ipsec/plugins';

/**
 * The charon plugins the tests load (test/helpers/strongswan.ts), and the package of each: the standard and
 * extra plugin packages are recommendations of strongswan-charon, so a --no-install-recommends install lacks them.
 */
export const CHARON_PLUGINS: Readonly<Record<string, string>> = {
  random: 'libstrongswan',
  nonce: 'libstrongswan',
  sha1: 'libstrongswan',
  sha2: 'libstrongswan',
  hmac: 'libstrongswan',
  gmp: 'libstrongswan',
  x509: 'libstrongswan',
  pem: 'libstrongswan',
  pkcs1: 'libstrongswan',
  pubkey: 'libstrongswan',
  pkcs8: 'libstrongswan',
  mgf1: 'libstrongswan',
  revocation: 'libstrongswan',
  constraints: 'libstrongswan',
  kdf: 'libstrongswan',
  attr: 'libstrongswan',
  'kernel-netlink': 'libstrongswan',
  openssl: 'libstrongswan-standard-plugins',
  aesni: 'libstrongswan-standard-plugins',
  gcm: 'libstrongswan-standard-plugins',
  chapoly: 'libstrongswan-extra-plugins',
  curve25519: 'libstrongswan-extra-plugins',
  ctr: 'libstrongswan-extra-plugins',
  ccm: 'libstrongswan-extra-plugins',
  cmac: 'libstrongswan-extra-plugins',
  'socket-default': 'strongswan-libcharon',
  'kernel-libipsec': 'libcharon-extra-plugins',
  vici: 'strongswan-swanctl',
  'eap-mschapv2': 'libcharon-extauth-plugins',
  'eap-md5': 'libcharon-extra-plugins',
  'eap-identity': 'libcharon-extra-plugins',
  'eap-tls': 'libcharon-extra-plugins',
};

/** Programs the tests run, and their packages. */
export const PROGRAMS: Readonly<Record<string, string>> = {
  ip: 'iproute2',
  ping: 'iputils-ping',
  nft: 'nftables',
  conntrack: 'conntrack',
  iperf3: 'iperf3',
  tcpdump: 'tcpdump',
  tshark: 'tshark',
  openssl: 'openssl',
  swanctl: 'strongswan-swanctl',
  pki: 'strongswan-pki',
};

export interface Prerequisite {
  /** What is missing, in words: "charon has no curve25519 plugin". */
  readonly missing: string;
  /** How to get it: "apt-get install libstrongswan-extra-plugins". */
  readonly fix: string;
  present(): boolean;
}

function onPath(program: string): boolean {
  const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  return [...dirs, '/usr/sbin', '/sbin'].some((d) => {
    try {
      fs.accessSync(path.join(d, program), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function program(name: string): Prerequisite {
  const pkg = PROGRAMS[name];
  if (pkg === undefined) throw new Error(`no package known for program '${name}': add it to PROGRAMS`);
  return { missing: `${name} is not installed`, fix: `apt-get install ${pkg}`, present: () => onPath(name) };
}

export function charonPlugin(name: string): Prerequisite {
  const pkg = CHARON_PLUGINS[name];
  if (pkg === undefined) throw new Error(`no package known for charon plugin '${name}': add it to CHARON_PLUGINS`);
  return {
    missing: `charon has no ${name} plugin`,
    fix: `apt-get install ${pkg}`,
    present: () => fs.existsSync(path.join(CHARON_PLUGIN_DIR, `libstrongswan-${name}.so`)),
  };
}

/** /etc/protocols, by which iproute2 and tcpdump resolve protocol names (`ip xfrm ... proto udp`). */
const protocolsFile: Prerequisite = {
  missing: 'there is no /etc/protocols (iproute2 cannot resolve protocol names such as udp)',
  fix: 'apt-get install netbase',
  present: () => fs.existsSync('/etc/protocols'),
};

const charonItself: Prerequisite = {
  missing: `strongSwan's charon is not installed (${CHARON})`,
  fix: 'apt-get install strongswan-charon',
  present: () => fs.existsSync(CHARON),
};

/** Groups of prerequisites a test names. */
export const NEEDS = {
  iproute2: (): Prerequisite[] => [program('ip'), program('ping'), protocolsFile],
  strongswan: (): Prerequisite[] => [
    charonItself,
    program('swanctl'),
    ...Object.keys(CHARON_PLUGINS).map(charonPlugin),
  ],
  iperf3: (): Prerequisite[] => [program('iperf3')],
  nft: (): Prerequisite[] => [program('nft')],
  conntrack: (): Prerequisite[] => [program('conntrack')],
  tshark: (): Prerequisite[] => [program('tshark')],
  tcpdump: (): Prerequisite[] => [program('tcpdump')],
  openssl: (): Prerequisite[] => [program('openssl')],
  pki: (): Prerequisite[] => [program('pki')],
} as const;
export type Need = keyof typeof NEEDS;

/** Every prerequisite of the suite, once each. */
export function allPrerequisites(): Prerequisite[] {
  const seen = new Set<string>();
  const all = Object.values(NEEDS).flatMap((f) => f());
  return all.filter((p) => !seen.has(p.missing) && (seen.add(p.missing), true));
}

/** One line for a missing piece: "charon has no curve25519 plugin: apt-get install libstrongswan-extra-plugins". */
export function describeMissing(p: Prerequisite): string {
  return `${p.missing}: ${p.fix}`;
}

/** Whether this process may make namespaces and TUN devices, and why not. */
export function privilegeProblem(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, TUN, raw sockets)';
  if (!fs.existsSync('/dev/net/tun')) return 'no /dev/net/tun in this machine';
  return false;
}

/**
 * The `skip` option of a test needing programs only (no root): false, or one line naming what is missing and
 * the install command that brings it all.
 */
export function toolSkip(...needs: Need[]): string | false {
  const missing = needs.flatMap((n) => NEEDS[n]()).filter((p) => !p.present());
  if (missing.length === 0) return false;
  const packages = [...new Set(missing.map((p) => p.fix.replace(/^apt-get install /, '')))];
  return `missing: ${missing.map((p) => p.missing).join(', ')} (apt-get install ${packages.join(' ')}, or scripts/setup.sh)`;
}

/**
 * The `skip` option of a namespace test needing root, iproute2 and `needs`: false when everything is there,
 * otherwise one line naming what is missing and how to install it.
 */
export function labSkip(...needs: Need[]): string | false {
  const priv = privilegeProblem();
  if (priv) return priv;
  return toolSkip('iproute2', ...needs);
}
