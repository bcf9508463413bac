/**
 * Shared pieces of the `ip xfrm` parser: a cursor over a command's words, value readers for the XFRM
 * protocol, mode and SPI, the SELECTOR grammar of states and policies, and the common error shapes.
 */
import type { IpFamily } from '../io/types.js';
import type { XfrmMode, XfrmProto, XfrmSelector } from './xfrm-command.js';
import type { XfrmToken } from './tokenize.js';
import { XfrmError } from './xfrm-error.js';
import type { ArgPosition } from './xfrm-error.js';
import { prefix, protocol, u32 } from './words.js';

const PORT_PROTOCOLS: ReadonlySet<number> = new Set([6, 17, 33, 132]);
const TYPE_CODE_PROTOCOLS: ReadonlySet<number> = new Set([1, 58, 135]);
export const SELECTOR_WORDS: ReadonlySet<string> = new Set([
  'src',
  'dst',
  'proto',
  'sport',
  'dport',
  'type',
  'code',
  'dev',
]);

/** A cursor over the words of one command. */
export class Words {
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

export function unsupportedVerb(object: string, verb: XfrmToken, supported: string): never {
  throw new XfrmError('', `'${object} ${verb.text}' is not supported`, verb, `supported: ${object} ${supported}`);
}

export function unknownArgument(tok: XfrmToken, syntax: string): XfrmError {
  return new XfrmError(tok.text, `unexpected or unsupported argument '${tok.text}'`, tok, `syntax: ${syntax}`);
}

export function duplicate(kw: XfrmToken): XfrmError {
  return new XfrmError(kw.text, 'given twice', kw, 'give it once');
}

export function xfrmProto(tok: XfrmToken): XfrmProto {
  if (tok.text === 'esp' || tok.text === 'ah') return tok.text;
  const hint =
    tok.text === 'comp' || tok.text === 'route2' || tok.text === 'hao'
      ? `ts-ipsec implements esp and ah only, not ${tok.text}`
      : 'use esp or ah';
  throw new XfrmError('proto', `unsupported XFRM protocol '${tok.text}'`, tok, hint);
}

export function xfrmMode(tok: XfrmToken): XfrmMode {
  if (tok.text === 'transport' || tok.text === 'tunnel') return tok.text;
  throw new XfrmError(
    'mode',
    `unsupported mode '${tok.text}'`,
    tok,
    'use transport or tunnel (beet, ro and in_trigger are not implemented)',
  );
}

export function spiValue(tok: XfrmToken): number {
  const v = u32(tok, 'spi');
  if (v === 0) {
    throw new XfrmError('spi', 'SPI 0 must not be sent on the wire (RFC 4303 2.1)', tok, 'use 256 (0x100) or more');
  }
  return v;
}

export function missing(argument: string, w: Words, hint: string): XfrmError {
  return new XfrmError(argument, 'missing', w.lineEnd, hint);
}

/**
 * SELECTOR := [src ADDR[/PLEN]] [dst ADDR[/PLEN]] [proto P [sport N] [dport N] | [type N] [code N]], words in
 * any order; consumes words as long as they are selector keywords. `kw` is where the selector starts.
 */
export function parseSelector(w: Words, kw: XfrmToken, argument: string, partial = false): XfrmSelector {
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
