/** ECharts options for the overview, built from the overview response (pure functions). */
import type { ResponseOf } from '../../../src/http/console/contract.ts';
import { axisLabel, OUTCOMES } from '../format.ts';
import type { ChartOption } from './echarts.ts';

type Overview = ResponseOf<'overview'>;

const tooltip = { trigger: 'axis', axisPointer: { type: 'shadow' } };

/** Upstream call results as the gateway records them (`refused` = answered with an error). */
const UPSTREAM_RESULTS: Record<string, string> = {
  ok: '成功',
  refused: '被拒绝',
  timeout: '超时',
  unavailable: '不可用',
  error: '异常',
};

/** Flows per hour or day, stacked by outcome. */
export function outcomeSeries(o: Overview): ChartOption {
  return {
    tooltip,
    legend: { top: 0 },
    grid: { left: 48, right: 16, top: 40, bottom: 32 },
    xAxis: { type: 'category', data: o.series.map((s) => axisLabel(s.at, o.bucket)) },
    yAxis: { type: 'value', minInterval: 1 },
    series: OUTCOMES.map((outcome) => ({
      name: outcome.label,
      type: 'bar',
      stack: 'flows',
      barMaxWidth: 28,
      itemStyle: { color: outcome.color },
      data: o.series.map((s) => s[outcome.key]),
    })),
  };
}

export function funnel(o: Overview): ChartOption {
  const steps = [
    { name: '创建', value: o.funnel.created },
    { name: '打开链接', value: o.funnel.opened },
    { name: '完成认证', value: o.funnel.completed },
    { name: '认证成功', value: o.funnel.success },
  ];
  return {
    tooltip: { trigger: 'item', formatter: '{b}：{c}' },
    color: ['#3b82f6', '#06b6d4', '#8b5cf6', '#22c55e'],
    series: [
      {
        type: 'funnel',
        sort: 'none',
        left: '6%',
        width: '62%',
        top: 16,
        bottom: 16,
        minSize: '8%',
        // Beside the shape, not inside: the narrow end has no room for text.
        label: { position: 'right', formatter: '{b} {c}', color: '#374151' },
        data: steps,
      },
    ],
  };
}

export function upstreamCalls(o: Overview): ChartOption {
  return {
    tooltip,
    grid: { left: 48, right: 16, top: 16, bottom: 32 },
    xAxis: { type: 'category', data: o.upstream.byResult.map((r) => UPSTREAM_RESULTS[r.result] ?? r.result) },
    yAxis: { type: 'value', minInterval: 1 },
    series: [
      {
        type: 'bar',
        barMaxWidth: 40,
        data: o.upstream.byResult.map((r) => ({
          value: r.count,
          itemStyle: { color: r.result === 'ok' ? '#22c55e' : '#ef4444' },
        })),
      },
    ],
  };
}

export function deliveryOutcomes(o: Overview): ChartOption {
  const d = o.deliveries.byOutcome;
  const slices = [
    { name: '送达', value: d.delivered, itemStyle: { color: '#22c55e' } },
    { name: '失败待重试', value: d.failed, itemStyle: { color: '#f59e0b' } },
    { name: '已放弃', value: d.dead, itemStyle: { color: '#ef4444' } },
  ];
  const counts = new Map(slices.map((s) => [s.name, s.value]));
  // Counts in the legend, not beside the slices: labels outside a narrow card get cut off.
  return {
    tooltip: { trigger: 'item', formatter: '{b}：{c}（{d}%）' },
    legend: { bottom: 0, formatter: (name: string) => `${name} ${counts.get(name) ?? 0}` },
    series: [
      {
        type: 'pie',
        radius: ['42%', '70%'],
        center: ['50%', '45%'],
        label: { show: false },
        data: slices,
      },
    ],
  };
}
