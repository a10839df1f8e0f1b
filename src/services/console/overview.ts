import { AppError } from '../../errors.js';
import * as clientStore from '../../store/client-store.js';
import * as deliveryStore from '../../store/delivery-store.js';
import {
  bucketKey,
  HOUR,
  hourOf,
  LATENCY_BOUNDS_MS,
  rebuildFlowStats,
  sumStatsByClient,
  sumStatsSeries,
  TTC_BOUNDS_MS,
} from '../../store/stats-store.js';
import type { ServiceDeps } from '../deps.js';
import { formatBeijing } from '../time.js';

const DAY = 24 * HOUR;
/** Beijing days start at 16:00 UTC: bucket starts are shifted by the offset. */
const BEIJING_OFFSET = 8 * HOUR;
const PRESETS = { '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY } as const;
const MAX_RANGE = 366 * DAY;

/** The outcome columns of the series, and the counter each one reads. */
const OUTCOME_KEYS = {
  new: 'flow.created',
  reused: 'req.reused',
  verified: 'req.verified',
  success: 'flow.status.SUCCESS',
  failed: 'flow.status.FAILED',
  expired: 'flow.status.EXPIRED',
  superseded: 'flow.status.SUPERSEDED',
} as const;
type Outcome = keyof typeof OUTCOME_KEYS;
type OutcomeCounts = Record<Outcome, number>;
const OUTCOMES = Object.keys(OUTCOME_KEYS) as Outcome[];
const zeroOutcomes = (): OutcomeCounts => Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as OutcomeCounts;

export interface OverviewRange {
  range: '24h' | '7d' | '30d' | 'custom';
  from?: string;
  until?: string;
}

/** Whole hours: `[from, until)`, the current hour included for the presets. */
function resolveRange(now: number, q: OverviewRange): { from: number; until: number } {
  if (q.range !== 'custom') {
    const until = hourOf(now) + HOUR;
    return { from: until - PRESETS[q.range], until };
  }
  const from = q.from === undefined ? Number.NaN : Date.parse(q.from);
  const until = q.until === undefined ? Number.NaN : Date.parse(q.until);
  const errors = [
    ...(Number.isNaN(from) ? [{ field: 'from', code: 'REQUIRED', message: '自定义范围需要开始时间' }] : []),
    ...(Number.isNaN(until) ? [{ field: 'until', code: 'REQUIRED', message: '自定义范围需要结束时间' }] : []),
  ];
  if (errors.length === 0 && !(from < until && until - from <= MAX_RANGE))
    errors.push({ field: 'until', code: 'RANGE', message: '结束时间须晚于开始时间，且范围不超过366天' });
  if (errors.length > 0) throw new AppError('invalid', { data: { errors } });
  return { from: hourOf(from), until: hourOf(until - 1) + HOUR };
}

/**
 * Estimates a quantile from bucket counts (upper bounds `bounds`, then an overflow bucket),
 * interpolating linearly inside the bucket it falls in. Null when there is nothing to count.
 */
export function quantileFromBuckets(bounds: readonly number[], counts: readonly number[], q: number) {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const target = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (c > 0 && seen + c >= target) {
      const lower = i === 0 ? 0 : (bounds[i - 1] as number);
      // The overflow bucket has no upper bound: report its lower one.
      const upper = bounds[i] ?? lower;
      return lower + ((upper - lower) * (target - seen)) / c;
    }
    seen += c;
  }
  return bounds[bounds.length - 1] ?? null;
}

const bucketCounts = (sums: Map<string, number>, prefix: string, bounds: readonly number[]) =>
  Array.from({ length: bounds.length + 1 }, (_, i) => sums.get(bucketKey(prefix, i)) ?? 0);

/**
 * The console's overview, from the hourly counters only (never a scan of flows): a 30-day range
 * reads at most 720 hours × clients × counters rows.
 */
