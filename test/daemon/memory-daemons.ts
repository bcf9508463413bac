/**
 * Two complete daemons in one process, without root: each on memoryIo() (a MemoryTun, sockets on one shared
 * MemoryNetwork, its own MemoryClock), configured with swanctl.conf text. Time moves only through
 * `advance()`, which steps both clocks together from deadline to deadline.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLineLogger } from '../../src/common/log.js';
import { nodeRng } from '../../src/crypto/rng.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { loadDaemonConfig } from '../../src/daemon/load-config.js';
import type { DaemonConfig } from '../../src/daemon/config-map.js';
import { memoryIo } from '../../src/daemon/memory-io.js';
import type { MemoryIo } from '../../src/daemon/memory-io.js';
import { MemoryNetwork } from '../../src/io/memory-network.js';
import type { WirePacket } from '../../src/io/memory-network.js';
import { echoReplyFor, icmpEcho, parseIcmpEcho } from '../io/packets.js';
import type { ParsedEcho } from '../io/packets.js';

export const LEFT = { outer: '192.0.2.1', inner: '198.51.100.1', id: 'left.example' };
export const RIGHT = { outer: '192.0.2.2', inner: '203.0.113.1', id: 'right.example' };

export interface ConfOptions {
  /** Extra lines in the connection section. */
  readonly conn?: string;
  /** Extra lines in the child section. */
  readonly child?: string;
  /** Extra children (whole sections) beside `net`. */
  readonly moreChildren?: string;
  readonly secret?: string;
  /** remote_addrs (default: the peer's outer address). */
  readonly remoteAddrs?: string;
}

/** swanctl.conf of one side: connection `lab`, child `net` between the two inner hosts. */
export function conf(side: 'left' | 'right', o: ConfOptions = {}): string {
  const [me, peer] = side === 'left' ? [LEFT, RIGHT] : [RIGHT, LEFT];
  return `connections {
  lab {
    local_addrs = ${me.outer}
    remote_addrs = ${o.remoteAddrs ?? peer.outer}
    proposals = aes128gcm16-prfsha256-x25519
    ${o.conn ?? ''}
    local { auth = psk
      id = ${me.id} }
    remote { auth = psk
      id = ${peer.id} }
    children {
      net {
        local_ts = ${me.inner}/32
        remote_ts = ${peer.inner}/32
        esp_proposals = aes128gcm16
        ${o.child ?? ''}
      }
      ${o.moreChildren ?? ''}
    }
  }
}
secrets { ike-lab { id-1 = ${LEFT.id}
  id-2 = ${RIGHT.id}
  secret = "${o.secret ?? 'memory-lab-preshared-key-0123'}" } }
`;
}

/** A configuration from swanctl.conf text (through a private temporary file, as the daemon reads it). */
export function configOf(text: string): DaemonConfig {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsipsec-memory-daemon-'));
  try {
    const file = path.join(dir, 'swanctl.conf');
    fs.writeFileSync(file, text, { mode: 0o600 });
    return loadDaemonConfig(file).config;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface Host {
  readonly name: string;
  readonly daemon: Daemon;
  readonly io: MemoryIo;
  readonly inner: string;
  readonly logs: string[];
}

/** One daemon on `net` at `side.outer`, its inner host `side.inner`, configured with `text`. */
export function memoryHost(
  net: MemoryNetwork,
  name: string,
  side: { readonly outer: string; readonly inner: string },
  text: string,
): Host {
  const io = memoryIo({ network: net, address4: side.outer });
  const logs: string[] = [];
  const log = createLineLogger({ level: 2, write: (l) => logs.push(l) });
  const daemon = new Daemon({ config: configOf(text), io, rng: nodeRng, log });
  return { name, daemon, io, inner: side.inner, logs };
}

/** Let the memory twins deliver (each hop is a later event-loop turn) and installations finish. */
export async function settle(turns = 60): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

export class TwoDaemons {
  readonly net = new MemoryNetwork();
  readonly left: Host;
  readonly right: Host;
  /** Every packet put on the wire: IP protocol (17 UDP, 50 ESP) and addresses. */
  readonly wire: { protocol: number; packet: WirePacket }[] = [];
  /** Return true to lose a packet (a dead peer, a cut cable). */
  lose: ((p: Readonly<WirePacket>) => boolean) | undefined;

  constructor(leftConf: string, rightConf: string) {
    this.net.drop = (packet, protocol) => {
      this.wire.push({ protocol, packet: { ...packet, bytes: Buffer.from(packet.bytes) } });
      return this.lose?.(packet) === true;
    };
    this.left = memoryHost(this.net, 'left', LEFT, leftConf);
    this.right = memoryHost(this.net, 'right', RIGHT, rightConf);
  }

  static async start(leftConf: string, rightConf: string): Promise<TwoDaemons> {
    const t = new TwoDaemons(leftConf, rightConf);
    await t.right.daemon.start();
    await t.left.daemon.start();
    await settle();
    return t;
  }

  get nowMs(): number {
    return this.left.io.clock.nowMs();
  }

  /** Moves both clocks forward by `ms`, firing each deadline in order and letting the network settle after each. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    for (let guard = 0; guard < 10_000; guard++) {
      const deadlines = [this.left.io.clock.deadlineMs, this.right.io.clock.deadlineMs].filter(
        (d): d is number => d !== undefined && d <= target,
      );
      const next = deadlines.length > 0 ? Math.max(this.nowMs, Math.min(...deadlines)) : target;
      for (const h of [this.left, this.right]) h.io.clock.advance(next - h.io.clock.nowMs());
      await settle();
      if (next >= target) return;
    }
    throw new Error('advance: the clocks keep firing without moving');
  }

  /**
   * An ICMP echo from `from`'s inner host into its TUN; resolves with what `to`'s TUN wrote (parsed), or
   * undefined when nothing arrived. With `reply`, `to` answers and the reply must reach `from`.
   */
  async ping(from: Host, to: Host, seq: number): Promise<{ request?: ParsedEcho; reply?: ParsedEcho }> {
    to.io.tun.written.length = 0;
    from.io.tun.written.length = 0;
    from.io.tun.inject(icmpEcho(8, from.inner, to.inner, 0x7473, seq, Buffer.from(`ping ${seq}`)));
    await settle();
    const got = to.io.tun.written.shift();
    const request = got === undefined ? undefined : parseIcmpEcho(got);
    if (got === undefined || request === undefined) return {};
    const answer = echoReplyFor(got);
    if (answer !== undefined) to.io.tun.inject(answer);
    await settle();
    const back = from.io.tun.written.shift();
    const reply = back === undefined ? undefined : parseIcmpEcho(back);
    return reply === undefined ? { request } : { request, reply };
  }

  /** ESP packets seen on the wire since `since` (an index into `wire`). */
  espSince(since: number): number {
    return this.wire.slice(since).filter((w) => w.protocol === 50).length;
  }

  async stop(): Promise<void> {
    await Promise.all([this.left.daemon.stop(0), this.right.daemon.stop(0)]);
  }
}
