/**
 * Parser for `ip xfrm` command lines (man ip-xfrm, iproute2's argument order rules) producing typed commands
 * (command.ts). Leading `ip xfrm` or `xfrm` words are optional. Supported: `state add|del|get|list|flush`,
 * `policy add|del|list|flush` for ESP and AH in transport and tunnel mode; anything else Linux knows is refused
 * with an XfrmError saying so, never ignored.
 */
import type { IpFamily } from '../io/types.js';
import type {
  XfrmAlgorithm,
  XfrmCommand,
  XfrmEncap,
  XfrmLimits,
  XfrmMode,
  XfrmPolicyAdd,
  XfrmPolicyDel,
  XfrmPolicyDir,
  XfrmPolicyList,
  XfrmProto,
  XfrmSelector,
  XfrmStateAdd,
  XfrmStateFlag,
  XfrmStateList,
  XfrmTmpl,
} from './command.js';
import { resolveStateAlgorithms } from './state-algorithms.js';
import { tokenizeXfrmLine } from './tokenize.js';
import type { XfrmToken } from './tokenize.js';
import { XfrmError } from './xfrm-error.js';
import type { ArgPosition } from './xfrm-error.js';
import { address, keyMaterial, parseUnsigned, prefix, protocol, u32 } from './words.js';

const PORT_PROTOCOLS: ReadonlySet<number> = new Set([6, 17, 33, 132]);
const TYPE_CODE_PROTOCOLS: ReadonlySet<number> = new Set([1, 58, 135]);
const SELECTOR_WORDS: ReadonlySet<string> = new Set(['src', 'dst', 'proto', 'sport', 'dport', 'type', 'code', 'dev']);
const U64_MAX = Number.MAX_SAFE_INTEGER;

/** A cursor over the words of one command. */
class Words {
  private i = 0;
  private readonly toks: readonly XfrmToken[];
  readonly lineEnd: ArgPosition;
  constructor(toks: readonly XfrmToken[], lineEnd: ArgPosition) {
    this.toks = toks;
    this.lineEnd = lineEnd;
  }
  peek(): XfrmToken | undefined {
    return this.toks[this.i];
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }
  take(): XfrmToken {
    const t = this.toks[this.i];
    if (t === undefined) throw new Error('Words.take past the end');
    this.i++;
    return t;
  }
  /** The value word after keyword `kw`, or an error naming kw. */
  value(kw: XfrmToken, argument: string, what: string): XfrmToken {
    const t = this.toks[this.i];
    if (t === undefined) throw new XfrmError(argument, `missing ${what}`, kw, `write ${argument} ${what}`);
    this.i++;
    return t;
  }
}

/** Parse one command line. Throws XfrmError. */
export function parseXfrmLine(line: string): XfrmCommand {
  const toks = tokenizeXfrmLine(line);
  const end = { word: toks.length + 1, column: line.length + 1 };
  let start = 0;
  if (toks[0]?.text === 'ip') {
    if (toks[1]?.text !== 'xfrm') {
      throw new XfrmError(
        '',
        `expected 'xfrm' after 'ip'`,
        toks[1] ?? end,
        'write ip xfrm state ... or ip xfrm policy ...',
      );
    }
    start = 2;
  } else if (toks[0]?.text === 'xfrm') start = 1;
  const w = new Words(toks.slice(start), end);
  if (w.done()) throw new XfrmError('', 'empty command', end, 'write state ... or policy ...');
  const obj = w.take();
  if (obj.text !== 'state' && obj.text !== 'policy') {
    const hint = obj.text === 'monitor' ? 'ip xfrm monitor is not supported' : 'the object is state or policy';
    throw new XfrmError('', `unknown object '${obj.text}'`, obj, hint);
  }
  if (w.done()) throw new XfrmError('', `missing command after '${obj.text}'`, end, 'e.g. add, del, list, flush');
  const verb = w.take();
  return obj.text === 'state' ? parseState(verb, w) : parsePolicy(verb, w);
}

function unsupportedVerb(object: string, verb: XfrmToken, supported: string): never {
  throw new XfrmError('', `'${object} ${verb.text}' is not supported`, verb, `supported: ${object} ${supported}`);
}

