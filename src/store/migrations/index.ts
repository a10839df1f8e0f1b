import type { Migration, MigrationProvider } from 'kysely';
import * as m001 from './001-initial.js';
import * as m002 from './002-result-delivery.js';
import * as m003 from './003-hardening.js';
import * as m004 from './004-data-lifecycle.js';
import * as m005 from './005-console.js';
import * as m006 from './006-client-api.js';
import * as m007 from './007-write-path-indexes.js';
import * as m008 from './008-token-prefix.js';
import * as m009 from './009-blind-index-keys.js';
import * as m010 from './010-idempotency-person.js';

/** Migrations are compiled into the bundle (no directory scanning), so `dist/` is self-contained. */
export const migrationProvider: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '001-initial': m001,
      '002-result-delivery': m002,
      '003-hardening': m003,
      '004-data-lifecycle': m004,
      '005-console': m005,
      '006-client-api': m006,
      '007-write-path-indexes': m007,
      '008-token-prefix': m008,
      '009-blind-index-keys': m009,
      '010-idempotency-person': m010,
    };
  },
};
