import type { Command } from '../command.js';
import { parseArgs, UsageError } from '../args.js';
import { withDaemon } from '../client-command.js';

export const down: Command = {
  name: 'down',
  summary: 'delete a child or a whole connection (sends DELETE to the peer)',
  usage: `Usage: tsipsec [--control SOCK] down NAME

Deletes the CHILD_SAs of child NAME, or the IKE_SA (with its children) of connection NAME, telling the peer
with an INFORMATIONAL DELETE. Exits 0 once done, 1 if nothing by that name is up.
`,
  async run(argv, ctx) {
    const p = parseArgs(argv, {});
    const [name, ...rest] = p.positional;
    if (name === undefined || rest.length > 0) throw new UsageError('down takes exactly one NAME');
    return withDaemon('down', ctx, async (client) => {
      const r = (await client.call('down', { name })) as { deleted: string[] };
      for (const d of r.deleted) ctx.stdout.write(`deleted ${d}\n`);
      return 0;
    });
  },
};
