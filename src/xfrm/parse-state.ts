/** `ip xfrm state add|del|get|list|flush` (man ip-xfrm), producing typed commands (command.ts). */
import type { IpFamily } from '../io/types.js';
import type {
  XfrmAlgorithm,
  XfrmCommand,
  XfrmEncap,
  XfrmLimits,
  XfrmMode,
  XfrmProto,
  XfrmSelector,
  XfrmStateAdd,
  XfrmStateFlag,
  XfrmStateList,
} from './xfrm-command.js';
import type { Words } from './parse-cursor.js';
import {
  duplicate,
  missing,
  parseSelector,
  spiValue,
  unknownArgument,
  unsupportedVerb,
  xfrmMode,
  xfrmProto,
} from './parse-cursor.js';
import { resolveStateAlgorithms } from './state-algorithms.js';
import type { XfrmToken } from './tokenize.js';
import { XfrmError } from './xfrm-error.js';
import type { ArgPosition } from './xfrm-error.js';
import { address, keyMaterial, parseUnsigned, u32 } from './words.js';

const U64_MAX = Number.MAX_SAFE_INTEGER;

export function parseState(verb: XfrmToken, w: Words): XfrmCommand {
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
