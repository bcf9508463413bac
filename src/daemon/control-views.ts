/**
 * What the control commands show (`sas`, `conns`, `stats`), built from the engine's SAs, the installed
 * CHILD_SAs, the data plane's counters and the configuration. Shapes: src/control/schema.ts.
 */
import { EncrId, IntegId, nameOf } from '../crypto/ids.js';
import type { AddressSpec } from '../config/swanctl-model.js';
import type { ChildSaInfo, ConnectionInfo, DaemonStats, IkeSaInfo, PoolInfo } from '../control/schema.js';
import type { TunDevice, UdpEndpoint, UdpGroInfo, UdpGsoInfo } from '../io/types.js';
import { connectionCertificates, saCertificates } from '../pki/listing.js';
import type { IkeEngine } from '../ike/engine.js';
import { formatTs } from '../ike/traffic-selectors.js';
import type { KernelIpsec } from '../kernel/kernel-ipsec.js';
import type { ChildInstaller, ChildRecord } from './child-installer.js';
import type { DaemonConfig } from './config-map.js';
import type { VirtualIpPools } from '../pools/virtual-ip-pools.js';
import type { VirtualIps } from './virtual-ips.js';

/** What the daemon remembers of an established IKE_SA for listings (its state is the engine's). */
export interface IkeRecord {
  readonly id: number;
  readonly name: string;
  readonly localId: string;
  readonly remoteId: string;
  /** The peer's EAP identity, when it logged in with EAP (what `unique` compares then, as strongSwan). */
  readonly remoteEapId?: string;
  /** The peer's address (unique: a second IKE_SA from the same address may be a reauthentication). */
  readonly remoteAddress: string;
  readonly proposal: string;
  readonly natLocal: boolean;
  readonly natRemote: boolean;
  readonly establishedAtMs: number;
}

export function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** A CHILD_SA as listed, without live counters. */
export function childView(c: ChildRecord, nowMs: number): ChildSaInfo {
  const i = c.info;
  return {
    name: i.name,
    uniqueId: i.id,
    reqid: c.reqid,
    state: 'INSTALLED',
    mode: i.mode,
    protocol: i.protocol,
    encap: i.encap,
    spiIn: hex8(i.spiIn),
    spiOut: hex8(i.spiOut),
    encryption:
      i.protocol === 'ah'
        ? 'NONE'
        : `${nameOf(EncrId, i.encrId).replace(/^ENCR_/, '')}${i.encrKeyBits ? '_' + i.encrKeyBits : ''}`,
    integrity: i.integId === 0 ? null : nameOf(IntegId, i.integId).replace(/^AUTH_/, ''),
    esn: i.esn,
    localTs: i.tsLocal.map(formatTs),
    remoteTs: i.tsRemote.map(formatTs),
    in: { bytes: 0, packets: 0 },
    out: { bytes: 0, packets: 0 },
    drops: {},
    installedSecAgo: (nowMs - c.installedAtMs) / 1000,
    rekeyInSec: null,
    expiresInSec: null,
  };
}

async function childLive(kernel: KernelIpsec, c: ChildRecord, nowMs: number): Promise<ChildSaInfo> {
  const info = childView(c, nowMs);
  const i = c.info;
  try {
    const inUse = await kernel.querySa({ protocol: i.protocol, spi: i.spiIn, dst: i.local.address });
    const outUse = await kernel.querySa({ protocol: i.protocol, spi: i.spiOut, dst: i.remote.address });
    info.in = { bytes: inUse.bytes, packets: inUse.packets };
    info.out = { bytes: outUse.bytes, packets: outUse.packets };
    const drops: Record<string, number> = {};
    for (const use of [inUse, outUse])
      for (const [k, v] of Object.entries(use.drops)) if (v > 0) drops[k] = (drops[k] ?? 0) + v;
    info.drops = drops;
  } catch {
    // The SA just went away: listed without counters.
  }
  return info;
}

export interface SaSources {
  readonly engine: IkeEngine;
  readonly established: ReadonlyMap<number, IkeRecord>;
  readonly children: ChildInstaller;
  readonly kernel: KernelIpsec;
  readonly vips: VirtualIps;
}

