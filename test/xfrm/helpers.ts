/** Shared pieces of the xfrm tests. */
import assert from 'node:assert/strict';
import { XfrmError } from '../../src/xfrm/index.js';

/** A command without argument positions (`positions`, `at`), for comparing parses of differently laid-out lines. */
export function strip(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(strip);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (k !== 'positions' && k !== 'at') out[k] = strip(v);
    return out;
  }
  return value;
}

/** Runs `fn`, which must throw an XfrmError; returns it. */
export function xfrmError(fn: () => unknown): XfrmError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof XfrmError, `expected XfrmError, got ${String(e)}`);
    return e;
  }
  assert.fail('no XfrmError thrown');
}

export const KEY16 = '0x000102030405060708090a0b0c0d0e0f';
export const KEY20 = '0x000102030405060708090a0b0c0d0e0f10111213';
export const KEY32 = '0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
export const KEY36 = `${KEY32}20212223`;
export const KEY48 = `${KEY32}202122232425262728292a2b2c2d2e2f`;
export const KEY64 = `${KEY32}${KEY32.slice(2)}`;
/** The start of a valid ESP state line (documentation addresses). */
export const SA = 'state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1000 reqid 1 mode tunnel';
