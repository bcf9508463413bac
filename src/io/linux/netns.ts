/**
 * Running a synchronous set-up step inside a named network namespace (`ip netns add NAME`, i.e. the file
 * /run/netns/NAME): setns(2) moves the calling thread there, the step opens its sockets or TUN device
 * (which stay bound to that namespace for life), and the thread moves back. Only the main thread moves,
 * and only for the duration of `fn`, which must not await.
 */
import { closeSync, openSync } from 'node:fs';
import { CLONE_NEWNET, errno, sys } from './libc.js';
import { IoError } from '../types.js';

export const NETNS_RUN_DIR = '/run/netns';

export function withNetns<T>(name: string | undefined, fn: () => T): T {
  if (name === undefined) return fn();
  if (name.length === 0 || name.includes('/') || name === '.' || name === '..') {
    throw new IoError(`invalid network namespace name "${name}"`, 0);
  }
  const original = openSync('/proc/thread-self/ns/net', 'r');
  let target: number | undefined;
  try {
    target = openSync(`${NETNS_RUN_DIR}/${name}`, 'r');
    if (sys.setns(target, CLONE_NEWNET) !== 0) throw new IoError(`setns to network namespace ${name}`, errno());
    let result: { value: T } | { error: unknown };
    try {
      result = { value: fn() };
    } catch (error) {
      result = { error };
    }
    // Staying in the wrong namespace would silently misplace every later socket: stop here.
    if (sys.setns(original, CLONE_NEWNET) !== 0) {
      throw new IoError('setns back to the original network namespace failed', errno());
    }
    if ('error' in result) throw result.error;
    return result.value;
  } finally {
    if (target !== undefined) closeSync(target);
    closeSync(original);
  }
}
