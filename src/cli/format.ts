import type { ChildSaInfo, ConnectionInfo, DaemonStats, IkeSaInfo, PoolInfo } from '../control/schema.js';

/** 3725 -> "1h2m5s"; null -> "-". */
export function duration(sec: number | null): string {
  if (sec === null) return '-';
  let s = Math.max(0, Math.round(sec));
  const parts: string[] = [];
  for (const [unit, n] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (s >= n) {
      parts.push(`${Math.floor(s / n)}${unit}`);
      s %= n;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.join('');
}

function childLines(c: ChildSaInfo): string[] {
  const kind = `${c.mode.toUpperCase()}${c.encap ? '-in-UDP' : ''}`;
  const alg = `${c.protocol.toUpperCase()}:${c.encryption}${c.integrity ? '/' + c.integrity : ''}${c.esn ? '/ESN' : ''}`;
  const lines = [
    `  ${c.name}: #${c.uniqueId}, reqid ${c.reqid}, ${c.state}, ${kind}, ${alg}`,
    `    installed ${duration(c.installedSecAgo)} ago, rekeying in ${duration(c.rekeyInSec)}, expires in ${duration(c.expiresInSec)}`,
    `    in  ${c.spiIn}, ${String(c.in.bytes).padStart(10)} bytes, ${String(c.in.packets).padStart(8)} packets`,
    `    out ${c.spiOut}, ${String(c.out.bytes).padStart(10)} bytes, ${String(c.out.packets).padStart(8)} packets`,
    `    local  ${c.localTs.join(' ')}`,
    `    remote ${c.remoteTs.join(' ')}`,
  ];
  const drops = Object.entries(c.drops).filter(([, n]) => n > 0);
  if (drops.length > 0) lines.push(`    drops: ${drops.map(([r, n]) => `${r} ${n}`).join(', ')}`);
  return lines;
}

/** The SAs in plain words, close to `swanctl --list-sas`. */
export function formatSas(sas: readonly IkeSaInfo[]): string {
  if (sas.length === 0) return 'no IKE_SAs\n';
  const out: string[] = [];
  for (const s of sas) {
    out.push(
      `${s.name}: #${s.uniqueId}, ${s.state}, IKEv2, ${s.spiI}_i${s.initiator ? '*' : ''} ${s.spiR}_r${s.initiator ? '' : '*'}`,
    );
    out.push(
      `  local  '${s.localId}' @ ${s.localAddr}[${s.localPort}]${eapText(s.localEapId)}${vipText(s.localVips)}${s.natLocal ? ' (behind NAT)' : ''}`,
    );
    out.push(
      `  remote '${s.remoteId}' @ ${s.remoteAddr}[${s.remotePort}]${eapText(s.remoteEapId)}${vipText(s.remoteVips)}${s.natRemote ? ' (behind NAT)' : ''}`,
    );
    if (s.dns.length > 0) out.push(`  dns ${s.dns.join(', ')}`);
    out.push(`  ${s.proposal}`);
    out.push(`  established ${duration(s.establishedSecAgo)} ago, rekeying in ${duration(s.rekeyInSec)}`);
    for (const c of s.children) out.push(...childLines(c));
  }
  return out.join('\n') + '\n';
}

/** ` EAP: 'carol'` for an EAP identity, as swanctl --list-sas writes it; '' for none. */
function eapText(id: string | null | undefined): string {
  return id === null || id === undefined ? '' : ` EAP: '${id}'`;
}

/** ` [198.51.100.129 2001:db8:1::1]` for virtual IPs, as swanctl --list-sas writes them; '' for none. */
function vipText(vips: readonly string[]): string {
  return vips.length > 0 ? ` [${vips.join(' ')}]` : '';
}

/** `tsipsec pools`: one line per pool (online / offline / size), its leases below, as `swanctl --list-pools --leases`. */
export function formatPools(pools: readonly PoolInfo[]): string {
  if (pools.length === 0) return 'no pools loaded\n';
  const width = Math.max(...pools.map((p) => p.name.length));
  const out: string[] = [];
  for (const p of pools) {
    out.push(`${p.name.padEnd(width)}  ${p.addrs.padEnd(20)} ${p.online} / ${p.offline} / ${p.size}`);
    for (const l of p.leases) out.push(`  ${l.address.padEnd(39)} ${l.status.padEnd(7)} '${l.identity}'`);
  }
  return out.join('\n') + '\n';
}

export function formatConns(conns: readonly ConnectionInfo[]): string {
  if (conns.length === 0) return 'no connections loaded\n';
  const out: string[] = [];
  for (const c of conns) {
    out.push(
      `${c.name}: IKEv${c.version === 0 ? '1/2' : c.version}, ${c.localAddrs.join(',')} === ${c.remoteAddrs.join(',')}`,
    );
    out.push(`  proposals: ${c.proposals.join(', ')}`);
    out.push(`  local:  ${c.localAuth} '${c.localId}'`);
    out.push(`  remote: ${c.remoteAuth} '${c.remoteId}'`);
    for (const ch of c.children) {
      out.push(`  ${ch.name}: ${ch.mode.toUpperCase()}, start_action ${ch.startAction}`);
      if (ch.espProposals.length > 0) out.push(`    esp_proposals: ${ch.espProposals.join(', ')}`);
      if (ch.ahProposals.length > 0) out.push(`    ah_proposals: ${ch.ahProposals.join(', ')}`);
      out.push(`    local:  ${ch.localTs.join(' ')}`);
      out.push(`    remote: ${ch.remoteTs.join(' ')}`);
    }
  }
  return out.join('\n') + '\n';
}

export function formatStats(s: DaemonStats): string {
  const drops = Object.entries(s.drops).filter(([, n]) => n > 0);
  return (
    [
      `uptime ${duration(s.uptimeSec)}, ${s.ikeSas} IKE_SA(s), ${s.childSas} CHILD_SA(s), rss ${(s.memoryRssBytes / 1048576).toFixed(1)} MiB`,
      `packets in ${s.packetsIn} (${s.bytesIn} bytes), out ${s.packetsOut} (${s.bytesOut} bytes)`,
      `IKE messages in ${s.ikeIn}, out ${s.ikeOut}, retransmits ${s.ikeRetransmits}` +
        (Object.keys(s.ikeDrops).length > 0
          ? `, dropped ${Object.entries(s.ikeDrops)
              .map(([r, n]) => `${r} ${n}`)
              .join(', ')}`
          : ''),
      `drops: ${drops.length === 0 ? 'none' : drops.map(([r, n]) => `${r} ${n}`).join(', ')}`,
      ...formatOffloads(s.offloads),
    ].join('\n') + '\n'
  );
}

function formatOffloads(o: DaemonStats['offloads']): string[] {
  const lines: string[] = [];
  const t = o?.tun;
  if (t !== undefined) {
    const on = [t.tso && 'TSO', t.uso && 'USO', t.gro && 'GRO'].filter(Boolean).join(', ');
    lines.push(
      t.vnetHdr
        ? `TUN offloads ${on}: ${t.gsoReads} super-packets read as ${t.gsoSegments} packets, ${t.groWrites} written from ${t.groSegments}`
        : `TUN offloads off${t.fallback !== undefined ? ` (${t.fallback})` : ''}`,
    );
  }
  const u = o?.udpGso;
  if (u !== undefined) {
    lines.push(
      u.enabled
        ? `UDP GSO on: ${u.sends} sends carried ${u.segments} ESP datagrams`
        : `UDP GSO off${u.fallback !== undefined ? ` (${u.fallback})` : ''}${u.sends > 0 ? `, ${u.sends} sends before` : ''}`,
    );
  }
  const g = o?.udpGro;
  if (g !== undefined) {
    lines.push(
      g.enabled
        ? `UDP GRO on: ${g.receives} receives carried ${g.datagrams} datagrams`
        : `UDP GRO off: ${g.fallback ?? 'not requested'}`,
    );
  }
  return lines;
}
