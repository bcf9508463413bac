/**
 * Splits one `ip xfrm` command line into words the way a POSIX shell would before handing them to `ip`:
 * blanks separate words, 'single quotes' keep everything literally, "double quotes" keep everything but
 * treat \" \\ \$ \` as escapes, a backslash outside quotes escapes the next character, and a word that starts
 * with # begins a comment running to the end of the line. Quotes may join parts of one word (`'hmac('sha1')`).
 * An empty quoted word ("" or '') is a word of its own: `enc cipher_null ""` has three.
 */
import { XfrmError } from './xfrm-error.js';
import type { ArgPosition } from './xfrm-error.js';

export interface XfrmToken extends ArgPosition {
  readonly text: string;
}

const BLANK = /[ \t\r\n\v\f]/;
const DOUBLE_QUOTE_ESCAPABLE = new Set(['"', '\\', '$', '`']);

/** The words of `line` with their positions; throws XfrmError for an unterminated quote or trailing backslash. */
export function tokenizeXfrmLine(line: string): XfrmToken[] {
  const out: XfrmToken[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i]!;
    if (BLANK.test(c)) {
      i++;
      continue;
    }
    if (c === '#') break;
    const column = i + 1;
    let text = '';
    while (i < n && !BLANK.test(line[i]!)) {
      const ch = line[i]!;
      if (ch === "'") {
        const end = line.indexOf("'", i + 1);
        if (end < 0) throw quoteError("'", column, out.length + 1);
        text += line.slice(i + 1, end);
        i = end + 1;
      } else if (ch === '"') {
        i++;
        let closed = false;
        while (i < n) {
          const d = line[i]!;
          if (d === '"') {
            closed = true;
            i++;
            break;
          }
          if (d === '\\' && i + 1 < n && DOUBLE_QUOTE_ESCAPABLE.has(line[i + 1]!)) {
            text += line[i + 1];
            i += 2;
            continue;
          }
          text += d;
          i++;
        }
        if (!closed) throw quoteError('"', column, out.length + 1);
      } else if (ch === '\\') {
        if (i + 1 >= n) {
          throw new XfrmError('', 'the line ends with a backslash', { word: out.length + 1, column }, 'remove it');
        }
        text += line[i + 1];
        i += 2;
      } else {
        text += ch;
        i++;
      }
    }
    out.push({ text, word: out.length + 1, column });
  }
  return out;
}

function quoteError(quote: string, column: number, word: number): XfrmError {
  return new XfrmError('', `unterminated ${quote} quote`, { word, column }, `close the quote with ${quote}`);
}

/** Quote a word for a command line so that tokenizeXfrmLine gives it back unchanged. */
export function quoteXfrmWord(word: string): string {
  if (word === '') return '""';
  if (/^[A-Za-z0-9_.,:/@%+=-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
