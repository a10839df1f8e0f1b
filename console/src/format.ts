import type { ResponseOf } from '../../src/http/console/contract.ts';

type FlowStatus = ResponseOf<'flowDetail'>['flow']['status'];
type DeliveryStatus = ResponseOf<'redeliver'>['status'];

const dateTime = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

/** Beijing time, as the gateway's users read it. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return dateTime.format(new Date(iso));
}

/** A short axis label: "11-28 18:00" by hour, "11-28" by day. */
export function axisLabel(iso: string, bucket: 'hour' | 'day'): string {
  const parts = Object.fromEntries(dateTime.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return bucket === 'hour' ? `${parts.month}-${parts.day} ${parts.hour}:00` : `${parts.month}-${parts.day}`;
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${Math.round(seconds)} 秒`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} 分钟`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} 小时`;
  return `${(seconds / 86400).toFixed(1)} 天`;
}

export function formatPercent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`;
}

export const FLOW_STATUS: Record<
  FlowStatus,
  { label: string; tag: 'primary' | 'success' | 'danger' | 'info' | 'warning' }
> = {
  PENDING: { label: '进行中', tag: 'primary' },
  SUCCESS: { label: '认证成功', tag: 'success' },
  FAILED: { label: '认证失败', tag: 'danger' },
  EXPIRED: { label: '已过期', tag: 'info' },
  SUPERSEDED: { label: '已被替代', tag: 'warning' },
};

export const DELIVERY_STATUS: Record<
  DeliveryStatus,
  { label: string; tag: 'primary' | 'success' | 'danger' }
> = {
  PENDING: { label: '待重试', tag: 'primary' },
  DELIVERED: { label: '已送达', tag: 'success' },
  DEAD: { label: '已放弃', tag: 'danger' },
};

/** The outcomes the overview counts, in chart order, with their labels and colours. */
export const OUTCOMES = [
  { key: 'new', label: '新建', color: '#3b82f6' },
  { key: 'reused', label: '复用链接', color: '#06b6d4' },
  { key: 'verified', label: '已实名', color: '#8b5cf6' },
  { key: 'success', label: '成功', color: '#22c55e' },
  { key: 'failed', label: '失败', color: '#ef4444' },
  { key: 'expired', label: '过期', color: '#9ca3af' },
  { key: 'superseded', label: '被替代', color: '#f59e0b' },
] as const;

/** Beijing midnight of a yyyy-mm-dd date, or the end of that day, as ISO 8601 with the offset. */
export function beijingDayStart(day: string): string {
  return `${day}T00:00:00+08:00`;
}

export function beijingDayEnd(day: string): string {
  return `${day}T23:59:59+08:00`;
}
