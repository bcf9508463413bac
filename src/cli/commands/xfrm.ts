import type { Command } from '../command.js';
import { UsageError } from '../args.js';
import { withDaemon } from '../client-command.js';
import { quoteXfrmWord } from '../../xfrm/tokenize.js';

export const xfrm: Command = {
  name: 'xfrm',
  summary: "manual keying in Linux 'ip xfrm' syntax: xfrm state|policy add|del|get|list|flush ...",
  usage: `Usage: tsipsec [--control SOCK] xfrm [--json] state|policy COMMAND ARGS...

Sends one 'ip xfrm' command (see man ip-xfrm) to the running daemon, for ESP and AH in tunnel and transport mode:
  tsipsec xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1000 reqid 1 mode tunnel \\
      aead 'rfc4106(gcm(aes))' 0x<20 bytes of key and salt> 128 sel src 198.51.100.1/32 dst 203.0.113.1/32
  tsipsec xfrm policy add src 198.51.100.1/32 dst 203.0.113.1/32 dir out \\
      tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid 1 mode tunnel
  tsipsec xfrm state list        (ip xfrm's own layout; --json for the JSON form)
The same lines load at start with 'tsipsec daemon --xfrm FILE'.
`,
  async run(argv, ctx) {
    const json = argv.includes('--json');
    const words = argv.filter((a) => a !== '--json');
    if (words[0] !== 'state' && words[0] !== 'policy') throw new UsageError("xfrm takes 'state' or 'policy' first");
    const line = words.map(quoteXfrmWord).join(' ');
    return withDaemon('xfrm', ctx, async (client) => {
      const r = (await client.call('xfrm', { line })) as { text: string; json: unknown };
      if (json) ctx.stdout.write(JSON.stringify(r.json, null, 2) + '\n');
      else if (r.text !== '') ctx.stdout.write(r.text.endsWith('\n') ? r.text : r.text + '\n');
      return 0;
    });
  },
};
