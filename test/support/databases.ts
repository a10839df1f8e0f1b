import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { tempDir } from './paths.js';

export type StoreKind = 'sqlite' | 'postgres';

export const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let pgAvailable: Promise<boolean> | null = null;

/** Whether PostgreSQL answers; with CI=true an unreachable PostgreSQL is a failure, not a skip. */
export function postgresAvailable(): Promise<boolean> {
  pgAvailable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch (err) {
      if (process.env.CI === 'true')
        throw new Error(`CI=true but PostgreSQL at ${PG_ADMIN_URL} is unreachable: ${err}`);
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return pgAvailable;
}

export interface TestDatabase {
  kind: StoreKind;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database for one test file or test: its own SQLite file or PostgreSQL database. */
export async function createTestDatabase(kind: StoreKind): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    return { kind, url: `sqlite:${path.join(tempDir('db'), 'test.sqlite')}`, drop: async () => {} };
  }
  const name = `etc_esign_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** The stores a store- or service-level test runs on: SQLite always, PostgreSQL when it answers. */
export async function storeKinds(): Promise<StoreKind[]> {
  return (await postgresAvailable()) ? ['sqlite', 'postgres'] : ['sqlite'];
}
