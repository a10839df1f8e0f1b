import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { faultLog } from '../../src/http/fault-log.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ base: null, timestamp: false }, sink), lines };
}

const FULL = 'SQLite: database or disk is full (SQLITE_FULL); writes fail until space is freed';
const PG = 'PostgreSQL unavailable (SQLSTATE 57P01)';

describe('faultLog', () => {
  it('writes a cause once, then once per 10 s with how many requests it failed in between', () => {
    let t = 1_000_000;
    const { log, lines } = capture();
    const logFault = faultLog(() => t);
    for (let i = 0; i < 500; i++) {
      logFault(log, FULL);
      t += 10;
    }
    // 500 failures over 5 s: one line.
    expect(lines).toEqual([
      { level: 50, kind: 'unavailable', detail: FULL, failedSinceLastLine: 0, msg: 'database unavailable' },
    ]);
    t += 5_000;
    logFault(log, FULL);
    expect(lines[1]).toEqual({
      level: 50,
      kind: 'unavailable',
      detail: FULL,
      failedSinceLastLine: 499,
      msg: 'database unavailable',
    });
    expect(lines).toHaveLength(2);
  });

  it('keeps each cause on its own clock', () => {
    const t = 5_000;
    const { log, lines } = capture();
    const logFault = faultLog(() => t);
    logFault(log, FULL);
    logFault(log, PG);
    logFault(log, FULL);
    logFault(log, PG);
    expect(lines.map((l) => [l.detail, l.failedSinceLastLine])).toEqual([
      [FULL, 0],
      [PG, 0],
    ]);
  });
});
