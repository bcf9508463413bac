import type { Command } from '../command.js';
import { parseArgs, UsageError } from '../args.js';
import { withDaemon } from '../client-command.js';
import { formatPools } from '../format.js';
import type { PoolInfo } from '../../control/schema.js';

export const pools: Command = {
  name: 'pools',
  summary: 'list the virtual IP pools and their leases',
  usage: `Usage: tsipsec [--control SOCK] pools [--json]

Lists the virtual IP pools (swanctl.conf pools section) as swanctl --list-pools --leases does: per pool
its addrs and online / offline / size, then each lease (address, online or offline, identity). A lease stays
with its identity after the IKE_SA goes (offline), so a returning client gets its address back.
--json prints {"pools": [...]}.
`,
  async run(argv, ctx) {
    const p = parseArgs(argv, { json: { value: false } });
    if (p.positional.length > 0) throw new UsageError('pools takes no arguments');
    return withDaemon('pools', ctx, async (client) => {
      const r = (await client.call('pools')) as { pools: PoolInfo[] };
      ctx.stdout.write(p.flags.has('json') ? JSON.stringify(r, null, 2) + '\n' : formatPools(r.pools));
      return 0;
    });
  },
};