export async function listSas(src: SaSources, nowMs: number): Promise<{ ikeSas: IkeSaInfo[] }> {
  const secondsUntil = (atMs: number): number | null => (atMs > 0 ? Math.max(0, (atMs - nowMs) / 1000) : null);
  const out: IkeSaInfo[] = [];
  for (const sa of src.engine.ikeSas()) {
    const s = src.established.get(sa.id);
    const children: ChildSaInfo[] = [];
    for (const c of src.children.all()) {
      if (c.ikeSaId !== sa.id) continue;
      const info = await childLive(src.kernel, c, nowMs);
      const live = sa.children.find((x) => x.id === c.info.id);
      if (live !== undefined) {
        info.state = live.state;
        info.rekeyInSec = secondsUntil(live.rekeyAtMs);
        info.expiresInSec = secondsUntil(live.expireAtMs);
      }
      children.push(info);
    }
    out.push({
      name: s?.name ?? sa.conn?.name ?? '',
      uniqueId: sa.id,
      state: sa.state,
      initiator: sa.initiator,
      localAddr: sa.local.address,
      localPort: sa.local.port,
      remoteAddr: sa.remote.address,
      remotePort: sa.remote.port,
      localId: s?.localId ?? '',
      remoteId: s?.remoteId ?? '',
      spiI: sa.spiI.toString('hex'),
      spiR: sa.spiR.toString('hex'),
      proposal: s?.proposal ?? '',
      natLocal: s?.natLocal ?? false,
      natRemote: s?.natRemote ?? false,
      establishedSecAgo: s === undefined ? null : (nowMs - s.establishedAtMs) / 1000,
      rekeyInSec: secondsUntil(sa.rekeyAtMs),
      children,
      localVips: [...(src.vips.get(sa.id)?.local ?? [])],
      remoteVips: [...(src.vips.get(sa.id)?.remote ?? [])],
      dns: [...(src.vips.get(sa.id)?.dns ?? [])],
      localEapId: sa.localEapId ?? null,
      remoteEapId: sa.remoteEapId ?? null,
      ...saCertificates(sa),
    });
  }
  return { ikeSas: out };
}

function addrText(a: AddressSpec): string {
  switch (a.kind) {
    case 'any':
      return '%any';
    case 'address':
      return a.address;
    case 'subnet':
      return `${a.address}/${a.prefix}`;
    case 'range':
      return `${a.from}-${a.to}`;
    case 'dns':
      return a.name;
  }
}

export function listConns(config: DaemonConfig): { connections: ConnectionInfo[] } {
  return {
    connections: config.connections.map((c) => ({
      name: c.ike.name,
      localAddrs: c.source.localAddrs.map(addrText),
      remoteAddrs: c.source.remoteAddrs.map(addrText),
      version: c.source.version,
      proposals: c.ike.proposals.slice(),
      localAuth: c.source.local[0]?.auth ?? 'psk',
      localId: c.source.local[0]?.id ?? c.localAddr ?? '%any',
      remoteAuth: c.source.remote[0]?.auth ?? 'psk',
      remoteId: c.source.remote[0]?.id ?? '%any',
      ...connectionCertificates(c.ike),
      children: c.source.children.map((ch) => ({
        name: ch.name,
        mode: ch.mode,
        localTs: ch.localTs.map((t) => t.text),
        remoteTs: ch.remoteTs.map((t) => t.text),
        espProposals: ch.espProposals.map((p) => p.text),
        ahProposals: ch.ahProposals.map((p) => p.text),
        startAction: ch.startAction,
      })),
    })),
  };
}

/** Every pool with its leases (`tsipsec pools`). */
export function listPools(pools: VirtualIpPools, config: DaemonConfig): { pools: PoolInfo[] } {
  const conf = new Map(config.pools.map((p) => [p.name, p]));
  return {
    pools: pools.list().map((p) => ({
      name: p.name,
      addrs: conf.get(p.name)?.addrs ?? '',
      family: p.family,
      first: p.first,
      last: p.last,
      size: p.size,
      online: p.online,
      offline: p.offline,
      dns: (conf.get(p.name)?.dns ?? []).map((d) => d.address),
      leases: p.leases.map((l) => ({ address: l.address, identity: l.identity, status: l.status })),
    })),
  };
}

