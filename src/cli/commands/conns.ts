import type { Command } from '../command.js';
import { parseArgs, UsageError } from '../args.js';
import { withDaemon } from '../client-command.js';
import { formatConns } from '../format.js';
import type { ConnectionInfo } from '../../control/schema.js';

export const conns: Command = {
  name: 'conns',
  summary: 'list the loaded connections and their children',
  usage: `Usage: tsipsec [--control SOCK] conns [--json]

Lists the connections of the loaded configuration. --json prints {"connections": [...]}.
`,
  async run(argv, ctx) {
    const p = parseArgs(argv, { json: { value: false } });
    if (p.positional.length > 0) throw new UsageError('conns takes no arguments');
    return withDaemon('conns', ctx, async (client) => {
      const r = (await client.call('conns')) as { connections: ConnectionInfo[] };
      ctx.stdout.write(p.flags.has('json') ? JSON.stringify(r, null, 2) + '\n' : formatConns(r.connections));
      return 0;
    });
  },
};
