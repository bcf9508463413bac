import { globMatch, hasWildcard } from '../../src/config/glob.js';
import type { ReadInclude } from '../../src/config/settings-parser.js';

/** An include reader over an in-memory set of files (absolute paths), with the same wildcard rules as the disk one. */
export function memoryFiles(files: Readonly<Record<string, string>>): ReadInclude {
  return (pattern) =>
    Object.keys(files)
      .filter((p) => (hasWildcard(pattern) ? globMatch(pattern, p) : p === pattern))
      .sort()
      .map((p) => ({ path: p, text: files[p] as string }));
}
