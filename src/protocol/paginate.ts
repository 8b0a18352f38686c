import { GatewayError } from '../errors.js';

/** One page of a sorted list. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/**
 * Cursor pagination over a list sorted by `key`. The cursor names the last key returned (opaque to clients), so
 * pages stay consistent when items are added or removed between requests: no duplicates, nothing skipped that
 * existed throughout.
 */
export function paginate<T>(items: readonly T[], key: (item: T) => string, cursor: unknown, pageSize: number): Page<T> {
  let start = 0;
  if (cursor !== undefined) {
    const after = decodeCursor(cursor);
    // binary search: first item whose key sorts after the cursor
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (key(items[mid] as T) <= after) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const slice = items.slice(start, start + pageSize);
  const page: Page<T> = { items: slice };
  if (start + pageSize < items.length && slice.length > 0)
    page.nextCursor = encodeCursor(key(slice[slice.length - 1] as T));
  return page;
}

function encodeCursor(after: string): string {
  return Buffer.from(JSON.stringify({ a: after }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: unknown): string {
  if (typeof cursor === 'string') {
    try {
      const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (typeof v === 'object' && v !== null && typeof (v as { a?: unknown }).a === 'string')
        return (v as { a: string }).a;
    } catch {
      // fall through
    }
  }
  throw new GatewayError(
    'TG_INVALID_CURSOR',
    'Invalid pagination cursor: pass back the nextCursor value of the previous page unchanged.',
  );
}
