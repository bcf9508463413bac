/**
 * Inbound policy for cleartext (RFC 4301 5.2): a packet from the network whose source lies in a protected
 * remote selector and whose destination lies in the matching local selector must have come through the
 * tunnel. The user-space data plane only sees what arrives as ESP/AH; cleartext goes to the host stack. So the
 * daemon keeps an nftables table of its own, `inet tsipsec`, with one prerouting chain that drops such packets
 * unless they came out of the daemon's TUN, counting them (`cleartext` in `tsipsec stats`).
 *
 * Exempt: the TUN itself and loopback, ESP and AH (the tunnel's own packets), UDP 500/4500 to a local
 * address (IKE and ESP-in-UDP), IPv6 neighbour discovery, and `pass` children's traffic (as narrow as their
 * selectors). One rule per selector pair needs no set of non-overlapping intervals (two peers' selectors may
 * overlap). The chain is written whole at start and when the pass children change; a CHILD_SA or trap
 * installed or removed adds or deletes only its own rules (by the handles `nft --echo --handle` reported), so
 * the cost of a change does not grow with the number of SAs. Changes that arrive while `nft` runs wait and go
 * together in the next batch (one process for many CHILD_SAs when many peers connect at once); nftables
 * applies a batch atomically. The table is created at start after removing one a crashed daemon may have left,
 * and deleted at stop.
 * When nft cannot be run, the daemon refuses protected CHILD_SAs (GuardError) rather than accepting
 * spoofed cleartext silently.
 */
import type { Logger } from '../common/log.js';
import { LogLevel } from '../common/log.js';
import type { PortSelectorInput, SelectorInput } from '../spd/selector.js';
import type { DaemonIo } from './daemon-io.js';

export const GUARD_TABLE = 'inet tsipsec';
const CHAIN = 'inbound';
const COUNTER = 'cleartext';
/** Before conntrack's defragmentation hook users (-200 is conntrack), after raw: -150 is mangle's slot. */
const HOOK_PRIORITY = -150;
/** Protocols with ports nftables' `th` expression can read. */
const PORT_PROTOCOLS: ReadonlySet<number> = new Set([6, 17, 132, 136]);

/** Raised when the cleartext check cannot be put in place for a protected CHILD_SA or trap. */
export class GuardError extends Error {
  override readonly name = 'GuardError';
}

function isV6(address: string): boolean {
  return address.includes(':');
}

/** An address selector as nftables writes it; undefined when it covers its whole family. */
function nftAddress(text: string): string | undefined {
  if (text === 'any4' || text === 'any6' || /\/0$/.test(text)) return undefined;
  if (/\/(32|128)$/.test(text) && (text.endsWith('/128') || !text.includes(':'))) return text.replace(/\/\d+$/, '');
  const range = /^(.+)-(.+)$/.exec(text);
  if (range === null || range[1] === undefined || range[2] === undefined) return text;
  const [, start, end] = range;
  if (start === end) return start;
  if (start === '0.0.0.0' && end === '255.255.255.255') return undefined;
  if (start === '::' && /^ffff(:ffff){7}$/i.test(end)) return undefined;
  return `${start}-${end}`;
}

function nftPorts(p: PortSelectorInput | undefined): string | undefined {
  if (p === undefined || p === 'any' || p === 'opaque') return undefined;
  if (typeof p === 'number') return String(p);
  if (p.start === 0 && p.end === 0xffff) return undefined;
  return p.start === p.end ? String(p.start) : `${p.start}-${p.end}`;
}

/**
 * The match of one selector pair for packets arriving from the remote side: source the remote selector,
 * destination the local one, the protocol, and the ports (remote port = source port) where nftables can read them.
 */
