import type { Command } from '../command.js';
import { parseArgs, UsageError } from '../args.js';
import { withDaemon } from '../client-command.js';
import { formatStats } from '../format.js';
import type { DaemonStats } from '../../control/schema.js';

export const stats: Command = {
  name: 'stats',
  summary: 'daemon-wide counters: SAs, packets, bytes, drops by reason, IKE messages, memory',
  usage: `Usage: tsipsec [--control SOCK] stats [--json]
`,
  async run(argv, ctx) {
    const p = parseArgs(argv, { json: { value: false } });
    if (p.positional.length > 0) throw new UsageError('stats takes no arguments');
    return withDaemon('stats', ctx, async (client) => {
      const r = (await client.call('stats')) as DaemonStats;
      ctx.stdout.write(p.flags.has('json') ? JSON.stringify(r, null, 2) + '\n' : formatStats(r));
      return 0;
    });
  },
};