function parseState(verb: XfrmToken, w: Words): XfrmCommand {
  switch (verb.text) {
    case 'add':
      return parseStateAdd(w);
    case 'del':
    case 'delete':
    case 'get':
      return parseStateId(verb.text === 'get' ? 'get' : 'del', w);
    case 'list':
    case 'show':
    case 'ls':
    case 'lst':
      return parseStateList(w);
    case 'flush': {
      let proto: XfrmProto | undefined;
      while (!w.done()) {
        const kw = w.take();
        if (kw.text !== 'proto' || proto !== undefined) throw unknownArgument(kw, 'state flush [proto esp|ah]');
        proto = xfrmProto(w.value(kw, 'proto', 'esp|ah'));
      }
      return proto === undefined ? { object: 'state', verb: 'flush' } : { object: 'state', verb: 'flush', proto };
    }
    default:
      return unsupportedVerb('state', verb, 'add|del|get|list|flush');
  }
}

function unknownArgument(tok: XfrmToken, syntax: string): XfrmError {
  return new XfrmError(tok.text, `unexpected or unsupported argument '${tok.text}'`, tok, `syntax: ${syntax}`);
}

function duplicate(kw: XfrmToken): XfrmError {
  return new XfrmError(kw.text, 'given twice', kw, 'give it once');
}

function xfrmProto(tok: XfrmToken): XfrmProto {
  if (tok.text === 'esp' || tok.text === 'ah') return tok.text;
  const hint =
    tok.text === 'comp' || tok.text === 'route2' || tok.text === 'hao'
      ? `ts-ipsec implements esp and ah only, not ${tok.text}`
      : 'use esp or ah';
  throw new XfrmError('proto', `unsupported XFRM protocol '${tok.text}'`, tok, hint);
}

function xfrmMode(tok: XfrmToken): XfrmMode {
  if (tok.text === 'transport' || tok.text === 'tunnel') return tok.text;
  throw new XfrmError(
    'mode',
    `unsupported mode '${tok.text}'`,
    tok,
    'use transport or tunnel (beet, ro and in_trigger are not implemented)',
  );
}

function spiValue(tok: XfrmToken): number {
  const v = u32(tok, 'spi');
  if (v === 0) {
    throw new XfrmError('spi', 'SPI 0 must not be sent on the wire (RFC 4303 2.1)', tok, 'use 256 (0x100) or more');
  }
  return v;
}

/** The ID words of `state del|get`: src, dst, proto, spi. */
function parseStateId(verb: 'del' | 'get', w: Words): XfrmCommand {
  const seen: Record<string, XfrmToken> = {};
  let src: string | undefined;
  let dst: string | undefined;
  let proto: XfrmProto | undefined;
  let spi: number | undefined;
  while (!w.done()) {
    const kw = w.take();
    if (seen[kw.text] !== undefined) throw duplicate(kw);
    seen[kw.text] = kw;
    if (kw.text === 'src') src = address(w.value(kw, 'src', 'ADDR'), 'src').text;
    else if (kw.text === 'dst') dst = address(w.value(kw, 'dst', 'ADDR'), 'dst').text;
    else if (kw.text === 'proto') proto = xfrmProto(w.value(kw, 'proto', 'esp|ah'));
    else if (kw.text === 'spi') spi = spiValue(w.value(kw, 'spi', 'SPI'));
    else throw unknownArgument(kw, `state ${verb} [src ADDR] dst ADDR proto esp|ah spi SPI`);
  }
  for (const [name, v] of [
    ['dst', dst],
    ['proto', proto],
    ['spi', spi],
  ] as const) {
    if (v === undefined) throw new XfrmError(name, 'missing', w.lineEnd, `state ${verb} needs dst, proto and spi`);
  }
  const base = { object: 'state' as const, verb, dst: dst!, proto: proto!, spi: spi! };
  return src === undefined ? base : { ...base, src };
}

