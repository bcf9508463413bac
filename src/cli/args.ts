/** Minimal, strict argument parsing for tsipsec commands: known flags only, clear errors. */

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface FlagSpec {
  /** Takes a value (`--config FILE`) or is a switch (`--json`). */
  value: boolean;
  /** Short alias without the dash, e.g. 'c'. */
  short?: string;
}

export interface ParsedArgs {
  flags: Map<string, string | true>;
  positional: string[];
}

/** Parses `argv` against `spec` (flag names without dashes). `--flag=value` and `--flag value` both work. */
export function parseArgs(argv: readonly string[], spec: Readonly<Record<string, FlagSpec>>): ParsedArgs {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, s] of Object.entries(spec)) if (s.short) byShort.set(s.short, name);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq >= 0 ? a.slice(eq + 1) : undefined;
    } else if (a.startsWith('-') && a.length === 2) {
      name = byShort.get(a.slice(1));
      if (name === undefined) throw new UsageError(`unknown option '${a}'`);
    } else {
      positional.push(a);
      continue;
    }
    const s = spec[name];
    if (s === undefined) throw new UsageError(`unknown option '--${name}'`);
    if (s.value) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`option '--${name}' needs a value`);
      flags.set(name, v);
    } else {
      if (inline !== undefined) throw new UsageError(`option '--${name}' takes no value`);
      flags.set(name, true);
    }
  }
  return { flags, positional };
}

export function flagString(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}
