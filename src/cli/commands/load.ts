import path from 'node:path';
import type { Command } from '../command.js';
import { parseArgs, UsageError } from '../args.js';
import { withDaemon } from '../client-command.js';

export const load: Command = {
  name: 'load',
  summary: 'replace the daemon configuration with a swanctl.conf file',
  usage: `Usage: tsipsec [--control SOCK] load FILE

Parses FILE (swanctl.conf syntax) in the daemon and makes it the configuration: new connections are added,
changed ones replaced, removed ones unloaded (their SAs stay up until they are deleted or expire).
Errors name the file and line; nothing changes when there is one.
`,
  async run(argv, ctx) {
    const p = parseArgs(argv, {});
    const [file, ...rest] = p.positional;
    if (file === undefined || rest.length > 0) throw new UsageError('load takes exactly one FILE');
    return withDaemon('load', ctx, async (client) => {
      const r = (await client.call('load', { file: path.resolve(file) })) as {
        connections: string[];
        warnings: string[];
      };
      for (const w of r.warnings) ctx.stderr.write(`warning: ${w}\n`);
      ctx.stdout.write(`loaded ${r.connections.length} connection(s): ${r.connections.join(', ')}\n`);
      return 0;
    });
  },
};
