/**
 * The project against itself in two namespaces: tunnel and transport mode, IPv4 and IPv6 inside and
 * outside, raw ESP (IP protocol 50) and ESP in UDP 4500. A ping and a short iperf3 run go through each
 * tunnel; the SA counters on both sides must agree with what was sent. ESP in UDP is received with UDP GRO (the
 * sender's UDP GSO runs arrive whole and are split by the receiver), and once more with `--no-offload` on both
 * sides (plain receives, the reason shown by `stats`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../helpers/lab.js';
import { labSkip } from '../helpers/prerequisites.js';
import type { LabHost } from '../helpers/lab.js';
import { CLI, TsipsecPeer } from '../helpers/tsipsec.js';
import { pskConfig } from '../helpers/swanctl.js';
import type { DaemonStats, IkeSaInfo } from '../../src/control/schema.js';

const skip = labSkip('iperf3');

interface Scenario {
  name: string;
  outer: 4 | 6;
  inner: 4 | 6;
  mode: 'tunnel' | 'transport';
  encap: boolean;
  esp: string;
  /** Integrity-only AH instead of ESP (ah_proposals), never encapsulated. */
  ah?: string;
  /** Both daemons started with `--no-offload`. */
  noOffload?: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: 'tunnel IPv4 in IPv4, raw ESP', outer: 4, inner: 4, mode: 'tunnel', encap: false, esp: 'aes128gcm16' },
  { name: 'tunnel IPv4 in IPv4, ESP in UDP', outer: 4, inner: 4, mode: 'tunnel', encap: true, esp: 'aes256gcm16' },
  { name: 'tunnel IPv6 in IPv6, raw ESP', outer: 6, inner: 6, mode: 'tunnel', encap: false, esp: 'chacha20poly1305' },
  { name: 'tunnel IPv4 in IPv6, raw ESP', outer: 6, inner: 4, mode: 'tunnel', encap: false, esp: 'aes128-sha256' },
  { name: 'tunnel IPv6 in IPv6, ESP in UDP', outer: 6, inner: 6, mode: 'tunnel', encap: true, esp: 'aes128gcm16' },
  { name: 'transport over IPv4, raw ESP', outer: 4, inner: 4, mode: 'transport', encap: false, esp: 'aes128gcm16' },
  { name: 'transport over IPv6, raw ESP', outer: 6, inner: 6, mode: 'transport', encap: false, esp: 'aes256-sha512' },
  { name: 'transport over IPv4, ESP in UDP', outer: 4, inner: 4, mode: 'transport', encap: true, esp: 'aes128gcm16' },
  // IPv6 transport over UDP GRO: the rebuilt header does not fit the datagram's own bytes (a spill buffer).
  { name: 'transport over IPv6, ESP in UDP', outer: 6, inner: 6, mode: 'transport', encap: true, esp: 'aes128gcm16' },
  {
    name: 'tunnel IPv4 in IPv4, ESP in UDP, --no-offload',
    outer: 4,
    inner: 4,
    mode: 'tunnel',
    encap: true,
    esp: 'aes128gcm16',
    noOffload: true,
  },
  { name: 'AH tunnel IPv4 in IPv4', outer: 4, inner: 4, mode: 'tunnel', encap: false, esp: '', ah: 'sha256' },
  { name: 'AH transport over IPv4', outer: 4, inner: 4, mode: 'transport', encap: false, esp: '', ah: 'sha384' },
  { name: 'AH tunnel IPv6 in IPv6', outer: 6, inner: 6, mode: 'tunnel', encap: false, esp: '', ah: 'aes128gmac' },
  { name: 'AH transport over IPv6', outer: 6, inner: 6, mode: 'transport', encap: false, esp: '', ah: 'sha256' },
];

const outerOf = (h: LabHost, f: 4 | 6) => (f === 4 ? h.outer4 : h.outer6);
const innerOf = (h: LabHost, s: Scenario) =>
  s.mode === 'transport' ? outerOf(h, s.outer) : s.inner === 4 ? h.inner4 : h.inner6;
const hostPrefix = (a: string) => `${a}/${a.includes(':') ? 128 : 32}`;

function conf(me: LabHost, peer: LabHost, s: Scenario, meId: string, peerId: string): string {
  return pskConfig({
    me,
    peer,
    name: 'pair',
    outer: s.outer,
    meId,
    peerId,
    secret: 'project-pair-psk-0123456789',
    settings: { encap: s.encap ? 'yes' : 'no', proposals: 'aes128gcm16-prfsha256-x25519' },
    children: [
      {
        localTs: hostPrefix(innerOf(me, s)),
        remoteTs: hostPrefix(innerOf(peer, s)),
        settings: { mode: s.mode, ...(s.ah !== undefined ? { ah_proposals: s.ah } : { esp_proposals: s.esp }) },
      },
    ],
  });
}

async function childOf(peer: TsipsecPeer) {
  const { ikeSas } = (await peer.call('sas')) as { ikeSas: IkeSaInfo[] };
  const c = ikeSas[0]?.children[0];
  assert.ok(c, 'a CHILD_SA is listed');
  return c;
}

