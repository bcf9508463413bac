import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command, CommandContext } from './command.js';
import type { CliStreams } from './streams.js';
import { UsageError } from './args.js';
import { DEFAULT_CONTROL_SOCKET } from '../control/protocol.js';
import { up } from './commands/up.js';
import { down } from './commands/down.js';
import { sas } from './commands/sas.js';
import { conns } from './commands/conns.js';
import { pools } from './commands/pools.js';
import { load } from './commands/load.js';
import { stats } from './commands/stats.js';
import { daemon } from './commands/daemon.js';
import { demoCommand } from './commands/demo.js';
import { xfrm } from './commands/xfrm.js';
import { pki } from './commands/pki.js';

export type { CliStreams } from './streams.js';

/** Every command, in the order `--help` lists them. Later commands register here too. */
export const COMMANDS: Command[] = [demoCommand, daemon, up, down, sas, conns, pools, load, stats, xfrm, pki];

export function usage(commands: readonly Command[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length), 7);
  return `Usage: tsipsec [--control SOCK] COMMAND [ARGS]

IPsec (IKEv2, ESP, AH) with a user-space data plane, configured with strongSwan's swanctl.conf.

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}
  ${'help'.padEnd(width)}  show this text, or 'tsipsec help COMMAND' for one command
  ${'version'.padEnd(width)}  print the version

Options:
  --control SOCK   the daemon's control socket (default ${DEFAULT_CONTROL_SOCKET})
  -h, --help       show this text
  -V, --version    print the version
`;
}

function version(): string {
  const pkgUrl = new URL('../../../package.json', import.meta.url);
  const pkg = JSON.parse(readFileSync(fileURLToPath(pkgUrl), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs one CLI invocation and returns its exit code. */
export async function run(
  argv: readonly string[],
  io: CliStreams,
  commands: readonly Command[] = COMMANDS,
): Promise<number> {
  // --control is global and may stand before or after the command (`tsipsec daemon --config F --control S`).
  let control = DEFAULT_CONTROL_SOCKET;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (a === '--control' || a.startsWith('--control=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined || v === '') {
        io.stderr.write("tsipsec: option '--control' needs a socket path\n");
        return 2;
      }
      control = v;
      continue;
    }
    args.push(a);
  }
  const [cmd, ...rest] = args;
  if (cmd === undefined || cmd === '-h' || cmd === '--help') {
    io.stdout.write(usage(commands));
    return 0;
  }
  if (cmd === 'version' || cmd === '-V' || cmd === '--version') {
    io.stdout.write(`tsipsec ${version()}\n`);
    return 0;
  }
  if (cmd === 'help') {
    const target = commands.find((c) => c.name === rest[0]);
    io.stdout.write(target ? target.usage : usage(commands));
    return 0;
  }
  const command = commands.find((c) => c.name === cmd);
  if (command === undefined) {
    io.stderr.write(`tsipsec: unknown command '${cmd}'. Run 'tsipsec --help' for the list of commands.\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.usage);
    return 0;
  }
  const ctx: CommandContext = { ...io, control };
  try {
    return await command.run(rest, ctx);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`tsipsec ${command.name}: ${e.message}\n\n${command.usage}`);
      return 2;
    }
    throw e;
  }
}
