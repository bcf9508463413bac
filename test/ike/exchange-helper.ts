/**
 * Two IKE engines in one process with a fake clock, deterministic randomness and in-memory delivery.
 * Tests move datagrams one at a time (`deliver`), or with hooks to drop, duplicate and reorder.
 */
import { createTestRng } from '../../src/crypto/index.js';
import { childConfig, connectionConfig } from '../../src/ike/config.js';
import type { ChildConfig, ConnectionConfig, EngineConfig } from '../../src/ike/config.js';
import { IkeEngine } from '../../src/ike/engine.js';
import type { Endpoint, IkeEvent, OutgoingDatagram } from '../../src/ike/events.js';
import { decodeHeader } from '../../src/ike/codec/header.js';

export const ADDR_I: Endpoint = { address: '192.0.2.1', port: 500 };
export const ADDR_R: Endpoint = { address: '198.51.100.1', port: 500 };
export const PSK = Buffer.from('a shared secret for the tests only', 'utf8');

export interface PeerOptions {
  conn?: Partial<ConnectionConfig>;
  child?: Partial<ChildConfig>;
  engine?: Partial<EngineConfig>;
  psk?: Buffer;
  seed?: string;
}

export function makeEngine(side: 'i' | 'r', o: PeerOptions = {}): IkeEngine {
  const localId =
    side === 'i'
      ? { type: 'fqdn' as const, value: 'moon.example.org' }
      : { type: 'fqdn' as const, value: 'sun.example.org' };
  const remoteId =
    side === 'i'
      ? { type: 'fqdn' as const, value: 'sun.example.org' }
      : { type: 'fqdn' as const, value: 'moon.example.org' };
  const child = childConfig({
    name: 'net',
    proposals: ['aes128gcm16'],
    localTs: [side === 'i' ? '198.51.100.0/24' : '203.0.113.0/24'],
    remoteTs: [side === 'i' ? '203.0.113.0/24' : '198.51.100.0/24'],
    ...o.child,
  });
  const conn = connectionConfig({
    name: 'gw',
    localId,
    remoteId,
    proposals: ['aes128gcm16-prfsha256-x25519'],
    children: [child],
    ...o.conn,
  });
  const psk = o.psk ?? PSK;
  return new IkeEngine({
    connections: [conn],
    psk: () => psk,
    rng: createTestRng(o.seed ?? `seed-${side}`),
    ...o.engine,
  });
}

export interface InFlight extends OutgoingDatagram {
  /** 'i' if sent by the initiator engine. */
  readonly sender: 'i' | 'r';
}

/** The pair: clock, queues and events. */
export class Pair {
  nowMs = 1_000_000;
  i: IkeEngine;
  r: IkeEngine;
  /** Datagrams sent and not yet delivered, in order. */
  readonly wire: InFlight[] = [];
  readonly eventsI: IkeEvent[] = [];
  readonly eventsR: IkeEvent[] = [];

  constructor(i: PeerOptions = {}, r: PeerOptions = {}) {
    this.i = makeEngine('i', i);
    this.r = makeEngine('r', r);
  }

  /** A side restarts: a fresh engine (new randomness, so new SPIs) with the same configuration. */
  restart(side: 'i' | 'r', o: PeerOptions = {}): void {
    const e = makeEngine(side, { seed: `restarted-${side}-${this.nowMs}`, ...o });
    if (side === 'i') this.i = e;
    else this.r = e;
  }

  /** Collect what both engines produced. */
  pump(): void {
    for (const d of this.i.datagramsToSend()) this.wire.push({ ...d, sender: 'i' });
    for (const d of this.r.datagramsToSend()) this.wire.push({ ...d, sender: 'r' });
    for (let e; (e = this.i.nextEvent());) this.eventsI.push(e);
    for (let e; (e = this.r.nextEvent());) this.eventsR.push(e);
  }

  initiate(children?: string[]): number {
    const id = this.i.initiate('gw', ADDR_I, ADDR_R, this.nowMs, children);
    this.pump();
    return id;
  }

  /** Take the next datagram from the wire (optionally only from one side). */
  take(from?: 'i' | 'r'): InFlight {
    this.pump();
    const idx = this.wire.findIndex((d) => from === undefined || d.sender === from);
    if (idx < 0) throw new Error(`no datagram in flight${from ? ` from ${from}` : ''}`);
    const [d] = this.wire.splice(idx, 1);
    return d as InFlight;
  }

  /** Deliver a datagram to the other engine. */
  deliverDatagram(d: InFlight): void {
    const target = d.sender === 'i' ? this.r : this.i;
    target.receiveDatagram(d.bytes, d.from, d.to, this.nowMs);
    this.pump();
  }

  /** Deliver the next datagram (from a side); returns it for inspection. */
  deliver(from?: 'i' | 'r'): InFlight {
    const d = this.take(from);
    this.deliverDatagram(d);
    return d;
  }

  /** Drop the next datagram. */
  drop(from?: 'i' | 'r'): InFlight {
    return this.take(from);
  }

  /** Deliver everything until the wire is empty (bounded). */
  run(max = 100): void {
    this.pump();
    for (let n = 0; n < max && this.wire.length > 0; n++) this.deliver();
  }

  /**
   * `run`, also waiting for asynchronous work the engines hold exchanges for (EAP-TLS) and resuming them.
   * Returns how many times an exchange was held.
   */
  async runAsync(max = 200): Promise<number> {
    let held = 0;
    this.pump();
    for (let n = 0; n < max; n++) {
      if (this.wire.length > 0) {
        this.deliver();
        continue;
      }
      const work = [this.i.pendingWork(), this.r.pendingWork()].filter((w) => w !== undefined);
      if (work.length === 0) break;
      held++;
      await Promise.race(work);
      this.i.resume(this.nowMs);
      this.r.resume(this.nowMs);
      this.pump();
    }
    return held;
  }

  /** Advance the clock and run both engines' timers. */
  advance(ms: number): void {
    this.nowMs += ms;
    this.i.handleTimer(this.nowMs);
    this.r.handleTimer(this.nowMs);
    this.pump();
  }

  /** Events of a type seen so far on one side. */
  events<T extends IkeEvent['type']>(side: 'i' | 'r', type: T): Extract<IkeEvent, { type: T }>[] {
    return (side === 'i' ? this.eventsI : this.eventsR).filter(
      (e): e is Extract<IkeEvent, { type: T }> => e.type === type,
    );
  }
}

/** Exchange type and message ID of a datagram (for assertions on what is on the wire). */
export function describe(d: OutgoingDatagram): { exchangeType: number; messageId: number; response: boolean } {
  const h = decodeHeader(d.bytes);
  return { exchangeType: h.exchangeType, messageId: h.messageId, response: h.flags.response };
}