function parseStateList(w: Words): XfrmStateList {
  const out: { -readonly [K in keyof XfrmStateList]?: XfrmStateList[K] } = {};
  const seen = new Set<string>();
  while (!w.done()) {
    const kw = w.take();
    if (seen.has(kw.text)) throw duplicate(kw);
    seen.add(kw.text);
    if (kw.text === 'src') out.src = address(w.value(kw, 'src', 'ADDR'), 'src').text;
    else if (kw.text === 'dst') out.dst = address(w.value(kw, 'dst', 'ADDR'), 'dst').text;
    else if (kw.text === 'proto') out.proto = xfrmProto(w.value(kw, 'proto', 'esp|ah'));
    else if (kw.text === 'spi') out.spi = u32(w.value(kw, 'spi', 'SPI'), 'spi');
    else if (kw.text === 'mode') out.mode = xfrmMode(w.value(kw, 'mode', 'transport|tunnel'));
    else if (kw.text === 'reqid') out.reqid = u32(w.value(kw, 'reqid', 'REQID'), 'reqid');
    else if (kw.text === 'nokeys') out.nokeys = true;
    else throw unknownArgument(kw, 'state list [src ADDR] [dst ADDR] [proto P] [spi SPI] [mode M] [reqid R] [nokeys]');
  }
  return { ...out, object: 'state', verb: 'list', nokeys: out.nokeys ?? false } as XfrmStateList;
}

const STATE_FLAGS: ReadonlySet<string> = new Set([
  'noecn',
  'decap-dscp',
  'nopmtudisc',
  'wildrecv',
  'icmp',
  'af-unspec',
  'align4',
  'esn',
]);
const REFUSED_STATE_ARGS: Readonly<Record<string, string>> = {
  mark: 'marks are not supported',
  ctx: 'security contexts are not supported',
  coa: 'care-of addresses are Mobile IPv6 only',
  seq: 'the SA sequence number is not settable',
  'replay-seq': 'replay counters start at 0 and are not settable',
  'replay-oseq': 'replay counters start at 0 and are not settable',
  'replay-seq-hi': 'replay counters start at 0 and are not settable',
  'replay-oseq-hi': 'replay counters start at 0 and are not settable',
  'extra-flag': 'extra flags are not supported',
  'output-mark': 'output marks are not supported',
  if_id: 'XFRM interfaces are not supported',
  offload: 'hardware offload is not supported',
  comp: 'IPComp is not implemented',
};

