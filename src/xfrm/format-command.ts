/**
 * A typed command back to one `ip xfrm` command line (without the leading `ip xfrm`), in a fixed argument
 * order with keys as 0x-hex and algorithm names quoted: parseXfrmLine(formatXfrmCommand(c)) gives c again
 * (argument positions aside).
 */
import type { XfrmCommand, XfrmSelector, XfrmTmpl } from './xfrm-command.js';
import { quoteXfrmWord } from './tokenize.js';
import { hexKey, protocolName } from './words.js';

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

function selectorWords(sel: Partial<XfrmSelector>): string[] {
  const w: string[] = [];
  if (sel.src !== undefined) w.push('src', sel.src);
  if (sel.dst !== undefined) w.push('dst', sel.dst);
  if (sel.proto !== undefined) w.push('proto', protocolName(sel.proto));
  if (sel.sport !== undefined) w.push('sport', String(sel.sport));
  if (sel.dport !== undefined) w.push('dport', String(sel.dport));
  if (sel.type !== undefined) w.push('type', String(sel.type));
  if (sel.code !== undefined) w.push('code', String(sel.code));
  return w;
}

function tmplWords(t: XfrmTmpl): string[] {
  const w = ['tmpl'];
  if (t.src !== undefined) w.push('src', t.src);
  if (t.dst !== undefined) w.push('dst', t.dst);
  w.push('proto', t.proto);
  if (t.spi !== undefined) w.push('spi', hex(t.spi));
  w.push('mode', t.mode, 'reqid', String(t.reqid));
  return w;
}

/** Empty keys are written "" (a bare 0x would be read by iproute2 as the two characters '0x'). */
function keyWord(k: Uint8Array): string {
  return k.length === 0 ? '""' : hexKey(k);
}

export function formatXfrmCommand(c: XfrmCommand): string {
  const w: string[] = [c.object];
  if (c.object === 'state') {
    w.push(c.verb);
    switch (c.verb) {
      case 'add': {
        w.push('src', c.src, 'dst', c.dst, 'proto', c.proto, 'spi', hex(c.spi), 'reqid', String(c.reqid));
        w.push('mode', c.mode, 'replay-window', String(c.replayWindow));
        if (c.flags.length > 0) w.push('flag', ...c.flags);
        for (const a of c.algorithms) {
          w.push(a.type, quoteXfrmWord(a.name), keyWord(a.key));
          if (a.bits !== undefined) w.push(String(a.bits));
        }
        if (c.encap) w.push('encap', c.encap.type, String(c.encap.sport), String(c.encap.dport), c.encap.oa);
        if (c.sel) w.push('sel', ...selectorWords(c.sel));
        if (c.dir) w.push('dir', c.dir);
        if (c.limits) {
          const l = c.limits;
          if (l.softBytes !== undefined) w.push('limit', 'byte-soft', String(l.softBytes));
          if (l.hardBytes !== undefined) w.push('limit', 'byte-hard', String(l.hardBytes));
          if (l.softPackets !== undefined) w.push('limit', 'packet-soft', String(l.softPackets));
          if (l.hardPackets !== undefined) w.push('limit', 'packet-hard', String(l.hardPackets));
        }
        if (c.tfcpad !== undefined) w.push('tfcpad', String(c.tfcpad));
        break;
      }
      case 'del':
      case 'get':
        if (c.src !== undefined) w.push('src', c.src);
        w.push('dst', c.dst, 'proto', c.proto, 'spi', hex(c.spi));
        break;
      case 'list':
        if (c.src !== undefined) w.push('src', c.src);
        if (c.dst !== undefined) w.push('dst', c.dst);
        if (c.proto !== undefined) w.push('proto', c.proto);
        if (c.spi !== undefined) w.push('spi', hex(c.spi));
        if (c.mode !== undefined) w.push('mode', c.mode);
        if (c.reqid !== undefined) w.push('reqid', String(c.reqid));
        if (c.nokeys) w.push('nokeys');
        break;
      case 'flush':
        if (c.proto !== undefined) w.push('proto', c.proto);
        break;
    }
    return w.join(' ');
  }
  w.push(c.verb);
  switch (c.verb) {
    case 'add':
      w.push(...selectorWords(c.sel), 'dir', c.dir);
      if (c.priority !== undefined) w.push('priority', String(c.priority));
      w.push('action', c.action);
      for (const t of c.tmpls) w.push(...tmplWords(t));
      break;
    case 'del':
      if (c.sel) w.push(...selectorWords(c.sel));
      if (c.index !== undefined) w.push('index', String(c.index));
      w.push('dir', c.dir);
      break;
    case 'list':
      if (c.sel) w.push(...selectorWords(c.sel));
      if (c.dir !== undefined) w.push('dir', c.dir);
      if (c.priority !== undefined) w.push('priority', String(c.priority));
      if (c.action !== undefined) w.push('action', c.action);
      if (c.index !== undefined) w.push('index', String(c.index));
      break;
    case 'flush':
      break;
  }
  return w.join(' ');
}
