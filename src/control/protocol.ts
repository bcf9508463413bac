/**
 * The control channel between `tsipsec` commands and the daemon: one JSON object per line over a Unix
 * stream socket (default /run/tsipsec/control.sock, mode 0600).
 *
 *   request:  {"id": 1, "command": "up", "args": {"name": "net"}}
 *   response: {"id": 1, "ok": true, "result": {...}}
 *             {"id": 1, "ok": false, "error": "no connection or child named 'nett'", "code": "unknown-name"}
 *   event:    {"event": "log", "data": {...}}     (streamed to clients that asked for it)
 */

export const DEFAULT_CONTROL_SOCKET = '/run/tsipsec/control.sock';

/** Largest request line the daemon reads before it drops the client. */
export const MAX_CONTROL_LINE_BYTES = 1 << 20;

export interface ControlRequest {
  id: number;
  command: string;
  args: Record<string, unknown>;
}

export type ControlResponse =
  { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string; code: string };

export interface ControlEvent {
  event: string;
  data: unknown;
}

/** Error raised by a command handler: the message goes back to the client as is. */
export class ControlError extends Error {
  override readonly name = 'ControlError';
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Validates a parsed request line; returns a reason string when it is not a request. */
export function checkRequest(value: unknown): ControlRequest | string {
  if (typeof value !== 'object' || value === null) return 'request is not a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v['id'] !== 'number' || !Number.isInteger(v['id'])) return 'request has no integer "id"';
  if (typeof v['command'] !== 'string' || v['command'] === '') return 'request has no "command"';
  const args = v['args'] ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return '"args" must be an object';
  return { id: v['id'], command: v['command'], args: args as Record<string, unknown> };
}
