import type { CliStreams } from './streams.js';

/** What every command gets besides its own arguments. */
export interface CommandContext extends CliStreams {
  /** Control socket path (global `--control`, else the default). */
  control: string;
}

/** One tsipsec command; one file each under src/cli/commands/. */
export interface Command {
  name: string;
  /** One line for `tsipsec --help`. */
  summary: string;
  /** Full usage text for `tsipsec COMMAND --help`. */
  usage: string;
  run(argv: readonly string[], ctx: CommandContext): Promise<number>;
}
