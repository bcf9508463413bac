/**
 * `--xfrm FILE`: one `ip xfrm` command per line, `#` comments (whole lines or trailing), blank lines skipped,
 * optional leading `ip xfrm` / `xfrm`. Every error carries the file name and line number.
 */
import { readFileSync } from 'node:fs';
import type { XfrmCommand } from './xfrm-command.js';
import { parseXfrmLine } from './parse.js';
import { tokenizeXfrmLine } from './tokenize.js';
import { XfrmError } from './xfrm-error.js';

export interface XfrmFileCommand {
  readonly command: XfrmCommand;
  /** 1-based line number in the file. */
  readonly line: number;
  /** The line as written (for logs). */
  readonly text: string;
}

/** Parse the text of an xfrm file. Throws the first XfrmError, located as `file:line`. */
export function parseXfrmText(text: string, file: string): XfrmFileCommand[] {
  const out: XfrmFileCommand[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    try {
      if (tokenizeXfrmLine(raw).length === 0) return;
      out.push({ command: parseXfrmLine(raw), line: i + 1, text: raw.trim() });
    } catch (e) {
      if (e instanceof XfrmError) throw e.at(file, i + 1);
      throw e;
    }
  });
  return out;
}

/** Read and parse an xfrm file. A missing or unreadable file is an XfrmError naming it. */
export function loadXfrmFile(path: string): XfrmFileCommand[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new XfrmError(
      '',
      `cannot read the file: ${(e as Error).message}`,
      undefined,
      'check the path given to --xfrm',
      {
        file: path,
        line: 0,
      },
    );
  }
  return parseXfrmText(text, path);
}