/** Counters the daemon keeps beside the SAs. */
export interface StatsSources {
  readonly uptimeSec: number;
  readonly childSas: number;
  readonly ikeIn: number;
  readonly ikeOut: number;
  readonly dataplaneDrops: Readonly<Record<string, number>>;
  readonly offloads?: DaemonStats['offloads'];
}

export function daemonStats(sas: { ikeSas: IkeSaInfo[] }, engine: IkeEngine, extra: StatsSources): DaemonStats {
  const drops: Record<string, number> = {};
  let [packetsIn, packetsOut, bytesIn, bytesOut] = [0, 0, 0, 0];
  for (const s of sas.ikeSas)
    for (const c of s.children) {
      packetsIn += c.in.packets;
      packetsOut += c.out.packets;
      bytesIn += c.in.bytes;
      bytesOut += c.out.bytes;
      for (const [k, v] of Object.entries(c.drops)) drops[k] = (drops[k] ?? 0) + v;
    }
  for (const [k, v] of Object.entries(extra.dataplaneDrops)) if (v > 0) drops[k] = (drops[k] ?? 0) + v;
  return {
    uptimeSec: extra.uptimeSec,
    ikeSas: sas.ikeSas.length,
    childSas: extra.childSas,
    packetsIn,
    packetsOut,
    bytesIn,
    bytesOut,
    drops,
    ikeIn: extra.ikeIn,
    ikeOut: extra.ikeOut,
    ikeRetransmits: engine.retransmits,
    ikeDrops: Object.fromEntries(Object.entries(engine.drops).filter(([, n]) => n > 0)),
    memoryRssBytes: process.memoryUsage.rss(),
    ...(extra.offloads !== undefined ? { offloads: extra.offloads } : {}),
  };
}

/** The data plane's offloads for `stats`: the TUN's, and UDP GSO and GRO over the ESP-in-UDP endpoints. */
export function offloadStats(tun: TunDevice, natT: readonly UdpEndpoint[]): DaemonStats['offloads'] {
  const udpGso = sumGso(natT.map((e) => e.gsoInfo?.()));
  const udpGro = sumGro(natT.map((e) => e.groInfo?.()));
  const t = tun.offloadInfo?.();
  return {
    ...(t !== undefined ? { tun: t } : {}),
    ...(udpGso !== undefined ? { udpGso } : {}),
    ...(udpGro !== undefined ? { udpGro } : {}),
  };
}

/** UDP GRO over the ESP-in-UDP endpoints of both families: on while every one is, with their receives added. */
export function sumGro(infos: readonly (UdpGroInfo | undefined)[]): UdpGroInfo | undefined {
  const known = infos.filter((i): i is UdpGroInfo => i !== undefined);
  if (known.length === 0) return undefined;
  const fallback = known.find((i) => i.fallback !== undefined)?.fallback;
  return {
    enabled: known.every((i) => i.enabled),
    receives: known.reduce((n, i) => n + i.receives, 0),
    datagrams: known.reduce((n, i) => n + i.datagrams, 0),
    ...(fallback !== undefined ? { fallback } : {}),
  };
}

/** UDP GSO over the ESP-in-UDP endpoints of both families: on while every one is, with their sends added. */
function sumGso(infos: readonly (UdpGsoInfo | undefined)[]): UdpGsoInfo | undefined {
  const known = infos.filter((i): i is UdpGsoInfo => i !== undefined);
  if (known.length === 0) return undefined;
  const fallback = known.find((i) => i.fallback !== undefined)?.fallback;
  return {
    enabled: known.every((i) => i.enabled),
    sends: known.reduce((n, i) => n + i.sends, 0),
    segments: known.reduce((n, i) => n + i.segments, 0),
    ...(fallback !== undefined ? { fallback } : {}),
  };
}
