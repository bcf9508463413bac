/** The tunnel benchmark's report: cells, ratios in the right direction, the table and the chart. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COLUMNS, markdownTable, ratio, svgChart, textTable } from '../../bench/tunnel-report.js';
import type { BenchRow } from '../../bench/tunnel-report.js';

const row = (kind: BenchRow['kind'], tcp: number, ping: number, cpu: number): BenchRow => ({
  kind,
  tcp1Mbit: tcp,
  tcp4Mbit: tcp * 1.5,
  udp64Pps: 100_000,
  udp1400Pps: 50_000,
  ping5Ms: ping,
  ping500Ms: ping / 2,
  cpuSecPerGb: cpu,
});

const column = (key: string): (typeof COLUMNS)[number] => {
  const c = COLUMNS.find((x) => x.key === key);
  assert.ok(c, key);
  return c;
};

test('ratios: above 1 means the project is better, for throughput and for latency and CPU alike', () => {
  assert.equal(ratio(column('tcp1Mbit'), 900, 300), 3);
  assert.equal(ratio(column('ping5Ms'), 0.5, 1.0), 2);
  assert.equal(ratio(column('cpuSecPerGb'), 40, 10), 0.25);
  assert.ok(Number.isNaN(ratio(column('cpuSecPerGb'), NaN, 10)));
});

test('table: one row per kind, packet rates in thousands, then the project against each peer', () => {
  const rows = [row('strongswan', 300, 0.9, 30), row('wireguard', 450, 0.6, 20), row('project', 900, 0.45, 10)];
  const text = textTable(rows).split('\n');
  assert.match(text[0]!, /^kind\s+TCP 1 stream Mbit\/s/);
  assert.match(text[1]!, /^strongswan\s+300\.0\s+450\.0\s+100\.0\s+50\.0\s+0\.900\s+0\.450\s+30\.0$/);
  assert.match(
    text[4]!,
    /^project vs strongswan \(x better\)\s+3\.00\s+3\.00\s+1\.00\s+1\.00\s+2\.00\s+2\.00\s+3\.00$/,
  );
  assert.match(text[5]!, /^project vs wireguard \(x better\)\s+2\.00/);
  const md = markdownTable(rows);
  assert.match(md, /^\| kind \| TCP 1 stream Mbit\/s/);
  assert.match(md, /\| --- \| ---: \|/);
});

test('chart: a bar per kind and column, scaled to the column maximum; a missing figure draws nothing', () => {
  const svg = svgChart([row('strongswan', 300, 0.9, 30), row('project', 600, 0.45, NaN)]);
  assert.equal((svg.match(/<rect x="110"/g) ?? []).length, 2 * COLUMNS.length);
  assert.match(svg, /<rect x="110" y="\d+" width="260\.0" height="14" fill="#2e9e5b"\/>/);
  assert.match(svg, /<rect x="110" y="\d+" width="130\.0" height="14" fill="#d9822b"\/>/);
  assert.match(svg, /width="0\.0"[^>]*fill="#2e9e5b"\/>\n<text x="116\.0" y="\d+">-<\/text>/);
});
