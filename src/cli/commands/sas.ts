import type { Command } from '../command.js';
import { parseArgs, UsageError } from '../args.js';
import { withDaemon } from '../client-command.js';
import { formatSas } from '../format.js';
import type { IkeSaInfo } from '../../control/schema.js';

export const sas: Command = {
  name: 'sas',
  summary: 'list IKE and CHILD SAs: state, algorithms, SPIs, selectors, counters, drops, timers',
  usage: `Usage: tsipsec [--control SOCK] sas [--json]

Lists every IKE_SA and its CHILD_SAs. --json prints {"ikeSas": [...]} (schema in the README).
`,
  async run(argv, ctx) {
    const p = parseArgs(argv, { json: { value: false } });
    if (p.positional.length > 0) throw new UsageError('sas takes no arguments');
    return withDaemon('sas', ctx, async (client) => {
      const r = (await client.call('sas')) as { ikeSas: IkeSaInfo[] };
      ctx.stdout.write(p.flags.has('json') ? JSON.stringify(r, null, 2) + '\n' : formatSas(r.ikeSas));
      return 0;
    });
  },
};
