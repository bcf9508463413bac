/** `ip xfrm policy add|del|list|flush` (man ip-xfrm), producing typed commands (command.ts). */
import type { IpFamily } from '../io/types.js';
import type {
  XfrmCommand,
  XfrmMode,
  XfrmPolicyAdd,
  XfrmPolicyDel,
  XfrmPolicyDir,
  XfrmPolicyList,
  XfrmProto,
  XfrmSelector,
  XfrmTmpl,
} from './xfrm-command.js';
import type { Words } from './parse-cursor.js';
import {
  SELECTOR_WORDS,
  duplicate,
  missing,
  parseSelector,
  unknownArgument,
  unsupportedVerb,
  xfrmMode,
  xfrmProto,
} from './parse-cursor.js';
import type { XfrmToken } from './tokenize.js';
import { XfrmError } from './xfrm-error.js';
import type { ArgPosition } from './xfrm-error.js';
import { address, u32 } from './words.js';

export function parsePolicy(verb: XfrmToken, w: Words): XfrmCommand {
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
