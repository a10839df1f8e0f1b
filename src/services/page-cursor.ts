import { invalid } from '../errors.js';

/**
 * A position in a newest-first list ordered by (created_at, id), for the client API and the
 * console alike; opaque to whoever pages.
 */
export function encodeCursor(row: { created_at: number; id: string }): string {
  return Buffer.from(JSON.stringify([row.created_at, row.id])).toString('base64url');
}

/** The position a cursor names, or null for anything `encodeCursor` did not write. */
export function decodeCursor(cursor: string): { createdAt: number; id: string } | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [createdAt, id] = value as unknown[];
    if (!Number.isSafeInteger(createdAt) || typeof id !== 'string' || id.length > 64) return null;
    return { createdAt: createdAt as number, id };
  } catch {
    return null;
  }
}

/** For the console's lists, which answer a cursor they did not write with 422 on `cursor`. */
export function positionOf(cursor: string): { createdAt: number; id: string } {
  const at = decodeCursor(cursor);
  if (!at) throw invalid([{ field: 'cursor', code: 'CURSOR', message: '分页游标无效' }]);
  return at;
}