export function inboundMatch(sel: SelectorInput): string {
  const v6 = isV6(sel.local) || isV6(sel.remote) || sel.local === 'any6' || sel.remote === 'any6';
  const ipKw = v6 ? 'ip6' : 'ip';
  const parts: string[] = [];
  const remote = nftAddress(sel.remote);
  const local = nftAddress(sel.local);
  if (remote === undefined && local === undefined) parts.push(`meta nfproto ${v6 ? 'ipv6' : 'ipv4'}`);
  if (remote !== undefined) parts.push(`${ipKw} saddr ${remote}`);
  if (local !== undefined) parts.push(`${ipKw} daddr ${local}`);
  const protocol = sel.protocol === undefined || sel.protocol === 'any' ? 0 : sel.protocol;
  if (protocol !== 0) {
    parts.push(`meta l4proto ${protocol}`);
    if (PORT_PROTOCOLS.has(protocol)) {
      const sport = nftPorts(sel.remotePort);
      const dport = nftPorts(sel.localPort);
      if (sport !== undefined) parts.push(`th sport ${sport}`);
      if (dport !== undefined) parts.push(`th dport ${dport}`);
    }
  }
  return parts.join(' ');
}

/** The whole chain for the protected pairs and pass exemptions given: one atomic batch. */
export function guardChainScript(tun: string, protect: readonly SelectorInput[], pass: readonly SelectorInput[]) {
  const rule = (r: string): string => `add rule ${GUARD_TABLE} ${CHAIN} ${r}`;
  const lines = [
    `flush chain ${GUARD_TABLE} ${CHAIN}`,
    rule(`iifname ${JSON.stringify(tun)} accept`),
    rule('iif "lo" accept'),
    rule('meta l4proto { esp, ah } accept'),
    rule('udp dport { 500, 4500 } fib daddr type local accept'),
    rule('icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept'),
  ];
  const seen = new Set<string>();
  for (const s of pass) {
    const m = inboundMatch(s);
    if (!seen.has(`pass ${m}`)) lines.push(rule(`${m} accept`));
    seen.add(`pass ${m}`);
  }
  for (const s of protect) {
    const m = inboundMatch(s);
    if (!seen.has(`drop ${m}`)) lines.push(rule(`${m} counter name "${COUNTER}" drop`));
    seen.add(`drop ${m}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Creates the table afresh (removing one left by a crashed daemon): `table X` first so `delete` cannot fail. */
export function guardTableScript(): string {
  return [
    `table ${GUARD_TABLE}`,
    `delete table ${GUARD_TABLE}`,
    `table ${GUARD_TABLE} {`,
    `  counter ${COUNTER} { }`,
    `  chain ${CHAIN} { type filter hook prerouting priority ${HOOK_PRIORITY}; policy accept; }`,
    '}',
    '',
  ].join('\n');
}

/** Handles of the rules `nft --echo --handle` reports for the `add rule` lines of a batch, in order. */
export function echoedHandles(out: string): number[] {
  const handles: number[] = [];
  for (const line of out.split('\n')) {
    const m = /^add rule .* # handle (\d+)\s*$/.exec(line);
    if (m?.[1] !== undefined) handles.push(Number(m[1]));
  }
  return handles;
}

const ruleLine = (r: string): string => `add rule ${GUARD_TABLE} ${CHAIN} ${r}`;
/** The drop rules of one owner's selector pairs, without duplicates. */
const dropRules = (selectors: readonly SelectorInput[]): string[] => [
  ...new Set(selectors.map((s) => `${inboundMatch(s)} counter name "${COUNTER}" drop`)),
];

/** One owner's wish since the last batch: its selectors, or undefined to take its rules away. */
type Change = readonly SelectorInput[] | undefined;

export class CleartextGuard {
  readonly #io: DaemonIo;
  readonly #tun: string;
  readonly #log: Logger;
  /** Protected selector pairs per owner (a reqid of a CHILD_SA or trap), as asked. */
  readonly #protect = new Map<number, readonly SelectorInput[]>();
  /** The rules in the chain per owner: their text (to tell a repeat) and handles. */
  readonly #installed = new Map<number, { readonly rules: string; readonly handles: readonly number[] }>();
  #pass: readonly SelectorInput[] = [];
  /** Why the table could not be created; undefined while it works. */
  #unavailable: string | undefined = 'not started';
  /** Changes not yet in a batch, and the callers waiting for them. */
  #changes = new Map<number, Change>();
  #rewrite = false;
  /** False when the chain may hold rules whose handles we do not know: the next change rewrites it whole. */
  #handlesKnown = false;
  #waiting: { resolve: () => void; reject: (e: Error) => void; owner: number | undefined }[] = [];
  #running: Promise<void> | undefined;

  constructor(io: DaemonIo, tunName: string, log: Logger) {
    this.#io = io;
    this.#tun = tunName;
    this.#log = log;
  }

  /** Creates the table; when nft fails, says so once and leaves protected CHILD_SAs to be refused. */
  async start(): Promise<void> {
    try {
      await this.#io.nft(['-f', '-'], guardTableScript());
      this.#unavailable = undefined;
      await this.#request(undefined, true);
      this.#log.log('knl', LogLevel.CONTROL, `cleartext from protected networks is dropped (nft table ${GUARD_TABLE})`);
    } catch (e) {
      this.#unavailable = (e as Error).message;
      this.#log.log(
        'knl',
        LogLevel.AUDIT,
        `cannot check inbound cleartext (nft: ${this.#unavailable}): CHILD_SAs that protect traffic will be ` +
          'refused; install nftables (apt-get install nftables)',
      );
    }
  }

  /** Drops cleartext matching `selectors` from now on (a CHILD_SA or trap under reqid `owner`). */
  async protect(owner: number, selectors: readonly SelectorInput[]): Promise<void> {
    if (this.#unavailable !== undefined)
      throw new GuardError(`no inbound cleartext check (nft: ${this.#unavailable}); install nftables`);
    this.#protect.set(owner, selectors);
    const installed = this.#installed.get(owner);
    if (installed !== undefined && !this.#changes.has(owner) && installed.rules === dropRules(selectors).join('\n'))
      return; // the same rules are in place (another CHILD_SA of the same reqid)
    this.#changes.set(owner, selectors);
    try {
      await this.#request(owner, false);
    } catch (e) {
      throw new GuardError(`inbound cleartext check not installed: ${(e as Error).message}`);
    }
  }

  async release(owner: number): Promise<void> {
    if (!this.#protect.delete(owner) || this.#unavailable !== undefined) return;
    this.#changes.set(owner, undefined);
    await this.#request(undefined, false).catch((e: unknown) => {
      this.#log.log('knl', LogLevel.AUDIT, `updating nft table ${GUARD_TABLE} failed: ${(e as Error).message}`);
    });
  }

  /** The selectors of every `pass` child (replacing the previous ones). */
  async setPass(selectors: readonly SelectorInput[]): Promise<void> {
    this.#pass = selectors;
    if (this.#unavailable !== undefined) return;
    await this.#request(undefined, true).catch((e: unknown) => {
      this.#log.log('knl', LogLevel.AUDIT, `updating nft table ${GUARD_TABLE} failed: ${(e as Error).message}`);
    });
  }

  /** Packets dropped so far (0 without the table). */
  async dropped(): Promise<number> {
    if (this.#unavailable !== undefined) return 0;
    try {
      const out = await this.#io.nft(['-j', 'list', 'counter', ...GUARD_TABLE.split(' '), COUNTER]);
      const json = JSON.parse(out) as { nftables?: { counter?: { packets?: number } }[] };
      return json.nftables?.find((o) => o.counter !== undefined)?.counter?.packets ?? 0;
    } catch {
      return 0;
    }
  }

  /** Deletes the table. */
  async stop(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
    if (this.#unavailable !== undefined) return;
    this.#unavailable = 'stopped';
    await this.#io.nft(['-f', '-'], `delete table ${GUARD_TABLE}\n`).catch(() => undefined);
  }

  /** Waits for the batch that carries the changes made so far (`rewrite`: the whole chain). */
  #request(owner: number | undefined, rewrite: boolean): Promise<void> {
    if (rewrite) this.#rewrite = true;
    const done = new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject, owner }));
    if (this.#running === undefined) this.#running = this.#drain();
    return done;
  }

  /** Runs batches until no change is left; one at a time, each with every change that came meanwhile. */
  async #drain(): Promise<void> {
    // Let the other CHILD_SAs of this turn of the event loop join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#waiting.length > 0) {
      const waiting = this.#waiting;
      const changes = this.#changes;
      const rewrite = this.#rewrite;
      this.#waiting = [];
      this.#changes = new Map();
      this.#rewrite = false;
      let failed: Error | undefined;
      try {
        if (rewrite || !this.#handlesKnown) await this.#writeAll();
        else await this.#writeChanges(changes).catch(() => this.#writeAll());
      } catch (e) {
        failed = e as Error;
        this.#handlesKnown = false;
      }
      for (const w of waiting) {
        if (failed === undefined) w.resolve();
        else {
          if (w.owner !== undefined && changes.get(w.owner) !== undefined) this.#protect.delete(w.owner);
          w.reject(failed);
        }
      }
    }
    this.#running = undefined;
  }

  /** Adds and deletes the rules of the owners in `changes` only. */
  async #writeChanges(changes: ReadonlyMap<number, Change>): Promise<void> {
    const lines: string[] = [];
    const added: { owner: number; rules: string[] }[] = [];
    const removed: number[] = [];
    for (const [owner, selectors] of changes) {
      const old = this.#installed.get(owner);
      const rules = selectors === undefined ? [] : dropRules(selectors);
      if (old !== undefined && old.rules === rules.join('\n')) continue;
      for (const h of old?.handles ?? []) lines.push(`delete rule ${GUARD_TABLE} ${CHAIN} handle ${h}`);
      if (rules.length > 0) added.push({ owner, rules });
      else removed.push(owner);
      lines.push(...rules.map(ruleLine));
    }
    if (lines.length === 0) return;
    const handles = echoedHandles(await this.#io.nft(['--echo', '--handle', '-f', '-'], `${lines.join('\n')}\n`));
    for (const owner of removed) this.#installed.delete(owner);
    this.#record(added, handles, false);
  }

  /** Writes the whole chain: the exemptions, then the drops of every owner. */
  async #writeAll(): Promise<void> {
    const owners = [...this.#protect].map(([owner, selectors]) => ({ owner, rules: dropRules(selectors) }));
    const drops = owners.flatMap((o) => o.rules);
    const script = guardChainScript(this.#tun, [], this.#pass) + drops.map((r) => `${ruleLine(r)}\n`).join('');
    const handles = echoedHandles(await this.#io.nft(['--echo', '--handle', '-f', '-'], script));
    this.#installed.clear();
    // The exemption rules come first; the owners' drops are the last handles, in order.
    this.#record(owners, handles.slice(Math.max(0, handles.length - drops.length)), true);
  }

  /** Notes the handles of `owners`' rules (`whole`: the chain was just written whole). */
  #record(owners: readonly { owner: number; rules: readonly string[] }[], handles: readonly number[], whole: boolean) {
    let i = 0;
    const total = owners.reduce((n, o) => n + o.rules.length, 0);
    // Without the handles (nft printed other than expected), the next change rewrites the chain whole.
    if (handles.length !== total) this.#handlesKnown = false;
    else if (whole) this.#handlesKnown = true;
    for (const o of owners) {
      this.#installed.set(o.owner, { rules: o.rules.join('\n'), handles: handles.slice(i, i + o.rules.length) });
      i += o.rules.length;
    }
  }
}
