/** The tunnel benchmark's table, ratios, Markdown report and SVG chart (no I/O: bench/tunnel.ts measures). */

export const KINDS = ['veth', 'strongswan', 'wireguard', 'project'] as const;
export type Kind = (typeof KINDS)[number];

export interface BenchRow {
  kind: Kind;
  tcp1Mbit: number;
  tcp4Mbit: number;
  udp64Pps: number;
  udp1400Pps: number;
  ping5Ms: number;
  ping500Ms: number;
  cpuSecPerGb: number;
}

interface Column {
  key: Exclude<keyof BenchRow, 'kind'>;
  title: string;
  /** Whether a larger figure is better (throughput) or a smaller one (latency, CPU). */
  higherIsBetter: boolean;
  digits: number;
}

export const COLUMNS: readonly Column[] = [
  { key: 'tcp1Mbit', title: 'TCP 1 stream Mbit/s', higherIsBetter: true, digits: 1 },
  { key: 'tcp4Mbit', title: 'TCP 4 streams Mbit/s', higherIsBetter: true, digits: 1 },
  { key: 'udp64Pps', title: 'UDP 64 B kpkt/s', higherIsBetter: true, digits: 1 },
  { key: 'udp1400Pps', title: 'UDP 1400 B kpkt/s', higherIsBetter: true, digits: 1 },
  { key: 'ping5Ms', title: 'ping 5/s ms', higherIsBetter: false, digits: 3 },
  { key: 'ping500Ms', title: 'ping 500/s ms', higherIsBetter: false, digits: 3 },
  { key: 'cpuSecPerGb', title: 'VPN CPU s/GB', higherIsBetter: false, digits: 1 },
];

/** A cell as shown: packet rates in thousands, NaN as "-". */
export function cell(c: Column, v: number): string {
  if (!Number.isFinite(v)) return '-';
  return (c.key.endsWith('Pps') ? v / 1000 : v).toFixed(c.digits);
}

/** `project` against `other`, per column: how many times better (above 1 is better, whatever the direction). */
export function ratio(c: Column, project: number, other: number): number {
  if (!Number.isFinite(project) || !Number.isFinite(other) || project <= 0 || other <= 0) return NaN;
  return c.higherIsBetter ? project / other : other / project;
}

function ratioRows(rows: readonly BenchRow[]): string[][] {
  const project = rows.find((r) => r.kind === 'project');
  if (project === undefined) return [];
  return rows
    .filter((r) => r.kind === 'strongswan' || r.kind === 'wireguard')
    .map((o) => [
      `project vs ${o.kind} (x better)`,
      ...COLUMNS.map((c) => {
        const x = ratio(c, project[c.key], o[c.key]);
        return Number.isFinite(x) ? x.toFixed(2) : '-';
      }),
    ]);
}

function grid(rows: readonly BenchRow[]): string[][] {
  return [
    ['kind', ...COLUMNS.map((c) => c.title)],
    ...rows.map((r) => [r.kind, ...COLUMNS.map((c) => cell(c, r[c.key]))]),
    ...ratioRows(rows),
  ];
}

/** Fixed-width text: one row per kind, then the project's ratios. */
export function textTable(rows: readonly BenchRow[]): string {
  const g = grid(rows);
  const widths = g[0]!.map((_, i) => Math.max(...g.map((r) => (r[i] ?? '').length)));
  return (
    g.map((r) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ')).join('\n') +
    '\n'
  );
}

export function markdownTable(rows: readonly BenchRow[]): string {
  const g = grid(rows);
  const line = (r: string[]): string => `| ${r.join(' | ')} |`;
  return (
    [line(g[0]!), line(g[0]!.map((_, i) => (i === 0 ? '---' : '---:'))), ...g.slice(1).map(line)].join('\n') + '\n'
  );
}

export function markdownReport(
  rows: readonly BenchRow[],
  meta: { date: string; machine: string; secs: number; chart: string },
): string {
  return `# Tunnel benchmark, ${meta.date}

Machine: ${meta.machine}. Two network namespaces on this one machine share its cores; ${meta.secs} s per
throughput row. \`veth\` is the bare link; strongSwan is charon with kernel-libipsec, wireguard-go is Debian's;
the project is \`tsipsec daemon\` with the same swanctl.conf files (AES-GCM-128). CPU is that of the VPN processes
on both sides during the one-stream TCP row.

${markdownTable(rows)}
![chart](${meta.chart})
`;
}

const BAR_W = 260;
const ROW_H = 18;
const PALETTE: Record<Kind, string> = {
  veth: '#9e9e9e',
  strongswan: '#d9822b',
  wireguard: '#5b8def',
  project: '#2e9e5b',
};

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** One panel per column, a bar per kind scaled to the column's largest figure, the figure written beside it. */
export function svgChart(rows: readonly BenchRow[]): string {
  const panelH = 22 + rows.length * ROW_H + 12;
  const width = 120 + BAR_W + 90;
  const parts: string[] = [];
  COLUMNS.forEach((c, p) => {
    const y0 = p * panelH;
    const max = Math.max(...rows.map((r) => (Number.isFinite(r[c.key]) ? r[c.key] : 0)), 1e-9);
    const hint = c.higherIsBetter ? 'higher is better' : 'lower is better';
    parts.push(`<text x="4" y="${y0 + 16}" font-weight="bold">${escapeXml(c.title)} (${hint})</text>`);
    rows.forEach((r, i) => {
      const y = y0 + 22 + i * ROW_H;
      const v = r[c.key];
      const w = Number.isFinite(v) ? Math.max(1, (v / max) * BAR_W) : 0;
      parts.push(`<text x="4" y="${y + 13}">${r.kind}</text>`);
      parts.push(
        `<rect x="110" y="${y + 2}" width="${w.toFixed(1)}" height="${ROW_H - 4}" fill="${PALETTE[r.kind]}"/>`,
      );
      parts.push(`<text x="${(116 + w).toFixed(1)}" y="${y + 13}">${cell(c, v)}</text>`);
    });
  });
  const height = COLUMNS.length * panelH;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
${parts.join('\n')}
</svg>
`;
}