function parseStateAdd(w: Words): XfrmStateAdd {
  const positions: Record<string, ArgPosition> = {};
  const algorithms: XfrmAlgorithm[] = [];
  const flags: XfrmStateFlag[] = [];
  const limits: { -readonly [K in keyof XfrmLimits]: XfrmLimits[K] } = {};
  let src: { text: string; family: IpFamily } | undefined;
  let dst: { text: string; family: IpFamily } | undefined;
  let proto: XfrmProto | undefined;
  let spi: number | undefined;
  let reqid = 0;
  let mode: XfrmMode = 'transport';
  let replayWindow = 0;
  let encap: XfrmEncap | undefined;
  let sel: XfrmSelector | undefined;
  let dir: 'in' | 'out' | undefined;
  let tfcpad: number | undefined;
  const once = (kw: XfrmToken, name = kw.text): void => {
    if (positions[name] !== undefined) throw duplicate(kw);
    positions[name] = { word: kw.word, column: kw.column };
  };
  while (!w.done()) {
    const kw = w.take();
    switch (kw.text) {
      case 'src':
        once(kw);
        src = address(w.value(kw, 'src', 'ADDR'), 'src');
        break;
      case 'dst':
        once(kw);
        dst = address(w.value(kw, 'dst', 'ADDR'), 'dst');
        break;
      case 'proto':
        once(kw);
        proto = xfrmProto(w.value(kw, 'proto', 'esp|ah'));
        break;
      case 'spi':
        once(kw);
        spi = spiValue(w.value(kw, 'spi', 'SPI'));
        break;
      case 'reqid':
        once(kw);
        reqid = u32(w.value(kw, 'reqid', 'REQID'), 'reqid');
        break;
      case 'mode':
        once(kw);
        mode = xfrmMode(w.value(kw, 'mode', 'transport|tunnel'));
        break;
      case 'replay-window':
        once(kw);
        replayWindow = u32(w.value(kw, 'replay-window', 'SIZE'), 'replay-window');
        break;
      case 'dir': {
        once(kw);
        const d = w.value(kw, 'dir', 'in|out');
        if (d.text !== 'in' && d.text !== 'out') {
          throw new XfrmError('dir', `a state's direction is in or out, not '${d.text}'`, d, 'write dir in or dir out');
        }
        dir = d.text;
        break;
      }
      case 'flag': {
        once(kw);
        let n = 0;
        for (
          let t = w.peek();
          t !== undefined && (STATE_FLAGS.has(t.text) || /^0x[0-9a-f]+$/i.test(t.text));
          t = w.peek()
        ) {
          w.take();
          n++;
          if (t.text === 'esn' || t.text === 'af-unspec') {
            if (!flags.includes(t.text)) flags.push(t.text);
          } else {
            throw new XfrmError(
              'flag',
              `flag '${t.text}' is not supported`,
              t,
              'ts-ipsec accepts the flags esn and af-unspec',
            );
          }
        }
        if (n === 0) {
          const t = w.peek();
          throw new XfrmError(
            'flag',
            t === undefined ? 'missing FLAG' : `unknown flag '${t.text}'`,
            t ?? kw,
            'use flag esn',
          );
        }
        break;
      }
      case 'enc':
      case 'auth': {
        const name = w.value(kw, kw.text, 'ALGO-NAME');
        const key = w.value(kw, kw.text, 'ALGO-KEYMAT');
        algorithms.push({ type: kw.text, name: name.text, key: keyMaterial(key, kw.text), at: kw });
        break;
      }
      case 'auth-trunc':
      case 'aead': {
        const what = kw.text === 'aead' ? 'ALGO-ICV-LEN' : 'ALGO-TRUNC-LEN';
        const name = w.value(kw, kw.text, 'ALGO-NAME');
        const key = w.value(kw, kw.text, 'ALGO-KEYMAT');
        const bits = u32(w.value(kw, kw.text, what), kw.text, 0xffff);
        algorithms.push({ type: kw.text, name: name.text, key: keyMaterial(key, kw.text), bits, at: kw });
        break;
      }
      case 'encap':
        once(kw);
        encap = parseEncap(kw, w);
        break;
      case 'sel':
        once(kw);
        sel = parseSelector(w, kw, 'sel');
        break;
      case 'limit':
        parseLimit(kw, w, limits);
        break;
      case 'tfcpad':
        once(kw);
        tfcpad = u32(w.value(kw, 'tfcpad', 'LENGTH'), 'tfcpad', 0xffff);
        break;
      default: {
        const why = REFUSED_STATE_ARGS[kw.text];
        if (why !== undefined) throw new XfrmError(kw.text, `not supported: ${why}`, kw, 'remove it');
        throw unknownArgument(
          kw,
          'state add src ADDR dst ADDR proto esp|ah spi SPI [reqid R] [mode M] ALGO... (see man ip-xfrm)',
        );
      }
    }
  }
  if (src === undefined) throw missing('src', w, 'state add needs src ADDR');
  if (dst === undefined) throw missing('dst', w, 'state add needs dst ADDR');
  if (proto === undefined) throw missing('proto', w, 'state add needs proto esp or proto ah');
  if (spi === undefined) throw missing('spi', w, 'state add needs spi SPI');
  if (src.family !== dst.family) {
    throw new XfrmError(
      'dst',
      'src and dst are of different address families',
      positions['dst'],
      'use two IPv4 or two IPv6 addresses',
    );
  }
  if (encap !== undefined && proto !== 'esp') {
    throw new XfrmError(
      'encap',
      'ESP-in-UDP encapsulation is for ESP only (RFC 3948)',
      positions['encap'],
      'remove encap',
    );
  }
  if (tfcpad !== undefined && (proto !== 'esp' || mode !== 'tunnel')) {
    throw new XfrmError(
      'tfcpad',
      'TFC padding needs ESP in tunnel mode (RFC 4303 2.7)',
      positions['tfcpad'],
      'remove tfcpad',
    );
  }
  if (flags.includes('esn') && replayWindow === 0) {
    // Linux refuses ESN without a replay window as well (XFRMA_REPLAY_ESN_VAL needs a window).
    throw new XfrmError('flag', 'flag esn needs a replay window', positions['flag'], 'add replay-window N (e.g. 128)');
  }
  const cmd: XfrmStateAdd = {
    object: 'state',
    verb: 'add',
    src: src.text,
    dst: dst.text,
    proto,
    spi,
    reqid,
    mode,
    replayWindow,
    flags,
    algorithms,
    ...(encap ? { encap } : {}),
    ...(sel ? { sel } : {}),
    ...(dir ? { dir } : {}),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
    ...(tfcpad !== undefined ? { tfcpad } : {}),
    positions,
  };
  resolveStateAlgorithms(cmd);
  return cmd;
}