for (const s of SCENARIOS) {
  test(`project to project: ${s.name} (${s.ah ?? s.esp})`, { skip, timeout: 90_000 }, async () => {
    const lab = await Lab.create('pair');
    let a: TsipsecPeer | undefined;
    let b: TsipsecPeer | undefined;
    try {
      const { left, right } = lab;
      const extra = s.noOffload === true ? ['--no-offload'] : [];
      b = await TsipsecPeer.start(lab, right, conf(right, left, s, 'right.pair', 'left.pair'), 2, extra);
      a = await TsipsecPeer.start(lab, left, conf(left, right, s, 'left.pair', 'right.pair'), 2, extra);
      await a.call('up', { name: 'net', timeoutSec: 20 });
      const src = innerOf(left, s);
      const dst = innerOf(right, s);
      const ping = await lab.exec(left, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '-I', src, dst]);
      assert.match(ping, /3 received/, ping);
      // After the ping alone the counters must agree exactly: 3 requests out, 3 replies in, each way.
      const pa = await childOf(a);
      const pb = await childOf(b);
      assert.equal(pa.mode, s.mode);
      assert.equal(pa.protocol, s.ah !== undefined ? 'ah' : 'esp');
      assert.equal(pa.encap, s.encap);
      assert.equal(pa.spiOut, pb.spiIn);
      assert.equal(pa.spiIn, pb.spiOut);
      assert.deepEqual([pa.out.packets, pb.in.packets, pb.out.packets, pa.in.packets], [3, 3, 3, 3]);
      assert.deepEqual(pa.drops, {});
      assert.deepEqual(pb.drops, {});
      lab.spawn(right, 'iperf3', ['-s', '-1', '-B', dst], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 400));
      const out = await lab.exec(left, 'iperf3', ['-c', dst, '-B', src, '-t', '1', '-J'], 30_000);
      const j = JSON.parse(out) as { end: { sum_received: { bytes: number } } };
      const tcpBytes = j.end.sum_received.bytes;
      assert.ok(tcpBytes > 100_000, `iperf3 moved ${tcpBytes} bytes`);
      // Under load the path may lose packets (TCP resends them), but never create or corrupt any. Each side's
      // opened count is read before the sealing side's, so packets still in flight (a late ACK or FIN) cannot
      // make the comparison fail.
      const cbFirst = await childOf(b);
      const ca = await childOf(a);
      const cb = await childOf(b);
      assert.ok(cbFirst.in.packets <= ca.out.packets, `B opened ${cbFirst.in.packets}, A sealed ${ca.out.packets}`);
      assert.ok(ca.in.packets <= cb.out.packets, `A opened ${ca.in.packets}, B sealed ${cb.out.packets}`);
      assert.ok(cb.in.bytes > tcpBytes, `${cb.in.bytes} bytes opened for ${tcpBytes} bytes of TCP payload`);
      for (const c of [ca, cb])
        assert.equal((c.drops['icv'] ?? 0) + (c.drops['replay'] ?? 0), 0, JSON.stringify(c.drops));
      // The TCP sender's TUN handed over TSO super-packets, split before ESP; ESP in UDP went out as UDP GSO and
      // reached the receiver as UDP GRO receives of several datagrams each (or, without offloads, one by one).
      const st = (await a.call('stats')) as DaemonStats;
      const rt = (await b.call('stats')) as DaemonStats;
      if (s.noOffload === true) {
        assert.equal(st.offloads?.tun?.tso, false, JSON.stringify(st.offloads));
        for (const o of [st.offloads, rt.offloads]) {
          assert.deepEqual(
            o?.udpGro,
            { enabled: false, receives: 0, datagrams: 0, fallback: 'offloads turned off (--no-offload)' },
            JSON.stringify(o),
          );
        }
        assert.deepEqual(
          st.offloads?.udpGso,
          { enabled: false, sends: 0, segments: 0, fallback: 'offloads turned off (--no-offload)' },
          'no UDP GSO sends either',
        );
        const text = await lab.exec(right, process.execPath, [CLI, '--control', b.control, 'stats']);
        assert.match(text, /^UDP GRO off: offloads turned off \(--no-offload\)$/m, text);
        assert.match(text, /^UDP GSO off \(offloads turned off \(--no-offload\)\)$/m, text);
      } else {
        assert.equal(st.offloads?.tun?.tso, true, JSON.stringify(st.offloads));
        assert.ok((st.offloads?.tun?.gsoReads ?? 0) > 0, `super-packets read: ${JSON.stringify(st.offloads?.tun)}`);
      }
      if (s.encap && s.noOffload !== true)
        assert.ok((st.offloads?.udpGso?.sends ?? 0) > 0, JSON.stringify(st.offloads?.udpGso));
      if (s.encap && s.noOffload !== true) {
        const g = rt.offloads?.udpGro;
        assert.equal(g?.enabled, true, JSON.stringify(rt.offloads));
        assert.ok((g?.receives ?? 0) > 0 && (g?.datagrams ?? 0) > 2 * (g?.receives ?? 0), JSON.stringify(g));
        // Every datagram of those receives was opened: none is lost or counted twice in the split.
        assert.ok((g?.datagrams ?? 0) <= cb.in.packets, `${JSON.stringify(g)}, ${cb.in.packets} opened`);
        const text = await lab.exec(right, process.execPath, [CLI, '--control', b.control, 'stats']);
        assert.match(text, /^UDP GRO on: \d+ receives carried \d+ datagrams$/m, text);
      }
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- left log ---\n${a?.log().slice(-3000)}\n--- right log ---\n${b?.log().slice(-3000)}`,
      );
    } finally {
      await lab.destroy();
    }
  });
}
