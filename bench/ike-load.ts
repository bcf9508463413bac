/**
 * An IKE setup-rate load generator on the project's own sans-I/O engine: one initiating IkeEngine opens IKE_SAs
 * (IKE_SA_INIT + IKE_AUTH with PSK, one CHILD_SA each) from many source endpoints against one responder, keeping
 * at most `window` setups in flight, and records when each one started and when its CHILD_SA was installed.
 *
 * Sans-I/O like the engine: the caller feeds received datagrams (`receive`), the clock (`pump(nowMs)`) and sends
 * what `pump` returns. Each source endpoint has its own identity (`g<index>.load.example.org`), so a responder
 * sees as many peers as there are sources. bench/ike-setup.ts drives it over UDP between namespaces; the test
 * drives it against an in-process responder engine over memory.
 */
import type { Rng } from '../src/crypto/index.js';
import { childConfig, connectionConfig } from '../src/ike/config.js';
import type { ConnectionConfig } from '../src/ike/config.js';
import { IkeEngine } from '../src/ike/engine.js';
import type { Endpoint, OutgoingDatagram } from '../src/ike/events.js';

export interface LoadOptions {
  /** Where setups come from; setup k uses `sources[k % sources.length]`. */
  readonly sources: readonly Endpoint[];
  /** The responder's endpoint for a source (of the same family). */
  readonly responder: (source: Endpoint) => Endpoint;
  readonly psk: Uint8Array;
  readonly rng: Rng;
  /** IKE proposal (default aes128gcm16-prfsha256-x25519) and ESP proposal (default aes128gcm16). */
  readonly ikeProposal?: string;
  readonly espProposal?: string;
  /** The CHILD_SA's remote traffic selectors for a source (default: the responder's subnets of the lab). */
  readonly remoteTsOf?: (source: Endpoint) => readonly string[];
}

/** Identity of the initiator at source index `i`. */
export const sourceIdentity = (i: number): string => `g${i}.load.example.org`;

/** Figures of one batch of setups. */
export interface BatchResult {
  /** Setups asked for, established (CHILD_SA installed) and failed. */
  readonly asked: number;
  readonly established: number;
  readonly failed: number;
  /** From the first request to the last setup's end, ms. */
  readonly elapsedMs: number;
  /** Established setups per second over `elapsedMs`. */
  readonly perSec: number;
  /** Latency from initiate to CHILD_SA installed, ms. */
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Engine retransmissions during the batch. */
  readonly retransmits: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

export class IkeLoadGenerator {
  readonly engine: IkeEngine;
  private readonly opts: LoadOptions;
  /** IKE_SA id -> start time of the setups in flight. */
  private readonly inFlight = new Map<number, number>();
  /** IKE_SA ids with their CHILD_SAs, established so far (for more CHILD_SAs on them). */
  private readonly up: number[] = [];
  private nextSource = 0;
  private remaining = 0;
  private window = 1;
  private batchStartMs = 0;
  private batchEndMs = 0;
  private batchRetransmits = 0;
  private latencies: number[] = [];
  private failed = 0;
  private asked = 0;
  /** Extra CHILD_SAs asked for and still pending. */
  private childrenPending = 0;
  private childrenDone = 0;
  /** IKE_SAs being deleted by `startTerminate`. */
  private readonly deleting = new Set<number>();

  constructor(opts: LoadOptions) {
    this.opts = opts;
    const connections: ConnectionConfig[] = opts.sources.map((source, i) =>
      connectionConfig({
        name: `g${i}`,
        localId: { type: 'fqdn', value: sourceIdentity(i) },
        proposals: [opts.ikeProposal ?? 'aes128gcm16-prfsha256-x25519'],
        sendInitialContact: false,
        rekeyTimeSec: 0,
        children: [
          childConfig({
            name: 'net',
            proposals: [opts.espProposal ?? 'aes128gcm16'],
            remoteTs: [...(opts.remoteTsOf?.(source) ?? ['203.0.113.0/24', '2001:db8:2::/64'])],
          }),
        ],
      }),
    );
    const psk = opts.psk;
    this.engine = new IkeEngine({
      connections,
      psk: () => psk,
      rng: opts.rng,
      // Retransmit slowly: a loaded responder answers late, and a retransmission only adds to its load.
      retransmit: { timeoutSec: 4, base: 1.8, tries: 4, limitSec: 0 },
    });
  }

  /** IKE_SAs established so far. */
  get established(): number {
    return this.up.length;
  }

