/**
 * Parser for `ip xfrm` command lines (man ip-xfrm, iproute2's argument order rules) producing typed commands
 * (command.ts). Leading `ip xfrm` or `xfrm` words are optional. Supported: `state add|del|get|list|flush`,
 * `policy add|del|list|flush` for ESP and AH in transport and tunnel mode; anything else Linux knows is refused
 * with an XfrmError saying so, never ignored.
 */
import type { XfrmCommand } from './xfrm-command.js';
import { Words } from './parse-cursor.js';
import { parsePolicy } from './parse-policy.js';
import { parseState } from './parse-state.js';
import { tokenizeXfrmLine } from './tokenize.js';
import { XfrmError } from './xfrm-error.js';

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
