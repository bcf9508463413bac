/**
 * The one error the `ip xfrm` front end raises: which argument was wrong, where it sits on the line (word and
 * column, counted from 1 in the line as written), for files which line of which file, and how to fix it.
 *
 *   rules.xfrm:7: argument 'auth-trunc' (word 12, column 61): unknown algorithm 'hmac(md4)'; use one of ...
 */

/** Where an argument starts on its line: the 1-based word number and the 1-based column of its first character. */
export interface ArgPosition {
  readonly word: number;
  readonly column: number;
}

export class XfrmError extends Error {
  override readonly name = 'XfrmError';
  /** The argument keyword the problem belongs to (`spi`, `auth-trunc`, `sel dst`, ...), or '' for the line. */
  readonly argument: string;
  /** What was wrong, without location. */
  readonly problem: string;
  /** How to fix it ('' when there is nothing to add). */
  readonly hint: string;
  readonly position: ArgPosition | undefined;
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(
    argument: string,
    problem: string,
    position?: ArgPosition,
    hint = '',
    location?: { readonly file: string; readonly line: number },
  ) {
    super(formatMessage(argument, problem, position, hint, location));
    this.argument = argument;
    this.problem = problem;
    this.hint = hint;
    this.position = position;
    this.file = location?.file;
    this.line = location?.line;
  }

  /** The same error, located in `file` at `line` (1-based). */
  at(file: string, line: number): XfrmError {
    return new XfrmError(this.argument, this.problem, this.position, this.hint, { file, line });
  }
}

function formatMessage(
  argument: string,
  problem: string,
  position: ArgPosition | undefined,
  hint: string,
  location: { readonly file: string; readonly line: number } | undefined,
): string {
  const where = location === undefined ? '' : `${location.file}:${location.line}: `;
  const pos = position === undefined ? '' : ` (word ${position.word}, column ${position.column})`;
  const what = argument === '' ? `line${pos}` : `argument '${argument}'${pos}`;
  return `${where}${what}: ${problem}${hint === '' ? '' : `; ${hint}`}`;
}