function missing(argument: string, w: Words, hint: string): XfrmError {
  return new XfrmError(argument, 'missing', w.lineEnd, hint);
}

function parseEncap(kw: XfrmToken, w: Words): XfrmEncap {
  const type = w.value(kw, 'encap', 'espinudp SPORT DPORT OADDR');
  if (type.text !== 'espinudp') {
    const why =
      type.text === 'espinudp-nonike'
        ? 'non-IKE markers (draft-ietf-ipsec-udp-encaps-00) are not implemented'
        : type.text === 'espintcp'
          ? 'ESP in TCP (RFC 8229) is not implemented'
          : `unknown type '${type.text}'`;
    throw new XfrmError('encap', why, type, 'use encap espinudp SPORT DPORT 0.0.0.0 (RFC 3948)');
  }
  const sport = u32(w.value(kw, 'encap', 'SPORT'), 'encap', 0xffff);
  const dport = u32(w.value(kw, 'encap', 'DPORT'), 'encap', 0xffff);
  const oa = address(w.value(kw, 'encap', 'OADDR'), 'encap').text;
  return { type: 'espinudp', sport, dport, oa };
}

function parseLimit(kw: XfrmToken, w: Words, limits: { -readonly [K in keyof XfrmLimits]: XfrmLimits[K] }): void {
  const which = w.value(kw, 'limit', 'LIMIT');
  const field = (
    {
      'byte-soft': 'softBytes',
      'byte-hard': 'hardBytes',
      'packet-soft': 'softPackets',
      'packet-hard': 'hardPackets',
    } as const
  )[which.text as 'byte-soft'];
  if (field === undefined) {
    const hint = which.text.startsWith('time-')
      ? 'time limits are not supported for manual SAs; use byte-soft, byte-hard, packet-soft or packet-hard'
      : 'use byte-soft, byte-hard, packet-soft or packet-hard';
    throw new XfrmError('limit', `unsupported limit '${which.text}'`, which, hint);
  }
  if (limits[field] !== undefined) throw duplicate(which);
  const v = w.value(kw, 'limit', 'COUNT');
  const n = parseUnsigned(v.text, U64_MAX);
  if (n === undefined) throw new XfrmError('limit', `'${v.text}' is not a count`, v, 'write a decimal number');
  limits[field] = n;
}

/**
 * SELECTOR := [src ADDR[/PLEN]] [dst ADDR[/PLEN]] [proto P [sport N] [dport N] | [type N] [code N]], words in
 * any order; consumes words as long as they are selector keywords. `kw` is where the selector starts.
 */
