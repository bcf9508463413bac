/**
 * `ip xfrm state list` and `ip xfrm policy list` output in iproute2's own layout (ipxfrm.c: one header line,
 * tab-indented detail lines, the trailing blanks iproute2 leaves), and a JSON form of the same records.
 *
 * State (iproute2 order):            Policy:
 *   src A dst B                        src S dst D [proto P] [sport N] [dport N]
 *   \tproto esp spi 0x.. reqid R mode M  \tdir out [action block ]priority N ptype main
 *   \treplay-window W [flag ...]        \ttmpl src A dst B
 *   \tauth-trunc NAME 0xKEY BITS          \t\tproto esp [spi 0x..] reqid R mode M
 *   \taead NAME 0xKEY ICVBITS
 *   \tenc NAME 0xKEY
 *   \tencap type espinudp sport S dport D addr O
 *   \tanti-replay [esn ]context: ...
 *   \tsel src S dst D [proto P ...]
 *
 * Like Linux, a window above 32 or ESN moves the window into the ESN replay state: the `replay-window` field
 * then reads 0 and the window shows in the `anti-replay esn context` block. Algorithm names are the kernel's
 * canonical ones (`sha1` lists as `hmac(sha1)`), and `auth` lists as `auth-trunc` with its truncation.
 */
import type { XfrmPolicyAdd, XfrmSelector, XfrmStateAdd, XfrmStateFlag } from './xfrm-command.js';
import { resolveStateAlgorithms } from './state-algorithms.js';
import { hexKey, protocolName } from './words.js';

/** Bits of the non-ESN replay bitmap (struct xfrm_replay_state). */
const LEGACY_REPLAY_BITS = 32;
const BITMAP_WORDS_PER_LINE = 8;
const KEYS_HIDDEN = '<<Keys hidden>>';
const FLAG_ORDER: readonly XfrmStateFlag[] = ['af-unspec', 'esn'];

/** Live replay counters of an SA, when the data plane has them (all 0 for a fresh SA). */
export interface XfrmReplayCounters {
  /** Highest sequence number received (low 32 bits) and its high 32 bits with ESN. */
  readonly seq: number;
  readonly seqHi?: number;
  /** Last sequence number sent (low 32 bits) and its high 32 bits with ESN. */
  readonly oseq: number;
  readonly oseqHi?: number;
  /** Replay bitmap words, lowest first. */
  readonly bitmap?: readonly number[];
}

export interface StateListEntry {
  readonly state: XfrmStateAdd;
  readonly counters?: XfrmReplayCounters;
}

