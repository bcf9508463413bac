/** Where a key, section or token came from: file name, 1-based line and column. */
export interface Origin {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One finding about the configuration: what is wrong, where, and how to fix it. */
export interface Diagnostic {
  readonly origin: Origin;
  /** What is wrong, in one sentence. */
  readonly message: string;
  /** How to fix it ("did you mean 'remote_addrs'?", "run chmod 600 FILE"). */
  readonly hint?: string;
}

/** `file:line:column` as editors and compilers print it. */
export function formatOrigin(o: Origin): string {
  return `${o.file}:${o.line}:${o.column}`;
}

/** `file:line:column: message (hint)`. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${formatOrigin(d.origin)}: ${d.message}${d.hint !== undefined ? ` (${d.hint})` : ''}`;
}

/** Build a diagnostic without writing `hint: undefined` (exactOptionalPropertyTypes). */
export function diagnostic(origin: Origin, message: string, hint?: string): Diagnostic {
  return hint === undefined ? { origin, message } : { origin, message, hint };
}

/**
 * The only exception the config folder throws: bad syntax, bad values, unknown or unsupported keys, unreadable or
 * unsafe files. `diagnostics` holds every error found (at least one); the message lists them all, one per line.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    if (diagnostics.length === 0) throw new TypeError('ConfigError needs at least one diagnostic');
    this.diagnostics = Object.freeze([...diagnostics]);
  }
  /** The first (or only) finding. */
  get origin(): Origin {
    return (this.diagnostics[0] as Diagnostic).origin;
  }
  static at(origin: Origin, message: string, hint?: string): ConfigError {
    return new ConfigError([diagnostic(origin, message, hint)]);
  }
}
