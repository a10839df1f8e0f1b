import { type Compilable, CompiledQuery, type QueryResult } from 'kysely';
import type { Executor } from './db.js';

/** Marks a parameter slot while a query is compiled; never a real value (it starts with NUL). */
const MARK = '\u0000arg:';

type Slot = { arg: string } | { value: unknown };
interface Template {
  sql: string;
  slots: Slot[];
}

/**
 * A hot query built and compiled by Kysely once per dialect (and per `shape`, e.g. the column list
 * of an insert), then run with fresh parameters: building and compiling cost more than running the
 * small indexed statements of the request path. `build` receives the parameters as placeholders,
 * so it must pass them to Kysely as values (never inspect them); parameters are one flat object.
 */
export function precompile<P extends Record<string, unknown>, R>(
  build: (ex: Executor, p: P) => Compilable<R>,
  shape?: (p: P) => string,
): (ex: Executor, p: P) => Promise<QueryResult<R>> {
  const templates = new Map<unknown, Map<string, Template>>();
  return (ex, p) => {
    // The adapter's class tells the dialect: SQL text and placeholders differ between them.
    const dialect = ex.getExecutor().adapter.constructor;
    let byShape = templates.get(dialect);
    if (!byShape) {
      byShape = new Map();
      templates.set(dialect, byShape);
    }
    const key = shape ? shape(p) : '';
    let t = byShape.get(key);
    if (!t) {
      // Kysely leaves out undefined values (an insert omits the column): so does the probe.
      const probe = Object.fromEntries(
        Object.keys(p)
          .filter((k) => p[k] !== undefined)
          .map((k) => [k, `${MARK}${k}`]),
      ) as P;
      const compiled = build(ex, probe).compile();
      t = {
        sql: compiled.sql,
        slots: compiled.parameters.map((v) =>
          typeof v === 'string' && v.startsWith(MARK) ? { arg: v.slice(MARK.length) } : { value: v },
        ),
      };
      byShape.set(key, t);
    }
    const params = t.slots.map((s) => ('arg' in s ? p[s.arg] : s.value));
    return ex.executeQuery<R>(CompiledQuery.raw(t.sql, params));
  };
}

/** The column list of an insert: rows of one table may carry optional columns or not. */
export const columns = (p: Record<string, unknown>): string =>
  Object.keys(p)
    .filter((k) => p[k] !== undefined)
    .join(',');