function parseSelector(w: Words, kw: XfrmToken, argument: string, partial = false): XfrmSelector {
  const seen = new Set<string>();
  let src: { text: string; family: IpFamily } | undefined;
  let dst: { text: string; family: IpFamily } | undefined;
  let proto: number | undefined;
  const ports: { sport?: number; dport?: number; type?: number; code?: number } = {};
  const portAt: Record<string, XfrmToken> = {};
  for (let t = w.peek(); t !== undefined && SELECTOR_WORDS.has(t.text); t = w.peek()) {
    const k = w.take();
    const arg = `${argument === 'sel' ? 'sel ' : ''}${k.text}`;
    if (seen.has(k.text)) throw duplicate(k);
    seen.add(k.text);
    if (k.text === 'src') src = prefix(w.value(k, arg, 'ADDR[/PLEN]'), arg);
    else if (k.text === 'dst') dst = prefix(w.value(k, arg, 'ADDR[/PLEN]'), arg);
    else if (k.text === 'proto') proto = protocol(w.value(k, arg, 'PROTO'), arg);
    else if (k.text === 'dev') throw new XfrmError(arg, 'device selectors are not supported', k, 'remove dev DEV');
    else {
      ports[k.text as 'sport'] = u32(
        w.value(k, arg, 'NUMBER'),
        arg,
        k.text === 'sport' || k.text === 'dport' ? 0xffff : 0xff,
      );
      portAt[k.text] = k;
    }
  }
  if (src === undefined && dst === undefined && !partial) {
    throw new XfrmError(
      argument,
      'missing src and dst',
      kw,
      `write ${argument === 'sel' ? 'sel ' : ''}src PREFIX dst PREFIX`,
    );
  }
  if (src !== undefined && dst !== undefined && src.family !== dst.family) {
    throw new XfrmError(
      argument,
      'src and dst are of different address families',
      kw,
      'use two IPv4 or two IPv6 prefixes',
    );
  }
  const family = (src ?? dst)?.family ?? 4;
  const any = family === 4 ? '0.0.0.0/0' : '::/0';
  for (const [name, tok] of Object.entries(portAt)) {
    const isPort = name === 'sport' || name === 'dport';
    const okSet = isPort ? PORT_PROTOCOLS : TYPE_CODE_PROTOCOLS;
    if (proto === undefined || !okSet.has(proto)) {
      throw new XfrmError(
        `${argument === 'sel' ? 'sel ' : ''}${name}`,
        `'${name}' needs proto ${isPort ? 'tcp, udp, sctp or dccp' : 'icmp, ipv6-icmp or mobility-header'}`,
        tok,
        `write proto ${isPort ? 'udp' : 'icmp'} before ${name}`,
      );
    }
  }
  if (partial) {
    return {
      ...(src ? { src: src.text } : {}),
      ...(dst ? { dst: dst.text } : {}),
      ...(proto !== undefined ? { proto } : {}),
      ...ports,
    } as XfrmSelector;
  }
  return { src: src?.text ?? any, dst: dst?.text ?? any, ...(proto !== undefined ? { proto } : {}), ...ports };
}

function parsePolicy(verb: XfrmToken, w: Words): XfrmCommand {
  switch (verb.text) {
    case 'add':
      return parsePolicyAdd(w);
    case 'del':
    case 'delete':
      return parsePolicyDel(w);
    case 'list':
    case 'show':
    case 'ls':
    case 'lst':
      return parsePolicyList(w);
    case 'flush':
      while (!w.done()) {
        const kw = w.take();
        if (kw.text !== 'ptype') throw unknownArgument(kw, 'policy flush [ptype main]');
        ptype(w.value(kw, 'ptype', 'main'));
      }
      return { object: 'policy', verb: 'flush' };
    default:
      return unsupportedVerb('policy', verb, 'add|del|list|flush');
  }
}

function policyDir(tok: XfrmToken): XfrmPolicyDir {
  if (tok.text === 'in' || tok.text === 'out' || tok.text === 'fwd') return tok.text;
  throw new XfrmError('dir', `unknown direction '${tok.text}'`, tok, 'use in, out or fwd');
}

function ptype(tok: XfrmToken): void {
  if (tok.text !== 'main')
    throw new XfrmError('ptype', `policy type '${tok.text}' is not supported`, tok, 'use ptype main or leave it out');
}

const REFUSED_POLICY_ARGS: Readonly<Record<string, string>> = {
  ctx: 'security contexts are not supported',
  mark: 'marks are not supported',
  index: 'policy indexes are assigned by the daemon',
  flag: 'policy flags (localok, icmp) are not supported',
  if_id: 'XFRM interfaces are not supported',
  limit: 'policy lifetimes are not supported',
};