export async function getOverview(deps: Pick<ServiceDeps, 'store' | 'now'>, q: OverviewRange) {
  const now = deps.now();
  const { from, until } = resolveRange(now, q);
  const bucket = until - from <= 48 * HOUR ? 'hour' : 'day';
  const bucketMs = bucket === 'hour' ? HOUR : DAY;
  const offset = bucket === 'hour' ? 0 : BEIJING_OFFSET;
  const db = deps.store.db;
  const [series, byClient, clientRows, pending] = await Promise.all([
    sumStatsSeries(db, from, until, Object.values(OUTCOME_KEYS), bucketMs, offset),
    sumStatsByClient(db, from, until),
    clientStore.listClients(db),
    deliveryStore.pendingSummary(db),
  ]);

  const start = Math.floor((from + offset) / bucketMs) * bucketMs - offset;
  const points = new Map<number, OutcomeCounts>();
  for (let at = start; at < until; at += bucketMs) points.set(at, zeroOutcomes());
  const outcomeOf = new Map<string, Outcome>(OUTCOMES.map((o) => [OUTCOME_KEYS[o], o]));
  for (const r of series) {
    const point = points.get(r.at);
    const outcome = outcomeOf.get(r.key);
    if (point && outcome) point[outcome] += r.n;
  }

  const totalsByKey = new Map<string, number>();
  const perClient = new Map<string, Map<string, number>>();
  for (const r of byClient) {
    totalsByKey.set(r.key, (totalsByKey.get(r.key) ?? 0) + r.n);
    if (r.clientId === '') continue;
    const m = perClient.get(r.clientId) ?? new Map<string, number>();
    m.set(r.key, (m.get(r.key) ?? 0) + r.n);
    perClient.set(r.clientId, m);
  }
  const total = (key: string) => totalsByKey.get(key) ?? 0;
  const totals = Object.fromEntries(OUTCOMES.map((o) => [o, total(OUTCOME_KEYS[o])])) as OutcomeCounts;

  const names = new Map(clientRows.map((c) => [c.id, c.name]));
  const clientStats = [...perClient.entries()]
    .filter(([, m]) => (m.get('flow.created') ?? 0) > 0)
    .map(([clientId, m]) => {
      const success = m.get('flow.status.SUCCESS') ?? 0;
      const completed = success + (m.get('flow.status.FAILED') ?? 0);
      const median = quantileFromBuckets(TTC_BOUNDS_MS, bucketCounts(m, 'flow.ttc', TTC_BOUNDS_MS), 0.5);
      return {
        clientId,
        clientName: names.get(clientId) ?? clientId,
        created: m.get('flow.created') ?? 0,
        success,
        successRate: completed === 0 ? null : success / completed,
        medianCompleteSeconds: median === null ? null : Math.round(median / 100) / 10,
      };
    })
    .sort((a, b) => b.created - a.created || a.clientName.localeCompare(b.clientName));

  const byResult = new Map<string, number>();
  for (const [key, n] of totalsByKey) {
    const m = /^up\.[a-z_]+\.([a-z_]+)$/.exec(key);
    if (m?.[1]) byResult.set(m[1], (byResult.get(m[1]) ?? 0) + n);
  }
  const latency = bucketCounts(totalsByKey, 'up.lat', LATENCY_BOUNDS_MS);
  const pct = (p: number) => {
    const v = quantileFromBuckets(LATENCY_BOUNDS_MS, latency, p);
    return v === null ? null : Math.round(v);
  };

  return {
    from: formatBeijing(from),
    until: formatBeijing(until),
    bucket,
    series: [...points.entries()].map(([at, counts]) => ({ at: formatBeijing(at), ...counts })),
    totals,
    funnel: {
      created: total('flow.created'),
      opened: total('flow.opened'),
      completed: total('flow.status.SUCCESS') + total('flow.status.FAILED'),
      success: total('flow.status.SUCCESS'),
    },
    clients: clientStats,
    upstream: {
      byResult: [...byResult.entries()]
        .map(([result, count]) => ({ result, count }))
        .sort((a, b) => b.count - a.count),
      latencyMs: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99) },
    },
    deliveries: {
      byOutcome: { delivered: total('dl.delivered'), failed: total('dl.retrying'), dead: total('dl.dead') },
      pending: pending.count,
      oldestPendingSeconds:
        pending.oldest === null ? null : Math.max(0, Math.round((now - pending.oldest) / 1000)),
    },
  };
}

/** `stats rebuild`: the flow counters recounted from the flows table. */
export function rebuildStatistics(deps: Pick<ServiceDeps, 'store'>): Promise<number> {
  return rebuildFlowStats(deps.store.db);
}
