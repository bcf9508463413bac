/**
 * Two complete peers over in-memory twins (STYLE.md point 5): each has a MemoryTun, a raw ESP socket, raw
 * AH sockets (the IPv4 one header-included) and a UDP 4500 endpoint on one MemoryNetwork, and a UserspaceDataplane with SAs and policies installed through
 * the kernel boundary, with fixed test keys. Used by the data-plane tests and bench/dataplane.ts.
 *
 *   A's site 192.0.2.0/25 -- A 203.0.113.1 ==== ESP ==== B 203.0.113.2 -- B's site 198.51.100.0/24
 *   (IPv6: 2001:db8:a::/48 -- 2001:db8::1 ==== 2001:db8::2 -- 2001:db8:b::/48)
 */

import { PACKET_HEADROOM } from '../../src/common/packet-buffer.js';
import { EncrId, IntegId } from '../../src/crypto/ids.js';
import { createTestRng } from '../../src/crypto/rng.js';
import { MemoryNetwork } from '../../src/io/memory-network.js';
import type { MemoryPacketSocket, MemoryUdpEndpoint } from '../../src/io/memory-network.js';
import { MemoryTun } from '../../src/io/memory-tun.js';
import type { AcquireEvent, AddSaArgs, ExpireEvent, MappingEvent } from '../../src/kernel/kernel-ipsec.js';
import type { SaLifetime } from '../../src/sad/security-association.js';
import type { SelectorInput } from '../../src/spd/selector.js';
import { UserspaceDataplane } from '../../src/dataplane/userspace-dataplane.js';

export const SITE_A = '192.0.2.0/25';
export const SITE_B = '198.51.100.0/24';
export const HOST_A = '192.0.2.10';
export const HOST_B = '198.51.100.20';
export const OUTER_A = '203.0.113.1';
export const OUTER_B = '203.0.113.2';
export const SITE6_A = '2001:db8:a::/48';
export const SITE6_B = '2001:db8:b::/48';
export const HOST6_A = '2001:db8:a::10';
export const HOST6_B = '2001:db8:b::20';
export const OUTER6_A = '2001:db8::1';
export const OUTER6_B = '2001:db8::2';

export const SPI_A_TO_B = 0xa0000001;
export const SPI_B_TO_A = 0xb0000001;
export const REQID = 1;

/** Fixed test keymat: AES-128-GCM-16 key || salt (RFC 4106 8.1), one per direction. */
export const KEY_A_TO_B = Buffer.from('000102030405060708090a0b0c0d0e0f' + 'a0a1a2a3', 'hex');
export const KEY_B_TO_A = Buffer.from('101112131415161718191a1b1c1d1e1f' + 'b0b1b2b3', 'hex');
/** AES-128-CBC + HMAC-SHA2-256-128 keys for the non-AEAD variant. */
export const CBC_KEY = Buffer.from('202122232425262728292a2b2c2d2e2f', 'hex');
export const HMAC_KEY = Buffer.from('303132333435363738393a3b3c3d3e3f303132333435363738393a3b3c3d3e3f', 'hex');

export interface Upcalls {
  readonly acquires: AcquireEvent[];
  readonly expires: ExpireEvent[];
  readonly mappings: MappingEvent[];
}

export interface Peer {
  readonly name: string;
  readonly tun: MemoryTun;
  readonly raw: MemoryPacketSocket;
  /** Raw protocol-51 socket of the outer family (IPv4: header-included). */
  readonly ah: MemoryPacketSocket;
  readonly udp: MemoryUdpEndpoint;
  readonly dp: UserspaceDataplane;
  readonly upcalls: Upcalls;
  readonly outer: string;
}

export interface PeersOptions {
  /** Outer (tunnel endpoint) family. */
  readonly family?: 4 | 6;
  /** Inner (site) family in tunnel mode; default the outer one. */
  readonly innerFamily?: 4 | 6;
  readonly mode?: 'tunnel' | 'transport';
  /** ESP-in-UDP on 4500 instead of raw ESP. */
  readonly encap?: boolean;
  readonly cipher?: 'gcm' | 'cbc';
  /** Protocol of the SAs (default ESP). */
  readonly protocol?: 'esp' | 'ah';
  /** AH integrity algorithm (default HMAC-SHA2-256-128). */
  readonly ahInteg?: 'hmac' | 'gmac';
  readonly esn?: boolean;
  readonly lifetime?: SaLifetime;
  /** Install the SAs (default true); false leaves only the policies (trap tests). */
  readonly installSas?: boolean;
  readonly tunMtu?: number;
  readonly batchSize?: number;
  readonly nowMs?: () => number;
}

