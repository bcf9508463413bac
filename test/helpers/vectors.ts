import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root, found from this file's place in dist/test/helpers/. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The shared bench folder beside the checkout (../shared/bench), as CI and every clone of the project have it. */
export const sharedBench = path.join(repoRoot, '..', 'shared', 'bench');

/** Absolute path of a file under test/vectors/ (published vectors, with their sources in README.md). */
export function vectorPath(name: string): string {
  return path.join(repoRoot, 'test', 'vectors', name);
}

/** Parse a JSON vector file from test/vectors/. */
export function loadVectors<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(vectorPath(name), 'utf8')) as T;
}

/** Hex to bytes; tolerates spaces, newlines and an optional 0x prefix. */
export function hex(s: string): Buffer {
  const clean = s.replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error(`bad hex: ${s.slice(0, 40)}`);
  return Buffer.from(clean, 'hex');
}
