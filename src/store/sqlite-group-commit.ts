import { type FileHandle, open } from 'node:fs/promises';
import type SqliteDatabase from 'better-sqlite3';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  SqliteDialect,
} from 'kysely';

const STATEMENT_CACHE_SIZE = 500;
/** How long a write waits for another connection's lock before it fails (SQLITE_BUSY). */
const LOCK_WAIT_MS = 5000;
/** The savepoint each transaction runs in; one at a time, so one name does. */
const SAVEPOINT = 'tx';
/** Pragmas (wal_checkpoint, for one) run outside any batch. */
const PRAGMA = /^\s*pragma\b/i;

/**
 * SQLite for Kysely with group commit. A commit costs whole 4 KB WAL pages per touched B-tree and,
 * with `synchronous=FULL`, an fsync: paid per request, it bounds a new flow at a few hundred per
 * second. Here every Kysely transaction runs as a SAVEPOINT inside one outer transaction that
 * stays open while requests keep arriving in the same turn of the event loop; the outer COMMIT
 * runs once they are done (at `setImmediate`), and each transaction's `execute()` resolves only
 * after that COMMIT has reached the disk (see `settleDurable`), so nothing is acknowledged before
 * it is durable.
 *
 * - A transaction that fails rolls back to its own savepoint: its batch-mates commit.
 * - A plain write outside a transaction joins the batch (opening one if none is open) and likewise
 *   returns after the COMMIT; if it fails, only that statement is undone.
 * - Plain reads may see batch-mates' released savepoints before their COMMIT: those commit unless
 *   the COMMIT itself fails (I/O error, disk full), which fails every batch-mate's request.
 */
export class GroupCommitSqliteDialect extends SqliteDialect {
  /** `walFile`: the database's `-wal` file, synced before answering; null for `:memory:`. */
  constructor(
    private readonly sqlite: SqliteDatabase.Database,
    private readonly walFile: string | null,
  ) {
    super({ database: sqlite });
  }

  override createDriver(): Driver {
    return new GroupCommitDriver(this.sqlite, this.walFile);
  }
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** One acquisition of the single connection: what it did decides what its release waits for. */
class Connection implements DatabaseConnection {
  inSavepoint = false;
  /** The mutex was handed on at commit, before the batch's COMMIT. */
  handedOff = false;
  /** A plain write ran inside the open batch: the release waits for the batch's COMMIT. */
  wroteInBatch = false;

  constructor(private readonly driver: GroupCommitDriver) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.execute<R>(this, query);
  }

  // biome-ignore lint/correctness/useYield: streaming is not offered; the method must exist.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on SQLite here');
  }
}

/** First come, first served: the group COMMIT queues behind transactions already waiting, not forever. */
class Mutex {
  private locked = false;
  private readonly queue: (() => void)[] = [];