export interface PolicyListEntry {
  readonly policy: XfrmPolicyAdd;
  /** The daemon's id of the policy (`index` in `ip -s xfrm policy`). */
  readonly index?: number;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function usesEsnReplay(s: XfrmStateAdd): boolean {
  return s.flags.includes('esn') || s.replayWindow > LEGACY_REPLAY_BITS;
}

function selectorText(sel: XfrmSelector): string {
  let t = `src ${sel.src} dst ${sel.dst} `;
  if (sel.proto !== undefined) t += `proto ${protocolName(sel.proto)} `;
  if (sel.sport !== undefined) t += `sport ${sel.sport} `;
  if (sel.dport !== undefined) t += `dport ${sel.dport} `;
  if (sel.type !== undefined) t += `type ${sel.type} `;
  if (sel.code !== undefined) t += `code ${sel.code} `;
  return t;
}

function anySelector(addr: string): XfrmSelector {
  return addr.includes(':') ? { src: '::/0', dst: '::/0' } : { src: '0.0.0.0/0', dst: '0.0.0.0/0' };
}

/** One state in `ip xfrm state list` layout (ends with a newline). */
export function formatState(entry: StateListEntry, nokeys = false): string {
  const s = entry.state;
  const c = entry.counters ?? { seq: 0, oseq: 0 };
  const algs = resolveStateAlgorithms(s);
  const key = (k: Uint8Array): string => (nokeys ? KEYS_HIDDEN : hexKey(k));
  const esnReplay = usesEsnReplay(s);
  const lines: string[] = [`src ${s.src} dst ${s.dst}`];
  lines.push(`\tproto ${s.proto} spi 0x${hex8(s.spi)} reqid ${s.reqid} mode ${s.mode}`);
  const flags = FLAG_ORDER.filter((f) => s.flags.includes(f));
  lines.push(
    `\treplay-window ${esnReplay ? 0 : s.replayWindow} ${flags.length > 0 ? `flag ${flags.map((f) => `${f} `).join('')}` : ''}`,
  );
  if (algs.integ) lines.push(`\tauth-trunc ${algs.integ.xfrmName} ${key(algs.integ.key)} ${algs.integ.truncBits}`);
  if (algs.enc?.kind === 'aead') lines.push(`\taead ${algs.enc.xfrmName} ${key(algs.enc.key)} ${algs.enc.icvBits}`);
  if (algs.enc?.kind === 'enc') lines.push(`\tenc ${algs.enc.xfrmName} ${key(algs.enc.key)}`);
  if (s.encap) {
    lines.push(`\tencap type ${s.encap.type} sport ${s.encap.sport} dport ${s.encap.dport} addr ${s.encap.oa}`);
  }
  if (esnReplay) {
    const words = Math.ceil(s.replayWindow / 32);
    lines.push('\tanti-replay esn context:');
    lines.push(
      `\t seq-hi 0x${(c.seqHi ?? 0).toString(16)}, seq 0x${c.seq.toString(16)}, oseq-hi 0x${(c.oseqHi ?? 0).toString(16)}, oseq 0x${c.oseq.toString(16)}`,
    );
    let bitmapText = `\t replay_window ${s.replayWindow}, bitmap-length ${words}`;
    for (let i = words, j = 0; i > 0; i--, j++) {
      if (j % BITMAP_WORDS_PER_LINE === 0) bitmapText += '\n\t ';
      bitmapText += `${hex8(c.bitmap?.[i - 1] ?? 0)} `;
    }
    lines.push(bitmapText);
  } else {
    lines.push(
      `\tanti-replay context: seq 0x${c.seq.toString(16)}, oseq 0x${c.oseq.toString(16)}, bitmap 0x${hex8(c.bitmap?.[0] ?? 0)}`,
    );
  }
  // Linux prints no selector line when it is all zero: no `sel` given and `flag af-unspec` kept its family 0.
  if (s.sel !== undefined || !s.flags.includes('af-unspec')) {
    lines.push(`\tsel ${selectorText(s.sel ?? anySelector(s.src))}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `ip xfrm state list` output for a list of states. */
export function formatStateList(entries: readonly StateListEntry[], nokeys = false): string {
  return entries.map((e) => formatState(e, nokeys)).join('');
}

/** One policy in `ip xfrm policy list` layout (ends with a newline). */
export function formatPolicy(entry: PolicyListEntry): string {
  const p = entry.policy;
  const lines: string[] = [selectorText(p.sel)];
  lines.push(`\tdir ${p.dir} ${p.action === 'block' ? 'action block ' : ''}priority ${p.priority ?? 0} ptype main `);
  const zero = p.sel.src.includes(':') ? '::' : '0.0.0.0';
  for (const t of p.tmpls) {
    lines.push(`\ttmpl src ${t.src ?? zero} dst ${t.dst ?? zero}`);
    lines.push(
      `\t\tproto ${t.proto} ${t.spi !== undefined && t.spi !== 0 ? `spi 0x${hex8(t.spi)} ` : ''}reqid ${t.reqid} mode ${t.mode}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function formatPolicyList(entries: readonly PolicyListEntry[]): string {
  return entries.map(formatPolicy).join('');
}

// ---------------------------------------------------------------- JSON

/** JSON form of a selector: prefixes as text, protocol by number and name. */
export interface XfrmSelectorJson {
  src: string;
  dst: string;
  proto?: number;
  protoName?: string;
  sport?: number;
  dport?: number;
  type?: number;
  code?: number;
}

export interface XfrmStateJson {
  src: string;
  dst: string;
  proto: 'esp' | 'ah';
  /** SPI as a number and as iproute2 prints it. */
  spi: number;
  spiHex: string;
  reqid: number;
  mode: 'transport' | 'tunnel';
  replayWindow: number;
  flags: string[];
  dir: 'in' | 'out' | null;
  /** Keys as 0x-hex (the whole keymat: key || salt for AEADs and AES-CTR); null with nokeys. */
  aead?: { name: string; key: string | null; icvBits: number };
  enc?: { name: string; key: string | null };
  authTrunc?: { name: string; key: string | null; truncBits: number };
  encap?: { type: 'espinudp'; sport: number; dport: number; oa: string };
  sel: XfrmSelectorJson | null;
  limits?: { softBytes?: number; hardBytes?: number; softPackets?: number; hardPackets?: number };
  tfcpad?: number;
  counters?: XfrmReplayCounters;
}

export interface XfrmPolicyJson {
  sel: XfrmSelectorJson;
  dir: 'in' | 'out' | 'fwd';
  action: 'allow' | 'block';
  priority: number;
  index: number | null;
  tmpls: {
    src: string | null;
    dst: string | null;
    proto: 'esp' | 'ah';
    spi: number | null;
    mode: string;
    reqid: number;
  }[];
}

function selectorJson(sel: XfrmSelector): XfrmSelectorJson {
  return {
    src: sel.src,
    dst: sel.dst,
    ...(sel.proto !== undefined ? { proto: sel.proto, protoName: protocolName(sel.proto) } : {}),
    ...(sel.sport !== undefined ? { sport: sel.sport } : {}),
    ...(sel.dport !== undefined ? { dport: sel.dport } : {}),
    ...(sel.type !== undefined ? { type: sel.type } : {}),
    ...(sel.code !== undefined ? { code: sel.code } : {}),
  };
}

export function stateToJson(entry: StateListEntry, nokeys = false): XfrmStateJson {
  const s = entry.state;
  const algs = resolveStateAlgorithms(s);
  const key = (k: Uint8Array): string | null => (nokeys ? null : hexKey(k));
  return {
    src: s.src,
    dst: s.dst,
    proto: s.proto,
    spi: s.spi,
    spiHex: `0x${hex8(s.spi)}`,
    reqid: s.reqid,
    mode: s.mode,
    replayWindow: s.replayWindow,
    flags: FLAG_ORDER.filter((f) => s.flags.includes(f)),
    dir: s.dir ?? null,
    ...(algs.enc?.kind === 'aead'
      ? { aead: { name: algs.enc.xfrmName, key: key(algs.enc.key), icvBits: algs.enc.icvBits ?? 0 } }
      : {}),
    ...(algs.enc?.kind === 'enc' ? { enc: { name: algs.enc.xfrmName, key: key(algs.enc.key) } } : {}),
    ...(algs.integ
      ? { authTrunc: { name: algs.integ.xfrmName, key: key(algs.integ.key), truncBits: algs.integ.truncBits } }
      : {}),
    ...(s.encap ? { encap: { ...s.encap } } : {}),
    sel: s.sel ? selectorJson(s.sel) : null,
    ...(s.limits ? { limits: { ...s.limits } } : {}),
    ...(s.tfcpad !== undefined ? { tfcpad: s.tfcpad } : {}),
    ...(entry.counters ? { counters: entry.counters } : {}),
  };
}

export function policyToJson(entry: PolicyListEntry): XfrmPolicyJson {
  const p = entry.policy;
  return {
    sel: selectorJson(p.sel),
    dir: p.dir,
    action: p.action,
    priority: p.priority ?? 0,
    index: entry.index ?? null,
    tmpls: p.tmpls.map((t) => ({
      src: t.src ?? null,
      dst: t.dst ?? null,
      proto: t.proto,
      spi: t.spi ?? null,
      mode: t.mode,
      reqid: t.reqid,
    })),
  };
}
