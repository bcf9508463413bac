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

/** The sets of protected pairs by family: addresses only, with the protocol, with the protocol and ports. */
export const GUARD_SETS = {
  4: { addresses: 'protect4', protocol: 'protect4p', ports: 'protect4x' },
  6: { addresses: 'protect6', protocol: 'protect6p', ports: 'protect6x' },
} as const;

const SET_TYPES: readonly [string, string, string][] = [4, 6].flatMap((f) => {
  const a = f === 4 ? 'ipv4_addr' : 'ipv6_addr';
  const k = f === 4 ? 'ip' : 'ip6';
  const sets = GUARD_SETS[f as 4 | 6];
  return [
    [sets.addresses, `${a} . ${a}`, `${k} saddr . ${k} daddr`],
    [sets.protocol, `${a} . ${a} . inet_proto`, `${k} saddr . ${k} daddr . meta l4proto`],
    [
      sets.ports,
      `${a} . ${a} . inet_proto . inet_service . inet_service`,
      `${k} saddr . ${k} daddr . meta l4proto . th sport . th dport`,
    ],
  ] as [string, string, string][];
});

/**
 * The set element of one protected selector pair for packets arriving from the remote side (source the
 * remote selector, destination the local one, remote port = source port), as `SET ELEMENT`.
 */
export function protectedElement(sel: SelectorInput): { set: string; element: string } {
  const v6 = isV6(sel.local) || isV6(sel.remote) || sel.local === 'any6' || sel.remote === 'any6';
  const any = v6 ? '::/0' : '0.0.0.0/0';
  const sets = GUARD_SETS[v6 ? 6 : 4];
  const addresses = `${nftAddress(sel.remote) ?? any} . ${nftAddress(sel.local) ?? any}`;
  const protocol = sel.protocol === undefined || sel.protocol === 'any' ? 0 : sel.protocol;
  if (protocol === 0) return { set: sets.addresses, element: addresses };
  const sport = PORT_PROTOCOLS.has(protocol) ? nftPorts(sel.remotePort) : undefined;
  const dport = PORT_PROTOCOLS.has(protocol) ? nftPorts(sel.localPort) : undefined;
  if (sport === undefined && dport === undefined) return { set: sets.protocol, element: `${addresses} . ${protocol}` };
  return { set: sets.ports, element: `${addresses} . ${protocol} . ${sport ?? '0-65535'} . ${dport ?? '0-65535'}` };
}

/** The keys (`SET ELEMENT`) of one owner's selector pairs, without duplicates. */
function elementKeys(selectors: readonly SelectorInput[]): string[] {
  return [
    ...new Set(
      selectors.map((s) => {
        const e = protectedElement(s);
        return `${e.set} ${e.element}`;
      }),
    ),
  ];
}

const ruleLine = (r: string): string => `add rule ${GUARD_TABLE} ${CHAIN} ${r}`;

/** The whole chain for the pass exemptions given, then the lookups in the sets of protected pairs: one batch. */
export function guardChainScript(tun: string, pass: readonly SelectorInput[]): string {
  const lines = [
    `flush chain ${GUARD_TABLE} ${CHAIN}`,
    ruleLine(`iifname ${JSON.stringify(tun)} accept`),
    ruleLine('iif "lo" accept'),
    ruleLine('meta l4proto { esp, ah } accept'),
    ruleLine('udp dport { 500, 4500 } fib daddr type local accept'),
    ruleLine('icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept'),
  ];
  for (const m of new Set(pass.map(inboundMatch))) lines.push(ruleLine(`${m} accept`));
  for (const [set, , match] of SET_TYPES) lines.push(ruleLine(`${match} @${set} counter name "${COUNTER}" drop`));
  return `${lines.join('\n')}\n`;
}

/** Creates the table afresh (removing one left by a crashed daemon): `table X` first so `delete` cannot fail. */
export function guardTableScript(): string {
  return [
    `table ${GUARD_TABLE}`,
    `delete table ${GUARD_TABLE}`,
    `table ${GUARD_TABLE} {`,
    `  counter ${COUNTER} { }`,
    ...SET_TYPES.map(([set, type]) => `  set ${set} { type ${type}; flags interval; }`),
    `  chain ${CHAIN} { type filter hook prerouting priority ${HOOK_PRIORITY}; policy accept; }`,
    '}',
    '',
  ].join('\n');
}

/** `add element` / `delete element` lines for element keys (`SET ELEMENT`), one line per set. */
function elementLines(verb: 'add' | 'delete', keys: Iterable<string>): string[] {
  const bySet = new Map<string, string[]>();
  for (const key of keys) {
    const space = key.indexOf(' ');
    const set = key.slice(0, space);
    let list = bySet.get(set);
    if (list === undefined) bySet.set(set, (list = []));
    list.push(key.slice(space + 1));
  }
  return [...bySet].map(([set, elements]) => `${verb} element ${GUARD_TABLE} ${set} { ${elements.join(', ')} }`);
}

