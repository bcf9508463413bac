/**
 * Inbound policy for cleartext (RFC 4301 5.2): a packet from the network whose source lies in a protected
 * remote selector and whose destination lies in the matching local selector must have come through the
 * tunnel. The user-space data plane only sees what arrives as ESP/AH; cleartext goes to the host stack. So the
 * daemon keeps an nftables table of its own, `inet tsipsec`, with one prerouting chain that drops such packets
 * unless they came out of the daemon's TUN, counting them (`cleartext` in `tsipsec stats`).
 *
 * Exempt: the TUN itself and loopback, ESP and AH (the tunnel's own packets), UDP 500/4500 to a local
 * address (IKE and ESP-in-UDP), IPv6 neighbour discovery, and `pass` children's traffic (as narrow as their
 * selectors). The chain is rewritten whole in one `nft -f -` batch for every change (a CHILD_SA or trap
 * installed or removed, new pass children): nftables applies a batch atomically, and one rule per
 * selector pair needs no set of non-overlapping intervals (two peers' selectors may overlap).
 * The table is created at start after removing one a crashed daemon may have left, and deleted at stop.
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

export class CleartextGuard {
  readonly #io: DaemonIo;
  readonly #tun: string;
  readonly #log: Logger;
  /** Protected selector pairs per owner (a reqid of a CHILD_SA or trap). */
  readonly #protect = new Map<number, readonly SelectorInput[]>();
  #pass: readonly SelectorInput[] = [];
  /** Why the table could not be created; undefined while it works. */
  #unavailable: string | undefined = 'not started';
  /** Changes are applied one batch after the other, in order. */
  #queue: Promise<void> = Promise.resolve();

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
      await this.#apply();
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
    try {
      await this.#apply();
    } catch (e) {
      this.#protect.delete(owner);
      throw new GuardError(`inbound cleartext check not installed: ${(e as Error).message}`);
    }
  }

  async release(owner: number): Promise<void> {
    if (!this.#protect.delete(owner) || this.#unavailable !== undefined) return;
    await this.#apply().catch((e: unknown) => {
      this.#log.log('knl', LogLevel.AUDIT, `updating nft table ${GUARD_TABLE} failed: ${(e as Error).message}`);
    });
  }

  /** The selectors of every `pass` child (replacing the previous ones). */
  async setPass(selectors: readonly SelectorInput[]): Promise<void> {
    this.#pass = selectors;
    if (this.#unavailable !== undefined) return;
    await this.#apply().catch((e: unknown) => {
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
    await this.#queue;
    if (this.#unavailable !== undefined) return;
    this.#unavailable = 'stopped';
    await this.#io.nft(['-f', '-'], `delete table ${GUARD_TABLE}\n`).catch(() => undefined);
  }

  #apply(): Promise<void> {
    const run = this.#queue.then(() => {
      const protect = [...this.#protect.values()].flat();
      return this.#io.nft(['-f', '-'], guardChainScript(this.#tun, protect, this.#pass)).then(() => undefined);
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