  /** True while a batch (setups or extra CHILD_SAs) is still running. */
  get busy(): boolean {
    return this.remaining > 0 || this.inFlight.size > 0 || this.childrenPending > 0 || this.deleting.size > 0;
  }

  /** Starts a batch of `count` setups with at most `window` in flight; `pump` moves it. */
  startBatch(count: number, window: number, nowMs: number): void {
    if (this.busy) throw new Error('a batch is still running');
    this.remaining = count;
    this.window = Math.max(1, window);
    this.batchStartMs = nowMs;
    this.batchEndMs = nowMs;
    this.batchRetransmits = this.engine.retransmits;
    this.latencies = [];
    this.failed = 0;
    this.asked = count;
  }

  /** Asks for one more CHILD_SA on each of the first `count` established IKE_SAs. */
  startChildren(count: number, nowMs: number): void {
    if (this.busy) throw new Error('a batch is still running');
    const ids = this.up.slice(0, count);
    this.childrenPending = ids.length;
    this.childrenDone = 0;
    for (const id of ids) this.engine.createChild(id, 'net', nowMs);
  }

  /** Deletes the IKE_SAs established so far (INFORMATIONAL DELETE); `busy` until the responder answered. */
  startTerminate(nowMs: number): void {
    if (this.busy) throw new Error('a batch is still running');
    for (const id of this.up.splice(0)) {
      this.engine.terminate(id, nowMs);
      this.deleting.add(id);
    }
  }

  /** Extra CHILD_SAs installed by the last `startChildren`. */
  get childrenInstalled(): number {
    return this.childrenDone;
  }

  receive(d: OutgoingDatagram, nowMs: number): void {
    // `d` as the responder sent it: from the responder, to our source.
    this.engine.receiveDatagram(d.bytes, d.from, d.to, nowMs);
  }

  /** Handles timers and events, starts setups the window allows; returns the datagrams to send. */
  pump(nowMs: number): OutgoingDatagram[] {
    const due = this.engine.nextTimerMs();
    if (due !== undefined && due <= nowMs) this.engine.handleTimer(nowMs);
    for (let ev; (ev = this.engine.nextEvent());) {
      if (ev.type === 'childSaInstalled') {
        const started = this.inFlight.get(ev.child.ikeSaId);
        if (started !== undefined) {
          this.inFlight.delete(ev.child.ikeSaId);
          this.latencies.push(nowMs - started);
          this.up.push(ev.child.ikeSaId);
          this.batchEndMs = nowMs;
        } else if (this.childrenPending > 0) {
          this.childrenPending--;
          this.childrenDone++;
        }
      } else if (ev.type === 'childSaFailed') {
        if (this.inFlight.delete(ev.ikeSaId)) {
          this.failed++;
          this.batchEndMs = nowMs;
        } else if (this.childrenPending > 0) this.childrenPending--;
      } else if (ev.type === 'ikeSaDeleted' && this.deleting.delete(ev.ikeSaId)) {
        // deleted by startTerminate
      } else if (ev.type === 'ikeSaFailed' || ev.type === 'authFailed' || ev.type === 'ikeSaDeleted') {
        const id = 'ikeSaId' in ev ? ev.ikeSaId : undefined;
        if (id !== undefined && this.inFlight.delete(id)) {
          this.failed++;
          this.batchEndMs = nowMs;
        }
      }
    }
    while (this.remaining > 0 && this.inFlight.size < this.window) {
      const index = this.nextSource++ % this.opts.sources.length;
      const source = this.opts.sources[index];
      if (source === undefined) throw new Error('no source endpoints');
      const id = this.engine.initiate(`g${index}`, source, this.opts.responder(source), nowMs);
      this.inFlight.set(id, nowMs);
      this.remaining--;
    }
    return this.engine.datagramsToSend();
  }

  /** When the engine wants `pump` again for its timers (undefined: only on a datagram). */
  nextTimerMs(): number | undefined {
    return this.engine.nextTimerMs();
  }

  /** The figures of the batch that just ended. */
  result(): BatchResult {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const elapsedMs = Math.max(0.001, this.batchEndMs - this.batchStartMs);
    return {
      asked: this.asked,
      established: sorted.length,
      failed: this.failed,
      elapsedMs,
      perSec: (sorted.length * 1000) / elapsedMs,
      p50Ms: percentile(sorted, 50),
      p90Ms: percentile(sorted, 90),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.at(-1) ?? NaN,
      retransmits: this.engine.retransmits - this.batchRetransmits,
    };
  }
}