export class CleartextGuard {
  readonly #io: DaemonIo;
  readonly #tun: string;
  readonly #log: Logger;
  /** The element keys each owner (a reqid of a CHILD_SA or trap) protects. */
  readonly #owners = new Map<number, readonly string[]>();
  /** Owners per element key: an element stays while one owner still wants it. */
  readonly #counts = new Map<string, number>();
  /** The elements in the kernel's sets, as far as the batches so far tell. */
  readonly #inKernel = new Set<string>();
  /** Element keys changed since the last batch. */
  #dirty = new Set<string>();
  #pass: readonly SelectorInput[] = [];
  /** Why the table could not be created; undefined while it works. */
  #unavailable: string | undefined = 'not started';
  #rewrite = false;
  /** False when the sets may differ from `#inKernel` (a failed batch): the next batch writes them whole. */
  #inSync = false;
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
    const keys = elementKeys(selectors);
    const old = this.#owners.get(owner);
    if (old !== undefined && old.join('\n') === keys.join('\n') && keys.every((k) => this.#settled(k))) return; // the same elements are in place (another CHILD_SA of the same reqid)
    this.#own(owner, keys);
    try {
      await this.#request(owner, false);
    } catch (e) {
      throw new GuardError(`inbound cleartext check not installed: ${(e as Error).message}`);
    }
  }

  async release(owner: number): Promise<void> {
    if (!this.#owners.has(owner) || this.#unavailable !== undefined) return;
    this.#own(owner, undefined);
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

  /** True when element `key` is in the kernel as wanted, with no change pending. */
  #settled(key: string): boolean {
    return this.#inSync && !this.#dirty.has(key) && this.#inKernel.has(key);
  }

  /** Gives `owner` the elements `keys` (undefined: none), counting each element's owners. */
  #own(owner: number, keys: readonly string[] | undefined): void {
    for (const k of this.#owners.get(owner) ?? []) {
      const n = (this.#counts.get(k) ?? 0) - 1;
      if (n > 0) this.#counts.set(k, n);
      else this.#counts.delete(k);
      this.#dirty.add(k);
    }
    if (keys === undefined) {
      this.#owners.delete(owner);
      return;
    }
    this.#owners.set(owner, keys);
    for (const k of keys) {
      this.#counts.set(k, (this.#counts.get(k) ?? 0) + 1);
      this.#dirty.add(k);
    }
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
      const dirty = this.#dirty;
      const rewrite = this.#rewrite;
      this.#waiting = [];
      this.#dirty = new Set();
      this.#rewrite = false;
      let failed: Error | undefined;
      try {
        if (rewrite || !this.#inSync) await this.#writeAll(rewrite);
        else await this.#writeChanges(dirty).catch(() => this.#writeAll(false));
      } catch (e) {
        failed = e as Error;
        this.#inSync = false;
      }
      for (const w of waiting) {
        if (failed === undefined) w.resolve();
        else {
          // The owner whose elements did not go in keeps none: its CHILD_SA is refused.
          if (w.owner !== undefined) this.#own(w.owner, undefined);
          w.reject(failed);
        }
      }
    }
    this.#running = undefined;
  }

  /** Adds and deletes the elements whose owners changed, and nothing else. */
  async #writeChanges(dirty: ReadonlySet<string>): Promise<void> {
    const add: string[] = [];
    const del: string[] = [];
    for (const k of dirty) {
      const want = this.#counts.has(k);
      if (want && !this.#inKernel.has(k)) add.push(k);
      else if (!want && this.#inKernel.has(k)) del.push(k);
    }
    const lines = [...elementLines('delete', del), ...elementLines('add', add)];
    if (lines.length === 0) return;
    await this.#io.nft(['-f', '-'], `${lines.join('\n')}\n`);
    for (const k of del) this.#inKernel.delete(k);
    for (const k of add) this.#inKernel.add(k);
  }

  /** Writes the sets whole (and the chain, with `chain`): every element wanted now, nothing else. */
  async #writeAll(chain: boolean): Promise<void> {
    const lines = [
      ...(chain || !this.#inSync ? [guardChainScript(this.#tun, this.#pass).trimEnd()] : []),
      ...SET_TYPES.map(([set]) => `flush set ${GUARD_TABLE} ${set}`),
      ...elementLines('add', this.#counts.keys()),
    ];
    await this.#io.nft(['-f', '-'], `${lines.join('\n')}\n`);
    this.#inKernel.clear();
    for (const k of this.#counts.keys()) this.#inKernel.add(k);
    this.#inSync = true;
  }
}
