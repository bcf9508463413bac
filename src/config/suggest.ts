/** "Did you mean ...?" for misspelled keys, sections and references. */

/** Levenshtein edit distance (insert, delete, substitute; a swap of two neighbours counts as one edit). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [];
    for (let j = 0; j <= b.length; j++) {
      if (i === 0) row.push(j);
      else if (j === 0) row.push(i);
      else {
        const up = (d[i - 1] as number[])[j] as number;
        const diag = (d[i - 1] as number[])[j - 1] as number;
        const cost = a.charAt(i - 1) === b.charAt(j - 1) ? 0 : 1;
        let v = Math.min(up + 1, (row[j - 1] as number) + 1, diag + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) === b.charAt(j - 2) && a.charAt(i - 2) === b.charAt(j - 1)) {
          v = Math.min(v, ((d[i - 2] as number[])[j - 2] as number) + 1);
        }
        row.push(v);
      }
    }
    d.push(row);
  }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * The candidate closest to `name`, if it is close enough to be a plausible typo: at most half of the name's
 * length in edits, rounded up (at least 1, at most 3), or the same letters in another case.
 */
export function nearest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const limit = Math.min(3, Math.max(1, Math.ceil(name.length / 2)));
  for (const c of candidates) {
    if (c.toLowerCase() === name.toLowerCase()) return c;
    const dist = editDistance(name, c);
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** "did you mean 'x'?" or undefined. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const n = nearest(name, candidates);
  return n === undefined ? undefined : `did you mean '${n}'?`;
}
