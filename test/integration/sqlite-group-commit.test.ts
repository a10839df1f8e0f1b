import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeFault } from '../../src/services/store-faults.js';
import { openStore, type Store } from '../../src/store/db.js';
import { tempDir } from '../support/paths.js';

describe('SQLite group commit', () => {
  let store: Store;
  let other: SqliteDatabase.Database;

  beforeAll(async () => {
    const file = path.join(tempDir('gc'), 'gc.sqlite');
    store = openStore({ kind: 'sqlite', file });
    await sql`create table t (id integer primary key, v text not null unique)`.execute(store.db);
    // No index: a failed insert here cannot be undone statement by statement, so on SQLITE_FULL
    // SQLite rolls the whole transaction (the batch) back by itself.
    await sql`create table blobs (id integer primary key, v blob not null)`.execute(store.db);
    // A second connection sees only what is committed.
    other = new SqliteDatabase(file, { readonly: true });
  });
  afterAll(async () => {
    other?.close();
    await store?.close();
  });

  const committed = (prefix: string) =>
    (other.prepare('select v from t where v like ? order by v').all(`${prefix}%`) as { v: string }[]).map(
      (r) => r.v,
    );

  it('answers each transaction after its commit; a failing one does not fail its batch-mates', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.db.transaction().execute(async (trx) => {
          await trx
            .insertInto('t' as never)
            .values({ v: `a${String(i).padStart(2, '0')}` } as never)
            .execute();
          if (i === 7) throw new Error('request 7 fails after writing');
          // A constraint violation inside the transaction, caught by the caller's code.
          if (i === 11)
            await trx
              .insertInto('t' as never)
              .values({ v: 'a00' } as never)
              .execute();
          await trx
            .insertInto('t' as never)
            .values({ v: `b${String(i).padStart(2, '0')}` } as never)
            .execute();
          // Each transaction sees its own writes and is visible elsewhere only once it resolves.
          return committed(`b${String(i).padStart(2, '0')}`).length;
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(
      Array.from({ length: 20 }, (_, i) => (i === 7 || i === 11 ? 'rejected' : 'fulfilled')),
    );
    // Not committed while the batch was open…
    for (const r of results) if (r.status === 'fulfilled') expect(r.value).toBe(0);
    // …and committed, all but the two failures, once the answers came back.
    const expected = (p: string) =>
      Array.from({ length: 20 }, (_, i) => i)
        .filter((i) => i !== 7 && i !== 11)
        .map((i) => `${p}${String(i).padStart(2, '0')}`);
    expect(committed('a')).toEqual(expected('a'));
    expect(committed('b')).toEqual(expected('b'));
  });

  it('a plain write returns after it is committed; a failing one leaves the others', async () => {
    const writes = await Promise.allSettled([
      store.db
        .insertInto('t' as never)
        .values({ v: 'c1' } as never)
        .execute(),
      store.db
        .insertInto('t' as never)
        .values({ v: 'a01' } as never)
        .execute(),
      store.db
        .insertInto('t' as never)
        .values({ v: 'c2' } as never)
        .execute(),
    ]);
    expect(writes.map((w) => w.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(committed('c')).toEqual(['c1', 'c2']);
  });

  it('a full database answers unavailable, even after SQLite rolled the batch back itself, and the next batch commits', async () => {
    const pages = await sql<{ page_count: number }>`pragma page_count`.execute(store.db);
    // The deterministic disk full: no page beyond the ones the file has now.
    await sql.raw(`pragma max_page_count = ${pages.rows[0]?.page_count}`).execute(store.db);
    const bigBlob = () =>
      store.db
        .insertInto('blobs' as never)
        .values({ v: Buffer.alloc(64 * 1024) } as never)
        .execute();
    const results = await Promise.allSettled([
      store.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('t' as never)
          .values({ v: 'd1' } as never)
          .execute();
      }),
      store.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('blobs' as never)
          .values({ v: Buffer.alloc(64 * 1024) } as never)
          .execute();
      }),
      // Code that catches the failure and writes on must not write outside the lost transaction.
      store.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('blobs' as never)
          .values({ v: Buffer.alloc(64 * 1024) } as never)
          .execute()
          .catch(() => undefined);
        await trx
          .insertInto('t' as never)
          .values({ v: 'd3' } as never)
          .execute();
      }),
      bigBlob(),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    for (const r of results) {
      const reason = (r as PromiseRejectedResult).reason as { code?: string };
      expect(reason.code).toBe('SQLITE_FULL');
      expect(storeFault(reason)?.kind).toBe('unavailable');
    }
    expect(committed('d')).toEqual([]);

    await sql`pragma max_page_count = 1073741823`.execute(store.db);
    const after = await Promise.allSettled([
      store.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('t' as never)
          .values({ v: 'd4' } as never)
          .execute();
      }),
      bigBlob(),
    ]);
    expect(after.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(committed('d')).toEqual(['d4']);
  });
});
