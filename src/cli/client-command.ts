import { ControlClient, ControlClientError } from '../control/client.js';
import type { CommandContext } from './command.js';

/**
 * Runs `fn` with a connection to the daemon and turns control errors into a message on stderr and exit
 * code 1 (the daemon's words, prefixed with the command name).
 */
export async function withDaemon(
  command: string,
  ctx: CommandContext,
  fn: (client: ControlClient) => Promise<number>,
): Promise<number> {
  let client: ControlClient | undefined;
  try {
    client = await ControlClient.connect(ctx.control);
    return await fn(client);
  } catch (e) {
    if (e instanceof ControlClientError) {
      ctx.stderr.write(`tsipsec ${command}: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    client?.close();
  }
}