  lock(): Promise<void> {
    if (!this.locked) {
      this.locked = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  unlock(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.locked = false;
  }
}

class GroupCommitDriver implements Driver {
  private readonly mutex = new Mutex();
  private readonly statements = new Map<string, SqliteDatabase.Statement>();
  private batchOpen = false;
  private waiters: Waiter[] = [];
  private commitScheduled = false;
  /** What made SQLite roll the last batch back by itself: the error its savepoints answer with. */
  private lostBy: unknown = null;

  private wal: Promise<FileHandle> | null = null;
  /** Syncs not yet finished; closing waits for them. */
  private readonly syncing = new Set<Promise<void>>();

  constructor(
    private readonly sqlite: SqliteDatabase.Database,
    private readonly walFile: string | null,
  ) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.mutex.lock();
    return new Connection(this);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const conn = connection as Connection;
    await this.openBatch();
    this.exec(`savepoint ${SAVEPOINT}`);
    conn.inSavepoint = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const conn = connection as Connection;
    this.assertBatchAlive();
    this.exec(`release ${SAVEPOINT}`);
    conn.inSavepoint = false;
    const committed = this.nextCommit();
    // Let the next transaction into the batch while this one waits for the COMMIT.
    conn.handedOff = true;
    this.mutex.unlock();
    await committed;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const conn = connection as Connection;
    // After a failed group COMMIT Kysely rolls back too: there is nothing of ours left to undo.
    if (!conn.inSavepoint) return;
    conn.inSavepoint = false;
    // SQLite may have rolled the batch back by itself (disk full, I/O error): then there is no
    // savepoint to go back to, and failing here would hide the error that did it.
    if (this.sqlite.inTransaction) {
      try {
        this.exec(`rollback to ${SAVEPOINT}`);
        this.exec(`release ${SAVEPOINT}`);
      } catch (err) {
        // This request's writes must not reach the COMMIT: the whole batch goes instead. Kysely
        // rethrows the request's own error.
        this.abandonBatch(err);
      }
    }
    // The outer transaction may now hold nothing of this request; it still has to end.
    this.scheduleCommit();
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const conn = connection as Connection;
    if (conn.handedOff) return;
    const committed = conn.wroteInBatch ? this.nextCommit() : null;
    this.mutex.unlock();
    if (committed) await committed;
  }

  async destroy(): Promise<void> {
    await this.mutex.lock();
    this.commitBatch();
    await Promise.allSettled(this.syncing);
    this.sqlite.close();
    await (await this.wal?.catch(() => null))?.close();
    this.mutex.unlock();
  }

  async execute<R>(conn: Connection, query: CompiledQuery): Promise<QueryResult<R>> {
    const stmt = this.prepare(query.sql);
    if (PRAGMA.test(query.sql) && !conn.inSavepoint) {
      // A pragma such as wal_checkpoint cannot work inside a transaction: commit the batch first
      // (its requests are answered once it is synced, as always), then run it on its own.
      this.commitBatch();
    } else if (!stmt.readonly && !conn.inSavepoint) {
      await this.openBatch();
      conn.wroteInBatch = true;
    }
    if (conn.inSavepoint) this.assertBatchAlive();
    const params = query.parameters as unknown[];
    try {
      if (stmt.reader) return { rows: stmt.all(params) as R[] };
      const { changes, lastInsertRowid } = stmt.run(params);
      return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
    } catch (err) {
      this.noticeLostBatch(err);
      throw err;
    }
  }

  /**
   * Opens the batch's transaction, taking SQLite's write lock at once (BEGIN IMMEDIATE): a
   * deferred transaction that reads and then writes fails outright when another connection holds
   * the lock. While another connection holds it, wait here, without blocking the event loop — the
   * holder may be in this very thread (two stores on one file) and needs it to commit.
   */
  private async openBatch(): Promise<void> {
    if (this.batchOpen && this.sqlite.inTransaction) return;
    // A batch SQLite ended by itself unnoticed is over: its waiters hear so, and a new one begins.
    if (this.batchOpen) this.noticeLostBatch(this.lostBy ?? new Error('SQLite ended the batch by itself'));
    const deadline = performance.now() + LOCK_WAIT_MS;
    for (let delay = 1; ; delay = Math.min(2 * delay, 50)) {
      try {
        this.exec('begin immediate');
        this.batchOpen = true;
        this.lostBy = null;
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_BUSY' || performance.now() > deadline) throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /**
   * Some errors (I/O, disk full, a lock lost) make SQLite roll the whole transaction back: then
   * every batch-mate's work is gone, and each of them hears the error instead of a false commit.
   */
  private noticeLostBatch(err: unknown): void {
    if (this.batchOpen && !this.sqlite.inTransaction) {
      this.batchOpen = false;
      this.lostBy = err;
      this.settle(err);
    }
  }

  /**
   * Inside a transaction whose batch SQLite rolled back, a statement would run on its own, in
   * autocommit, and a RELEASE would fail with "no such savepoint": both answer the original error.
   */
  private assertBatchAlive(): void {
    if (!this.sqlite.inTransaction) throw this.lostBy ?? new Error('SQLite ended the batch by itself');
  }

  /** Ends the batch without committing it; every batch-mate hears `err`. Runs with the mutex held. */
  private abandonBatch(err: unknown): void {
    this.batchOpen = false;
    this.lostBy = err;
    try {
      if (this.sqlite.inTransaction) this.exec('rollback');
    } catch {
      // SQLite could not roll back either (the disk is gone); `err` is the one to report.
    }
    this.settle(err);
  }

  private nextCommit(): Promise<void> {
    this.scheduleCommit();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private scheduleCommit(): void {
    if (this.commitScheduled) return;
    this.commitScheduled = true;
    setImmediate(() => {
      void this.mutex.lock().then(() => {
        this.commitScheduled = false;
        try {
          this.commitBatch();
        } finally {
          this.mutex.unlock();
        }
      });
    });
  }

  /** Runs with the mutex held. */
  private commitBatch(): void {
    if (this.batchOpen && !this.sqlite.inTransaction) {
      this.noticeLostBatch(this.lostBy ?? new Error('SQLite ended the batch by itself'));
      return;
    }
    if (!this.batchOpen) {
      this.settle(null);
      return;
    }
    this.batchOpen = false;
    try {
      this.exec('commit');
    } catch (err) {
      this.abandonBatch(err);
      return;
    }
    this.settleDurable();
  }

  /**
   * Answers the batch once its WAL frames are on disk. SQLite runs with `synchronous=NORMAL`
   * (COMMIT writes the WAL but does not fsync it); the fsync happens here, on libuv's thread pool,
   * so the event loop goes on serving — and the next batch commits — while the disk works. An
   * acknowledged transaction is as durable as with `synchronous=FULL`: it survives a power cut.
   */
  private settleDurable(): void {
    if (this.walFile === null) {
      this.settle(null);
      return;
    }
    const waiters = this.waiters;
    this.waiters = [];
    this.wal ??= open(this.walFile, 'r');
    const synced = this.wal.then((fh) => fh.datasync());
    const done = synced.then(
      () => {
        for (const w of waiters) w.resolve();
      },
      (err: unknown) => {
        for (const w of waiters) w.reject(err);
      },
    );
    this.syncing.add(done);
    void done.finally(() => this.syncing.delete(done));
  }

  private settle(err: unknown): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (err === null) w.resolve();
      else w.reject(err);
    }
  }

  private exec(sql: string): void {
    try {
      this.prepare(sql).run();
    } catch (err) {
      this.noticeLostBatch(err);
      throw err;
    }
  }

  /**
   * Kysely prepares every query anew; preparing costs more than running the small indexed
   * queries of this service. Our queries are few distinct SQL strings with parameters, so their
   * prepared statements are kept, least recently used dropped.
   */
  private prepare(sql: string): SqliteDatabase.Statement {
    let stmt = this.statements.get(sql);
    if (stmt) {
      this.statements.delete(sql);
    } else {
      stmt = this.sqlite.prepare(sql);
      if (this.statements.size >= STATEMENT_CACHE_SIZE) {
        this.statements.delete(this.statements.keys().next().value as string);
      }
    }
    this.statements.set(sql, stmt);
    return stmt;
  }
}
