/**
 * Tokenizer for strongSwan's settings syntax (strongswan.conf(5), shared by swanctl.conf(5)), following the
 * lexical rules of strongSwan 5.9:
 *
 * - names (section names and keys) are runs of any character except `# { } : . , = "` and white space;
 * - `#` starts a comment that runs to the end of the line;
 * - after `=` the value runs to the end of the line, to `#` or to `}`; it is made of unquoted parts (any character
 *   except `# } "` and white space) and quoted strings, joined by a single space; `key =` alone clears the key;
 * - quoted strings know the escapes `\n`, `\r`, `\t`, a backslash before a line break joins the lines, `\x` stands
 *   for `x`; a raw line break inside quotes is kept, so a quoted value may span lines; a carriage return is dropped;
 * - after `:` come section references: names that may contain dots, separated by commas;
 * - `include PATTERN` (the word, white space, then anything but `=`) includes files; the pattern ends at white
 *   space, `#` or `}` unless quoted, and `\"`, `\#`, `\}` and `\ ` escape those characters.
 */
import { ConfigError, type Origin } from './config-error.js';

export type Token =
  | { readonly kind: 'name'; readonly text: string; readonly origin: Origin }
  | { readonly kind: 'ref'; readonly text: string; readonly origin: Origin }
  | { readonly kind: '{' | '}' | ',' | ':' | '.'; readonly origin: Origin }
  | { readonly kind: '='; readonly value: string | null; readonly origin: Origin; readonly valueOrigin: Origin }
  | { readonly kind: 'include'; readonly pattern: string; readonly origin: Origin };

const NAME_STOP = new Set(['#', '{', '}', ':', '.', ',', '=', '"', '\r', '\n', '\t', ' ']);
const VALUE_STOP = new Set(['#', '}', '"', '\r', '\n', '\t', ' ']);
const INCLUDE_STOP = new Set(['#', '}', '\n', '\t', ' ']);
const INCLUDE_ESCAPABLE = new Set(['"', '#', '}', ' ']);

/** Turn one file's text into tokens; throws ConfigError on an unterminated or misplaced string. */
export function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  const here = (): Origin => ({ file, line, column: pos - lineStart + 1 });
  const newline = (): void => {
    line++;
    lineStart = pos + 1;
  };
  const peek = (k = 0): string => text.charAt(pos + k);

  /** Read a quoted string; `pos` is on the opening quote. */
  const readString = (): string => {
    const start = here();
    pos++;
    let out = '';
    for (;;) {
      if (pos >= text.length) {
        throw ConfigError.at(start, 'unterminated quoted string', 'add the closing " (a quoted value may span lines)');
      }
      const c = text.charAt(pos);
      if (c === '"') {
        pos++;
        return out;
      }
      if (c === '\r') {
        pos++;
      } else if (c === '\\') {
        const n = peek(1);
        if (n === '') {
          throw ConfigError.at(
            start,
            'unterminated quoted string',
            'add the closing " (a quoted value may span lines)',
          );
        }
        if (n === 'n') out += '\n';
        else if (n === 'r') out += '\r';
        else if (n === 't') out += '\t';
        else if (n === '\n' || (n === '\r' && peek(2) === '\n')) {
          if (n === '\r') pos++;
          pos++;
          newline();
          pos++;
          continue;
        } else out += n;
        pos += 2;
      } else {
        if (c === '\n') newline();
        out += c;
        pos++;
      }
    }
  };

  const skipComment = (): void => {
    while (pos < text.length && text.charAt(pos) !== '\n') pos++;
  };

  const readValue = (eq: Origin): void => {
    while (peek() === ' ' || peek() === '\t' || peek() === '\r') pos++;
    const valueOrigin = here();
    const parts: string[] = [];
    for (;;) {
      const c = peek();
      if (c === '' || c === '\n' || c === '#' || c === '}') break;
      if (c === ' ' || c === '\t' || c === '\r') {
        pos++;
      } else if (c === '"') {
        parts.push(readString());
      } else {
        const s = pos;
        while (pos < text.length && !VALUE_STOP.has(text.charAt(pos))) pos++;
        parts.push(text.slice(s, pos));
      }
    }
    tokens.push({ kind: '=', value: parts.length === 0 ? null : parts.join(' '), origin: eq, valueOrigin });
  };

  const readInclude = (origin: Origin): void => {
    let pattern = '';
    for (;;) {
      const c = peek();
      if (c === '' || INCLUDE_STOP.has(c)) break;
      if (c === '\r') {
        pos++;
      } else if (c === '"') {
        pattern += readString();
        break;
      } else if (c === '\\' && INCLUDE_ESCAPABLE.has(peek(1))) {
        pattern += peek(1);
        pos += 2;
      } else {
        pattern += c;
        pos++;
      }
    }
    if (pattern === '') {
      throw ConfigError.at(origin, 'include without a file name', 'write include FILE or include "dir/*.conf"');
    }
    tokens.push({ kind: 'include', pattern, origin });
  };

  const isIncludeAt = (): boolean => {
    if (!text.startsWith('include', pos)) return false;
    let k = pos + 7;
    if (text.charAt(k) !== ' ' && text.charAt(k) !== '\t') return false;
    while (text.charAt(k) === ' ' || text.charAt(k) === '\t') k++;
    const n = text.charAt(k);
    return n !== '=' && n !== '' && n !== '\n' && n !== '\r' && n !== '#';
  };

  let inRefs = false;
  while (pos < text.length) {
    const c = text.charAt(pos);
    if (c === '\n') {
      newline();
      pos++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      pos++;
      continue;
    }
    if (c === '#') {
      skipComment();
      continue;
    }
    if (inRefs) {
      if (c === ',') {
        tokens.push({ kind: ',', origin: here() });
        pos++;
        continue;
      }
      if (!NAME_STOP.has(c)) {
        const origin = here();
        const s = pos;
        for (;;) {
          while (pos < text.length && !NAME_STOP.has(text.charAt(pos))) pos++;
          if (text.charAt(pos) === '.' && pos + 1 < text.length && !NAME_STOP.has(text.charAt(pos + 1))) {
            pos++;
            continue;
          }
          break;
        }
        tokens.push({ kind: 'ref', text: text.slice(s, pos), origin });
        continue;
      }
      inRefs = false;
    }
    const origin = here();
    if (c === '{' || c === '}' || c === '.' || c === ',') {
      tokens.push({ kind: c, origin });
      pos++;
    } else if (c === ':') {
      tokens.push({ kind: ':', origin });
      pos++;
      inRefs = true;
    } else if (c === '=') {
      pos++;
      readValue(origin);
    } else if (c === '"') {
      throw ConfigError.at(origin, 'unexpected quoted string', 'quotes are only allowed in values, after =');
    } else if (isIncludeAt()) {
      pos += 7;
      while (peek() === ' ' || peek() === '\t') pos++;
      readInclude(origin);
    } else {
      const s = pos;
      while (pos < text.length && !NAME_STOP.has(text.charAt(pos))) pos++;
      tokens.push({ kind: 'name', text: text.slice(s, pos), origin });
    }
  }
  return tokens;
}
