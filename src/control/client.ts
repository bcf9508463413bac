import net from 'node:net';
import type { ControlEvent, ControlResponse } from './protocol.js';

/** Raised when the daemon answers with an error, or cannot be reached. */
export class ControlClientError extends Error {
  override readonly name = 'ControlClientError';
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** A connection from a `tsipsec` command to the daemon. */
export class ControlClient {
  private readonly sock: net.Socket;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private listeners: ((e: ControlEvent) => void)[] = [];

  private constructor(sock: net.Socket) {
    this.sock = sock;
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.onLine(line);
      }
    });
    sock.on('close', () => {
      for (const p of this.pending.values())
        p.reject(new ControlClientError('closed', 'the daemon closed the control connection'));
      this.pending.clear();
    });
  }

  static connect(socketPath: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(socketPath);
      sock.once('connect', () => resolve(new ControlClient(sock)));
      sock.once('error', (e: NodeJS.ErrnoException) => {
        const hint =
          e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
            ? `no daemon is listening on ${socketPath}: start one with 'tsipsec daemon --config FILE' or pass --control PATH`
            : e.code === 'EACCES'
              ? `permission denied on ${socketPath}: run as the daemon's user (root)`
              : `cannot connect to ${socketPath}: ${e.message}`;
        reject(new ControlClientError('unreachable', hint));
      });
    });
  }

  /** Sends one command and waits for its response; rejects with the daemon's error message. */
  call(command: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.sock.write(JSON.stringify({ id, command, args }) + '\n');
    });
  }

  onEvent(listener: (e: ControlEvent) => void): void {
    this.listeners.push(listener);
  }

  close(): void {
    this.sock.end();
    this.sock.destroy();
  }

  private onLine(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    if ('event' in msg) {
      for (const l of this.listeners) l(msg as ControlEvent);
      return;
    }
    const r = msg as ControlResponse;
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    if (r.ok) p.resolve(r.result);
    else p.reject(new ControlClientError(r.code, r.error));
  }
}
