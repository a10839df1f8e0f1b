import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  type SqliteDialectConfig,
  sql,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';

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
  if (database.file !== ':memory:') createPrivately(database.file);
  const sqlite = new SqliteDatabase(database.file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  // Erased personal data must leave the file, not just the rows: freed cell space is zeroed.
  sqlite.pragma('secure_delete = FAST');
  // Fewer, larger checkpoints: a fifth less write CPU per new flow for a WAL of up to ~40 MB.
  sqlite.pragma('wal_autocheckpoint = 10000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(sqlite) }) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
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

const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every query anew; preparing costs more than running the small indexed queries
 * of this service (a sixth of a new flow's CPU in profiles). Our queries are few distinct SQL
 * strings with parameters, so their prepared statements are kept, least recently used dropped.
 */
function cachingStatements(sqlite: SqliteDatabase.Database): SqliteDialectConfig['database'] {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sqlText: string) {
      let stmt = cache.get(sqlText);
      if (stmt) {
        cache.delete(sqlText);
      } else {
        stmt = sqlite.prepare(sqlText);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sqlText, stmt);
      return stmt;
    },
  };
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
