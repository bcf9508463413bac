/**
 * Readiness for a non-blocking file descriptor from Node's own event loop: koffi's libuv poll handle
 * (`uv_poll_t`, epoll underneath, level-triggered). The callback runs on the main thread when the fd is
 * readable; the owner then drains it with non-blocking reads up to a budget and returns, and libuv calls
 * again on the next loop turn if data remains. Idle costs nothing: the fd sits in the loop's epoll set.
 *
 * koffi marks this API (koffi.node.poll) as not yet documented; it is used through this one file.
 */
import koffi from 'koffi';
import { IoError } from '../types.js';

export interface FdPoller {
  /** Stop watching; after this the callback never runs again. The fd itself is closed by the owner. */
  close(): void;
}

interface PollHandleLike {
  stop(): void;
  close(): void;
}

export function pollReadable(fd: number, onReadable: () => void): FdPoller {
  if (typeof koffi.node?.poll !== 'function') {
    throw new IoError(`koffi ${koffi.version} has no koffi.node.poll (libuv fd polling); koffi >= 2.15 is needed`, 0);
  }
  let open = true;
  // The handle calls back with (status, events); status < 0 is a libuv error (e.g. EBADF after close).
  const handle = koffi.node.poll(fd, { readable: true }, ((status: unknown) => {
    if (!open) return;
    if (typeof status === 'number' && status < 0) return;
    try {
      onReadable();
    } catch (error) {
      // koffi swallows exceptions thrown here; rethrow outside so a receiver bug surfaces like any other.
      process.nextTick(() => {
        throw error;
      });
    }
  }) as never) as unknown as PollHandleLike;
  return {
    close(): void {
      if (!open) return;
      open = false;
      handle.stop();
      handle.close();
    },
  };
}
