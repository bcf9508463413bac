import type { Command } from '../command.js';
import { parseArgs, UsageError } from '../args.js';
import { withDaemon } from '../client-command.js';
import type { ChildSaInfo } from '../../control/schema.js';

export const up: Command = {
  name: 'up',
  summary: 'bring up a child (or every child of a connection); exit 0 once the CHILD_SA is installed',
  usage: `Usage: tsipsec [--control SOCK] up [--json] [--timeout SEC] NAME

Initiates the CHILD_SA NAME (a child of swanctl.conf), or every child of the connection NAME, and waits until
it is installed. Exits 0 on success, 1 with the reason (the peer's notify, a timeout, ...) otherwise.
`,
  async run(argv, ctx) {
    const p = parseArgs(argv, { json: { value: false }, timeout: { value: true } });
    const [name, ...rest] = p.positional;
    if (name === undefined || rest.length > 0) throw new UsageError('up takes exactly one NAME');
    const timeout = p.flags.get('timeout');
    const timeoutSec = timeout === undefined ? 30 : Number(timeout);
    if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) throw new UsageError('--timeout takes a positive number');
    return withDaemon('up', ctx, async (client) => {
      const result = (await client.call('up', { name, timeoutSec })) as { children: ChildSaInfo[] };
      if (p.flags.has('json')) ctx.stdout.write(JSON.stringify(result, null, 2) + '\n');
      else
        for (const c of result.children)
          ctx.stdout.write(
            `CHILD_SA ${c.name}{${c.uniqueId}} established with SPIs ${c.spiIn}_i ${c.spiOut}_o and TS ${c.localTs.join(' ')} === ${c.remoteTs.join(' ')}\n`,
          );
      return 0;
    });
  },
};
