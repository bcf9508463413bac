/**
 * nftables through libnftables (the library the `nft` command is built on, from the same Debian package),
 * called in-process: a rule change for a CHILD_SA costs what the kernel round trip costs, not a process start
 * of several milliseconds while the CHILD_SA's IKE_AUTH answer waits. The text in and out is the `nft`
 * command's own: `run(['--echo', '--handle', '-f', '-'], script)` is `nft --echo --handle -f - < script`.
 *
 * Each run goes to a worker thread (koffi's asynchronous call), so a large ruleset never blocks the event
 * loop; runs are queued one at a time on one context. When the library cannot be loaded, `openNftables()`
 * returns undefined and the caller starts `nft` processes instead.
 */
import koffi from 'koffi';
import { IoError } from '../types.js';

/** Output flags of libnftables.h. */
const NFT_CTX_OUTPUT_HANDLE = 1 << 3;
const NFT_CTX_OUTPUT_JSON = 1 << 4;
const NFT_CTX_OUTPUT_ECHO = 1 << 5;
const NFT_CTX_DEFAULT = 0;

/** The command-line options `run` understands, with their output flags; `-f -` takes the script. */
const FLAG_OPTIONS: Readonly<Record<string, number>> = {
  '--echo': NFT_CTX_OUTPUT_ECHO,
  '-e': NFT_CTX_OUTPUT_ECHO,
  '--handle': NFT_CTX_OUTPUT_HANDLE,
  '-a': NFT_CTX_OUTPUT_HANDLE,
  '--json': NFT_CTX_OUTPUT_JSON,
  '-j': NFT_CTX_OUTPUT_JSON,
};

/** The output flags and the command text of `nft ARGS` (with `-f -` reading `script`). */
export function nftCommand(args: readonly string[], script: string | undefined): { flags: number; text: string } {
  let flags = 0;
  const words: string[] = [];
  let fromScript = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    const flag = FLAG_OPTIONS[a];
    if (flag !== undefined) flags |= flag;
    else if (a === '-f' && args[i + 1] === '-') {
      fromScript = true;
      i++;
    } else if (a.startsWith('-')) throw new IoError(`nft option ${a} is not supported in-process`, 0);
    else words.push(a);
  }
  if (fromScript && words.length > 0) throw new IoError('nft: give either -f - or a command, not both', 0);
  return { flags, text: fromScript ? (script ?? '') : words.join(' ') };
}

/* eslint-disable @typescript-eslint/no-explicit-any -- koffi functions are untyped; each is used below. */
interface Library {
  readonly ctxNew: any;
  readonly setFlags: any;
  readonly bufferOutput: any;
  readonly bufferError: any;
  readonly getOutput: any;
  readonly getError: any;
  readonly run: any;
  readonly free: any;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

let library: Library | null | undefined;

function load(): Library | undefined {
  if (library !== undefined) return library ?? undefined;
  try {
    const lib = koffi.load('libnftables.so.1');
    library = {
      ctxNew: lib.func('void *nft_ctx_new(uint32_t flags)'),
      setFlags: lib.func('void nft_ctx_output_set_flags(void *ctx, unsigned int flags)'),
      bufferOutput: lib.func('int nft_ctx_buffer_output(void *ctx)'),
      bufferError: lib.func('int nft_ctx_buffer_error(void *ctx)'),
      getOutput: lib.func('const char *nft_ctx_get_output_buffer(void *ctx)'),
      getError: lib.func('const char *nft_ctx_get_error_buffer(void *ctx)'),
      run: lib.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)'),
      free: lib.func('void nft_ctx_free(void *ctx)'),
    };
  } catch {
    library = null;
  }
  return library ?? undefined;
}

export interface Nftables {
  /** Runs `nft ARGS` (see `nftCommand`); resolves with its output, rejects with its error text. */
  run(args: readonly string[], script?: string): Promise<string>;
  close(): void;
}

/** A libnftables context, or undefined when the library is not installed. */
export function openNftables(): Nftables | undefined {
  const lib = load();
  if (lib === undefined) return undefined;
  const ctx: unknown = lib.ctxNew(NFT_CTX_DEFAULT);
  if (ctx === null) return undefined;
  lib.bufferOutput(ctx);
  lib.bufferError(ctx);
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;
  const runOne = (args: readonly string[], script: string | undefined): Promise<string> => {
    const { flags, text } = nftCommand(args, script);
    if (closed) return Promise.reject(new IoError(`nft ${args.join(' ')}: closed`, 0));
    lib.setFlags(ctx, flags);
    return new Promise((resolve, reject) => {
      (lib.run.async as (c: unknown, t: string, cb: (err: unknown, rc: number) => void) => void)(
        ctx,
        text,
        (err, rc) => {
          const out = String(lib.getOutput(ctx) ?? '');
          const why = String(lib.getError(ctx) ?? '').trim();
          if (err !== null && err !== undefined) reject(new IoError(`nft ${args.join(' ')}: ${String(err)}`, 0));
          else if (rc !== 0) reject(new IoError(`nft ${args.join(' ')}: ${why || `failed (${rc})`}`, 0));
          else resolve(out);
        },
      );
    });
  };
  return {
    run(args, script) {
      const next = queue.then(() => runOne(args, script));
      queue = next.catch(() => undefined);
      return next;
    },
    close() {
      if (closed) return;
      closed = true;
      void queue.then(() => lib.free(ctx));
    },
  };
}
