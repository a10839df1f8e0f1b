import { type RawBuilder, sql } from 'kysely';

/**
 * `col` still holds the value read (null included): the condition of the "update only if
 * unchanged since read" writes that let several processes walk the same rows.
 */
export const sameAs = (col: string, value: string | null): RawBuilder<boolean> =>
  value === null ? sql<boolean>`${sql.ref(col)} is null` : sql<boolean>`${sql.ref(col)} = ${value}`;
