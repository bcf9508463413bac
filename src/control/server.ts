import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { checkRequest, ControlError, MAX_CONTROL_LINE_BYTES } from './protocol.js';
import type { ControlEvent, ControlRequest, ControlResponse } from './protocol.js';

export type ControlHandler = (request: ControlRequest) => Promise<unknown> | unknown;

/** The daemon's side of the control channel. */
export class ControlServer {
  readonly socketPath: string;
  private readonly server: net.Server;
  private readonly clients = new Set<net.Socket>();
  private readonly handlers = new Map<string, ControlHandler>();

  private constructor(socketPath: string, server: net.Server) {
    this.socketPath = socketPath;
    this.server = server;
  }

  /**
   * Listens on `socketPath` with mode 0600 (its folder is created 0700 when missing). A stale socket
   * file left by a crashed daemon is replaced; a live one (another daemon answering) is an error.
   */
  static async listen(socketPath: string): Promise<ControlServer> {
    fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    if (fs.existsSync(socketPath)) {
      if (await isAlive(socketPath)) {
        throw new Error(`control socket ${socketPath} is in use by another daemon; stop it or pass --control PATH`);
      }
      fs.unlinkSync(socketPath);
    }
    const server = net.createServer();
    const control = new ControlServer(socketPath, server);
    server.on('connection', (sock) => control.accept(sock));
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldMask);
    }
    fs.chmodSync(socketPath, 0o600);
    return control;
  }

  /** True when a daemon answers on `socketPath` (checked before a new daemon touches TUN, sockets and routes). */
  static inUse(socketPath: string): Promise<boolean> {
    return fs.existsSync(socketPath) ? isAlive(socketPath) : Promise.resolve(false);
  }

  /** Registers the handler of one command name. */
  handle(command: string, handler: ControlHandler): void {
    this.handlers.set(command, handler);
  }

  /** Sends an event line to every connected client. */
  broadcast(event: ControlEvent): void {
    const line = JSON.stringify(event) + '\n';
    for (const c of this.clients) c.write(line);
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.socketPath, { force: true });
  }

  private accept(sock: net.Socket): void {
    this.clients.add(sock);
    sock.setEncoding('utf8');
    let pending = '';
    sock.on('data', (chunk: string) => {
      pending += chunk;
      if (pending.length > MAX_CONTROL_LINE_BYTES) {
        sock.destroy();
        return;
      }
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim() !== '') void this.dispatch(sock, line);
      }
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.clients.delete(sock));
  }

  private async dispatch(sock: net.Socket, line: string): Promise<void> {
    let response: ControlResponse;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    const req = checkRequest(parsed);
    if (typeof req === 'string') {
      response = { id: -1, ok: false, error: `bad control request: ${req}`, code: 'bad-request' };
    } else {
      const handler = this.handlers.get(req.command);
      if (handler === undefined) {
        response = { id: req.id, ok: false, error: `unknown command '${req.command}'`, code: 'unknown-command' };
      } else {
        try {
          response = { id: req.id, ok: true, result: (await handler(req)) ?? null };
        } catch (e) {
          response =
            e instanceof ControlError
              ? { id: req.id, ok: false, error: e.message, code: e.code }
              : { id: req.id, ok: false, error: `internal error: ${(e as Error).message}`, code: 'internal' };
        }
      }
    }
    if (!sock.destroyed) sock.write(JSON.stringify(response) + '\n');
  }
}

function isAlive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
