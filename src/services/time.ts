const BEIJING_OFFSET_MS = 8 * 3600_000;

/** ISO 8601 with the Beijing offset, to the second: `2026-11-28T18:30:00+08:00`. */
export function formatBeijing(ms: number): string {
  return `${new Date(ms + BEIJING_OFFSET_MS).toISOString().slice(0, 19)}+08:00`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