function parsePolicyAdd(w: Words): XfrmPolicyAdd {
  const positions: Record<string, ArgPosition> = {};
  const tmpls: XfrmTmpl[] = [];
  let sel: XfrmSelector | undefined;
  let dir: XfrmPolicyDir | undefined;
  let priority: number | undefined;
  let action: 'allow' | 'block' = 'allow';
  const once = (kw: XfrmToken, name = kw.text): void => {
    if (positions[name] !== undefined) throw duplicate(kw);
    positions[name] = { word: kw.word, column: kw.column };
  };
  while (!w.done()) {
    const kw = w.peek()!;
    if (SELECTOR_WORDS.has(kw.text)) {
      if (sel !== undefined)
        throw new XfrmError(
          kw.text,
          'the selector must be written in one piece',
          kw,
          'write src, dst, proto and ports together',
        );
      positions['sel'] = { word: kw.word, column: kw.column };
      sel = parseSelector(w, kw, 'selector');
      continue;
    }
    w.take();
    switch (kw.text) {
      case 'dir':
        once(kw);
        dir = policyDir(w.value(kw, 'dir', 'in|out|fwd'));
        break;
      case 'priority':
        once(kw);
        priority = u32(w.value(kw, 'priority', 'PRIORITY'), 'priority');
        break;
      case 'action': {
        once(kw);
        const a = w.value(kw, 'action', 'allow|block');
        if (a.text !== 'allow' && a.text !== 'block')
          throw new XfrmError('action', `unknown action '${a.text}'`, a, 'use allow or block');
        action = a.text;
        break;
      }
      case 'ptype':
        once(kw);
        ptype(w.value(kw, 'ptype', 'main'));
        break;
      case 'tmpl':
        tmpls.push(parseTmpl(kw, w));
        break;
      default: {
        const why = REFUSED_POLICY_ARGS[kw.text];
        if (why !== undefined) throw new XfrmError(kw.text, `not supported: ${why}`, kw, 'remove it');
        throw unknownArgument(kw, 'policy add SELECTOR dir in|out|fwd [priority N] [action allow|block] [tmpl ...]');
      }
    }
  }
  if (sel === undefined) throw missing('selector', w, 'policy add needs src PREFIX dst PREFIX');
  if (dir === undefined) throw missing('dir', w, 'policy add needs dir in, out or fwd');
  if (tmpls.length > 1) {
    throw new XfrmError(
      'tmpl',
      'SA bundles (more than one tmpl) are not supported',
      tmpls[1]!.at,
      'give one tmpl per policy',
    );
  }
  return {
    object: 'policy',
    verb: 'add',
    sel,
    dir,
    ...(priority !== undefined ? { priority } : {}),
    action,
    tmpls,
    positions,
  };
}

/** TMPL := [src ADDR] [dst ADDR] [proto esp|ah] [spi SPI] [mode M] [reqid R] [level required]. */
function parseTmpl(kw: XfrmToken, w: Words): XfrmTmpl {
  const seen = new Set<string>();
  const t: { src?: string; dst?: string; proto?: XfrmProto; spi?: number; mode?: XfrmMode; reqid?: number } = {};
  const words = new Set(['src', 'dst', 'proto', 'spi', 'mode', 'reqid', 'level']);
  let family: IpFamily | undefined;
  for (let p = w.peek(); p !== undefined && words.has(p.text); p = w.peek()) {
    const k = w.take();
    const arg = `tmpl ${k.text}`;
    if (seen.has(k.text)) throw duplicate(k);
    seen.add(k.text);
    if (k.text === 'src' || k.text === 'dst') {
      const a = address(w.value(k, arg, 'ADDR'), arg);
      if (family !== undefined && family !== a.family) {
        throw new XfrmError(
          arg,
          'src and dst are of different address families',
          k,
          'use two IPv4 or two IPv6 addresses',
        );
      }
      family = a.family;
      t[k.text] = a.text;
    } else if (k.text === 'proto') t.proto = xfrmProto(w.value(k, arg, 'esp|ah'));
    else if (k.text === 'spi') t.spi = u32(w.value(k, arg, 'SPI'), arg);
    else if (k.text === 'mode') t.mode = xfrmMode(w.value(k, arg, 'transport|tunnel'));
    else if (k.text === 'reqid') t.reqid = u32(w.value(k, arg, 'REQID'), arg);
    else {
      const level = w.value(k, arg, 'required');
      if (level.text !== 'required') {
        throw new XfrmError(
          arg,
          `level '${level.text}' is not supported`,
          level,
          'optional templates (level use) are not implemented; use level required',
        );
      }
    }
  }
  if (t.proto === undefined) throw new XfrmError('tmpl', 'missing proto', kw, 'write tmpl ... proto esp (or ah)');
  const mode = t.mode ?? 'transport';
  if (mode === 'tunnel' && (t.src === undefined || t.dst === undefined)) {
    throw new XfrmError(
      'tmpl',
      'a tunnel-mode template needs src and dst (the tunnel endpoints)',
      kw,
      'write tmpl src ADDR dst ADDR proto esp mode tunnel reqid N',
    );
  }
  return {
    ...(t.src !== undefined ? { src: t.src } : {}),
    ...(t.dst !== undefined ? { dst: t.dst } : {}),
    proto: t.proto,
    ...(t.spi !== undefined ? { spi: t.spi } : {}),
    mode,
    reqid: t.reqid ?? 0,
    at: { word: kw.word, column: kw.column },
  };
}

