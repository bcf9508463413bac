import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where a command writes; tests pass buffers. */
export interface CliStreams {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

export const USAGE = `Usage: tsipsec [--control SOCK] COMMAND [ARGS]

IPsec (IKEv2, ESP, AH) with a user-space data plane.

Commands:
  help                 show this text
  version              print the version

Options:
  -h, --help           show this text
  -V, --version        print the version
`;

function version(): string {
  const pkgUrl = new URL('../../../package.json', import.meta.url);
  const pkg = JSON.parse(readFileSync(fileURLToPath(pkgUrl), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs one CLI invocation and returns its exit code. */
export async function run(argv: readonly string[], io: CliStreams): Promise<number> {
  const [cmd] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '-h' || cmd === '--help') {
    io.stdout.write(USAGE);
    return 0;
  }
  if (cmd === 'version' || cmd === '-V' || cmd === '--version') {
    io.stdout.write(`tsipsec ${version()}\n`);
    return 0;
  }
  io.stderr.write(`tsipsec: unknown command '${cmd}'. Run 'tsipsec --help' for the list of commands.\n`);
  return 2;
}
