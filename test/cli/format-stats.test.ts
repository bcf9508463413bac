/** `tsipsec stats` in plain words: the offload lines, on and off (with the reason the kernel gave). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatStats } from '../../src/cli/format.js';
import type { DaemonStats } from '../../src/control/schema.js';
import { sumGro } from '../../src/daemon/control-views.js';

const base: DaemonStats = {
  uptimeSec: 61,
  ikeSas: 1,
  childSas: 1,
  packetsIn: 10,
  packetsOut: 12,
  bytesIn: 1000,
  bytesOut: 1200,
  drops: {},
  ikeIn: 4,
  ikeOut: 4,
  ikeRetransmits: 0,
  ikeDrops: {},
  memoryRssBytes: 64 << 20,
};

test('stats: offloads on, with what they did', () => {
  const text = formatStats({
    ...base,
    offloads: {
      tun: {
        vnetHdr: true,
        tso: true,
        uso: true,
        gro: true,
        gsoReads: 3,
        gsoSegments: 90,
        groWrites: 2,
        groSegments: 40,
      },
      udpGso: { enabled: true, sends: 5, segments: 150 },
      udpGro: { enabled: true, receives: 7, datagrams: 301 },
    },
  });
  assert.match(text, /^TUN offloads TSO, USO, GRO: 3 super-packets read as 90 packets, 2 written from 40$/m);
  assert.match(text, /^UDP GSO on: 5 sends carried 150 ESP datagrams$/m);
  assert.match(text, /^UDP GRO on: 7 receives carried 301 datagrams$/m);
});

test('stats: offloads off say why; no offload lines when the daemon reports none', () => {
  const text = formatStats({
    ...base,
    offloads: {
      tun: {
        vnetHdr: false,
        tso: false,
        uso: false,
        gro: false,
        fallback: 'TUNSETOFFLOAD 0x67: errno 22',
        gsoReads: 0,
        gsoSegments: 0,
        groWrites: 0,
        groSegments: 0,
      },
      udpGso: { enabled: false, sends: 2, segments: 20, fallback: 'UDP_SEGMENT refused (errno 5)' },
      udpGro: { enabled: false, receives: 0, datagrams: 0, fallback: 'offloads turned off (--no-offload)' },
    },
  });
  assert.match(text, /^TUN offloads off \(TUNSETOFFLOAD 0x67: errno 22\)$/m);
  assert.match(text, /^UDP GSO off \(UDP_SEGMENT refused \(errno 5\)\), 2 sends before$/m);
  assert.match(text, /^UDP GRO off: offloads turned off \(--no-offload\)$/m);
  assert.doesNotMatch(formatStats(base), /offloads|GSO|GRO/);
});

test('stats: UDP GRO of the IPv4 and IPv6 endpoints adds up; off when either is, with its reason', () => {
  assert.equal(sumGro([undefined]), undefined);
  assert.deepEqual(
    sumGro([
      { enabled: true, receives: 3, datagrams: 90 },
      { enabled: true, receives: 1, datagrams: 2 },
    ]),
    { enabled: true, receives: 4, datagrams: 92 },
  );
  assert.deepEqual(
    sumGro([
      { enabled: true, receives: 3, datagrams: 90 },
      { enabled: false, receives: 0, datagrams: 0, fallback: 'setsockopt UDP_GRO refused: errno 92' },
    ]),
    { enabled: false, receives: 3, datagrams: 90, fallback: 'setsockopt UDP_GRO refused: errno 92' },
  );
});