function parsePolicyDel(w: Words): XfrmPolicyDel {
  let sel: XfrmSelector | undefined;
  let dir: XfrmPolicyDir | undefined;
  let index: number | undefined;
  while (!w.done()) {
    const kw = w.peek()!;
    if (SELECTOR_WORDS.has(kw.text) && sel === undefined && index === undefined) {
      sel = parseSelector(w, kw, 'selector');
      continue;
    }
    w.take();
    if (kw.text === 'dir' && dir === undefined) dir = policyDir(w.value(kw, 'dir', 'in|out|fwd'));
    else if (kw.text === 'index' && index === undefined && sel === undefined)
      index = u32(w.value(kw, 'index', 'INDEX'), 'index');
    else if (kw.text === 'ptype') ptype(w.value(kw, 'ptype', 'main'));
    else throw unknownArgument(kw, 'policy del { SELECTOR | index INDEX } dir in|out|fwd');
  }
  if (dir === undefined) throw missing('dir', w, 'policy del needs dir in, out or fwd');
  if (sel === undefined && index === undefined)
    throw missing('selector', w, 'policy del needs src PREFIX dst PREFIX or index N');
  return { object: 'policy', verb: 'del', ...(sel ? { sel } : {}), ...(index !== undefined ? { index } : {}), dir };
}

function parsePolicyList(w: Words): XfrmPolicyList {
  const out: { -readonly [K in keyof XfrmPolicyList]?: XfrmPolicyList[K] } = {};
  const seen = new Set<string>();
  while (!w.done()) {
    const kw = w.peek()!;
    if (SELECTOR_WORDS.has(kw.text) && out.sel === undefined) {
      out.sel = parseSelector(w, kw, 'selector', true);
      continue;
    }
    w.take();
    if (seen.has(kw.text)) throw duplicate(kw);
    seen.add(kw.text);
    if (kw.text === 'dir') out.dir = policyDir(w.value(kw, 'dir', 'in|out|fwd'));
    else if (kw.text === 'priority') out.priority = u32(w.value(kw, 'priority', 'PRIORITY'), 'priority');
    else if (kw.text === 'index') out.index = u32(w.value(kw, 'index', 'INDEX'), 'index');
    else if (kw.text === 'ptype') ptype(w.value(kw, 'ptype', 'main'));
    else if (kw.text === 'action') {
      const a = w.value(kw, 'action', 'allow|block');
      if (a.text !== 'allow' && a.text !== 'block')
        throw new XfrmError('action', `unknown action '${a.text}'`, a, 'use allow or block');
      out.action = a.text;
    } else throw unknownArgument(kw, 'policy list [SELECTOR] [dir DIR] [priority N] [action A] [index N]');
  }
  return { ...out, object: 'policy', verb: 'list' } as XfrmPolicyList;
}
