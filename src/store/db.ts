import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { startCheckpointer } from './checkpointer.js';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';
import { GroupCommitSqliteDialect } from './sqlite-group-commit.js';

export type Db = Kysely<Database>;
/** Store functions accept either the pool or an open transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;
export type Dialect = 'sqlite' | 'postgres';

/** bigint (int8) columns hold epoch milliseconds, well inside Number's exact range. */
const PG_INT8 = 20;
const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === PG_INT8
      ? (v: string) => Number.parseInt(v, 10)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface Store {
  db: Db;
  dialect: Dialect;
  close(): Promise<void>;
}

export function openStore(database: Config['database'], logger?: Logger): Store {
  if (database.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: database.url,
      max: database.poolSize,
      connectionTimeoutMillis: database.connectTimeoutMs,
      query_timeout: database.queryTimeoutMs,
      types: PG_TYPES,
    });
    // An idle client losing its server (restart, failover) emits here; unheard, it would crash the
    // process. The pool replaces the client on the next checkout.
    pool.on('error', (err) =>
      logger?.warn({ err: { message: err.message } }, 'idle PostgreSQL connection lost'),
    );
    // A server shutdown also reaches connections that are checked out but between queries (inside a
    // transaction): unheard, that 'error' event would crash the process. The query in progress, if
    // any, fails on its own, and the pool drops the broken client when it is released.
    pool.on('connect', (client) =>
      client.on('error', (err) =>
        logger?.warn({ err: { message: err.message } }, 'PostgreSQL connection lost while in use'),
      ),
    );
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', close: () => db.destroy() };
  }
  const onDisk = database.file !== ':memory:';
  if (onDisk) createPrivately(database.file);
  const sqlite = new SqliteDatabase(database.file);
  sqlite.pragma('journal_mode = WAL');
  // Never wait for a lock inside SQLite: that would block the event loop, and with it the holder
  // when it is another store in this process. The group-commit driver waits for the write lock
  // asynchronously instead; WAL readers do not take it.
  sqlite.pragma('busy_timeout = 0');
  // An acknowledged flow survives a power cut, not only a process crash — the guarantee of
  // synchronous=FULL — but the fsync of the WAL is the group-commit driver's, once per batch and
  // off the event loop (sqlite-group-commit.ts); SQLite itself need not sync at COMMIT.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  // Erased personal data must leave the file, not just the rows: freed cell space is zeroed.
  sqlite.pragma('secure_delete = FAST');
  // Each transaction is a savepoint inside the batch: its statement journal stays in memory
  // instead of spilling to a temporary file.
  sqlite.pragma('temp_store = MEMORY');
  // Checkpoints run on a worker thread (checkpointer.ts), not inside a request's commit.
  const checkpointer = onDisk ? startCheckpointer(database.file) : null;
  if (checkpointer) sqlite.pragma('wal_autocheckpoint = 0');
  const db = new Kysely<Database>({
    dialect: new GroupCommitSqliteDialect(sqlite, onDisk ? `${database.file}-wal` : null),
  });
  return {
    db,
    dialect: 'sqlite',
    async close() {
      await checkpointer?.stop();
      await db.destroy();
    },
  };
}

/**
 * The database file (and its directory, if we make it) readable by this user only. SQLite gives
 * the `-wal` and `-shm` files it creates later the mode of the database file, so they follow.
 */
function createPrivately(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  // Also tightens files an older version left readable to others.
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
}

export async function migrateToLatest(db: Db): Promise<string[]> {
  // Each issue owns a migration number and they land on main in any order (006 before 004): a
  // database that already ran a higher number still gets a lower one that arrived later.
  const migrator = new Migrator({ db, provider: migrationProvider, allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** True when the error is a unique-constraint violation, on either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string };
  return (
    e?.code === '23505' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/**
 * After erasing personal data: copies the WAL into the database file and empties it, so old page
 * images holding the erased values are gone from disk (SQLite). False when other connections kept
 * the checkpoint from finishing; the next one does it. PostgreSQL: nothing here (see README).
 */
export async function flushErased(store: Store): Promise<boolean> {
  if (store.dialect !== 'sqlite') return true;
  const r = await sql<{ busy: number }>`pragma wal_checkpoint(TRUNCATE)`.execute(store.db);
  return r.rows[0]?.busy === 0;
}
