/**
 * IkeError: what a task raises when an exchange cannot go on. The engine turns it into the notify
 * RFC 7296 prescribes (in a response, or an INFORMATIONAL) or into a teardown, in one place.
 */
export class IkeError extends Error {
  override readonly name = 'IkeError';
  /** Notify Message Type to report (RFC 7296 3.10.1), or 0 when nothing is sent (silent failure). */
  readonly notifyType: number;
  /** Human reason for logs. */
  readonly reason: string;
  /** Notification Data to send along (e.g. the group for INVALID_KE_PAYLOAD). */
  readonly data: Uint8Array;
  constructor(notifyType: number, reason: string, data: Uint8Array = new Uint8Array(0)) {
    super(reason);
    this.notifyType = notifyType;
    this.reason = reason;
    this.data = data;
  }
}