export function makePeer(net: MemoryNetwork, name: string, family: 4 | 6, outer: string, o: PeersOptions): Peer {
  const tun = new MemoryTun({
    name: `tun-${name}`,
    mtu: o.tunMtu ?? 1500,
    // AH over IPv6 seals a whole outer header plus the AH in front (up to 96 bytes): the daemon's 128.
    headroom: o.protocol === 'ah' ? PACKET_HEADROOM : 64,
    tailroom: 64,
    batchSize: o.batchSize ?? 32,
  });
  const raw = net.raw(family, outer, 50, o.batchSize ?? 32);
  const udp = net.udp(family, outer, 4500, { batchSize: o.batchSize ?? 32 });
  const ah = net.raw(family, outer, 51, o.batchSize ?? 32, { headerIncluded: family === 4 });
  const dp = new UserspaceDataplane({
    tun,
    espSockets: { [family]: raw },
    ahSockets: { [family]: ah },
    natTEndpoints: { [family]: udp },
    rng: createTestRng(`dataplane ${name}`),
    ...(o.nowMs !== undefined ? { nowMs: o.nowMs } : {}),
  });
  const upcalls: Upcalls = { acquires: [], expires: [], mappings: [] };
  dp.setListener({
    acquire: (e) => upcalls.acquires.push(e),
    expire: (e) => upcalls.expires.push(e),
    mapping: (e) => upcalls.mappings.push(e),
  });
  dp.start();
  udp.start({ ike: () => undefined, esp: dp.espReceiver });
  return { name, tun, raw, ah, udp, dp, upcalls, outer };
}

/** The SA arguments for one direction, as an IKE daemon would pass them. */
export function saArgs(
  spi: number,
  inbound: boolean,
  src: string,
  dst: string,
  selectors: SelectorInput[],
  o: PeersOptions,
  key: Buffer,
): AddSaArgs {
  const mode = o.mode ?? 'tunnel';
  const algs =
    o.protocol === 'ah'
      ? {
          integ:
            o.ahInteg === 'gmac'
              ? { id: IntegId.AUTH_AES_128_GMAC, key } // AES-128 key || 4-byte salt (RFC 4543 3.2)
              : { id: IntegId.AUTH_HMAC_SHA2_256_128, key: HMAC_KEY },
        }
      : o.cipher === 'cbc'
        ? {
            enc: { id: EncrId.ENCR_AES_CBC, key: CBC_KEY },
            integ: { id: IntegId.AUTH_HMAC_SHA2_256_128, key: HMAC_KEY },
          }
        : { enc: { id: EncrId.ENCR_AES_GCM_16, key } };
  return {
    spi,
    protocol: o.protocol ?? 'esp',
    mode,
    inbound,
    src,
    dst,
    reqid: REQID,
    ...algs,
    replayWindow: 64,
    esn: o.esn ?? false,
    selectors,
    ...(o.encap === true ? { encap: { sport: 4500, dport: 4500 } } : {}),
    ...(o.lifetime !== undefined ? { lifetime: o.lifetime } : {}),
  };
}

export interface Peers {
  readonly net: MemoryNetwork;
  readonly a: Peer;
  readonly b: Peer;
  /** Selector of each side (local, remote) as installed. */
  readonly selA: SelectorInput;
  readonly selB: SelectorInput;
  /** Install the SAs of both sides (if `installSas: false` was given). */
  installSas(): Promise<void>;
  close(): Promise<void>;
}

export async function makePeers(o: PeersOptions = {}): Promise<Peers> {
  const family = o.family ?? 4;
  const net = new MemoryNetwork();
  const outerA = family === 4 ? OUTER_A : OUTER6_A;
  const outerB = family === 4 ? OUTER_B : OUTER6_B;
  const a = makePeer(net, 'a', family, outerA, o);
  const b = makePeer(net, 'b', family, outerB, o);
  const transport = o.mode === 'transport';
  const inner = o.innerFamily ?? family;
  const siteA = transport ? outerA : inner === 4 ? SITE_A : SITE6_A;
  const siteB = transport ? outerB : inner === 4 ? SITE_B : SITE6_B;
  const selA: SelectorInput = { local: siteA, remote: siteB };
  const selB: SelectorInput = { local: siteB, remote: siteA };
  for (const [p, sel] of [
    [a, selA],
    [b, selB],
  ] as const) {
    await p.dp.addPolicy({ direction: 'out', selector: sel, action: 'protect', reqid: REQID });
    await p.dp.addPolicy({ direction: 'in', selector: sel, action: 'protect', reqid: REQID });
  }
  const installSas = async (): Promise<void> => {
    await a.dp.addSa(saArgs(SPI_B_TO_A, true, outerB, outerA, [selA], o, KEY_B_TO_A));
    await b.dp.addSa(saArgs(SPI_A_TO_B, true, outerA, outerB, [selB], o, KEY_A_TO_B));
    await a.dp.addSa(saArgs(SPI_A_TO_B, false, outerA, outerB, [selA], o, KEY_A_TO_B));
    await b.dp.addSa(saArgs(SPI_B_TO_A, false, outerB, outerA, [selB], o, KEY_B_TO_A));
  };
  if (o.installSas !== false) await installSas();
  return {
    net,
    a,
    b,
    selA,
    selB,
    installSas,
    close: async () => {
      for (const p of [a, b]) {
        await p.tun.close();
        await p.raw.close();
        await p.ah.close();
        await p.udp.close();
      }
    },
  };
}

/** Resolve with the next `count` packets the TUN writes (or reject after `ms`). */
export function nextWrites(tun: MemoryTun, count = 1, ms = 2000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      tun.onWrite = undefined;
      reject(new Error(`${tun.name}: ${got.length} of ${count} packets written within ${ms} ms`));
    }, ms);
    tun.onWrite = (p) => {
      got.push(p);
      if (got.length === count) {
        clearTimeout(timer);
        tun.onWrite = undefined;
        resolve(got);
      }
    };
  });
}

/** Let queued setImmediate deliveries run (the memory twins deliver on later turns). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}
