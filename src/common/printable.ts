/**
 * Text a peer chose (identities, names) made safe for a log line or a terminal: everything outside
 * printable ASCII is escaped (`\x07`, `\u202e`), a backslash doubled, and the result capped in length.
 */

/** Longest peer-chosen text put in one log line, in characters before escaping. */
export const PRINTABLE_MAX_CHARS = 128;

export function printable(text: string, maxChars = PRINTABLE_MAX_CHARS): string {
  let out = '';
  let n = 0;
  for (const ch of text) {
    if (n++ >= maxChars) return `${out}...(${[...text].length} characters)`;
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c < 0x100) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += `\\u{${c.toString(16)}}`;
  }
  return out;
}
