/**
 * Shell wildcards for `include` patterns (strongswan.conf(5), INCLUDING FILES, which refers to sh(1)): `*`, `?` and
 * bracket expressions `[abc]`, `[a-z]`, `[!a]`, matched one path segment at a time; a leading dot is only matched
 * by a pattern that starts with a dot, as glob(3) does.
 */

/** True when the pattern has a wildcard character. */
export function hasWildcard(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** Regular expression matching one path segment against one pattern segment. */
export function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charAt(i);
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\\]/g, (m) => `\\${m}`);
  }
  const dotGuard = segment.startsWith('.') ? '' : '(?!\\.)';
  return new RegExp(`^${dotGuard}${re}$`);
}

/** Whether a whole path matches a whole pattern (both split on `/`, same number of segments). */
export function globMatch(pattern: string, path: string): boolean {
  const ps = pattern.split('/');
  const xs = path.split('/');
  if (ps.length !== xs.length) return false;
  return ps.every((p, i) => segmentRegExp(p).test(xs[i] as string));
}
