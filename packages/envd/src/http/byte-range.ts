/**
 * The `Range` header of a download: one `bytes=a-b`, `bytes=a-` or `bytes=-n` range. Anything
 * else (several ranges, other units, garbage) is ignored and the whole file is served, which
 * RFC 9110 allows; a range that starts past the end is unsatisfiable (416).
 */
export interface ByteRange {
  start: number;
  end: number;
}

/** The cause of a RANGE_NOT_SATISFIABLE error: the size the 416's Content-Range names. */
export class UnsatisfiableRange extends Error {
  constructor(readonly size: number) {
    super(`range not satisfiable for a file of ${size} bytes`);
    this.name = 'UnsatisfiableRange';
  }
}

export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    // `bytes=5-2` is syntactically invalid, so the header is ignored rather than refused.
    if (match[2] !== '' && Number(match[2]) < start) return undefined;
  }
  if (!Number.isSafeInteger(start) || start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}
