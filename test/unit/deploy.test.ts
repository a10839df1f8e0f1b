import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, loadConfig, SETTINGS } from '../../src/config.js';
import { ROOT } from '../support/paths.js';

const KEY = Buffer.alloc(32, 7).toString('base64');

/**
 * Every environment variable `loadConfig` reads, found by watching it read: once with nothing set
 * and once with every optional branch switched on (e签宝, PostgreSQL, Redis, keys by environment).
 */
function variablesConfigReads(): Set<string> {
  const read = new Set<string>();
  const probe = (values: Record<string, string>) =>
    new Proxy(values, {
      get(target, name) {
        if (typeof name === 'string') read.add(name);
        return target[name as string];
      },
      has(target, name) {
        if (typeof name === 'string') read.add(name);
        return name in target;
      },
    });
  const load = (values: Record<string, string>) => {
    try {
      loadConfig(probe(values));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
    }
  };
  load({});
  load({
    PROVIDER: 'esign',
    ESIGN_BASE_URL: 'https://smlopenapi.esign.cn',
    ESIGN_APP_ID: 'app',
    ESIGN_APP_SECRET: 'secret',
    DATABASE_URL: 'postgres://u@127.0.0.1/db',
    REDIS_URL: 'redis://127.0.0.1:6379',
    ENCRYPTION_KEYS: `k1:${KEY}`,
    BLIND_INDEX_KEY: KEY,
  });
  return read;
}

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

/** `NAME=value` lines of an env file, commented out (`# NAME=value`) or not. */
function envFileEntries(file: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^#? ?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) entries.set(m[1] as string, m[2] as string);
  }
  return entries;
}

describe('README configuration table', () => {
  it('lists exactly the variables of the settings table', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Configuration'), readme.indexOf('\n## CLI'));
    // A row may name two variables (`ESIGN_APP_ID`, `ESIGN_APP_SECRET`): every name in its first cell.
    const rows = section
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .flatMap((line) =>
        [...(line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1] as string),
      );
    expect(sorted(rows)).toEqual(sorted(Object.keys(SETTINGS)));
    expect(rows).toHaveLength(new Set(rows).size);
  });
});

describe('deploy/.env.example', () => {
  const entries = envFileEntries(path.join(ROOT, 'deploy/.env.example'));

  it('lists exactly the variables config.ts reads, which are exactly those of its settings table', () => {
    expect(sorted(Object.keys(SETTINGS))).toEqual(sorted(variablesConfigReads()));
    expect(sorted(entries.keys())).toEqual(sorted(Object.keys(SETTINGS)));
  });

  it('shows each default as the settings table has it (empty when unset)', () => {
    for (const [name, setting] of Object.entries(SETTINGS)) {
      expect(`${name}=${entries.get(name)}`).toBe(`${name}=${setting.default ?? ''}`);
    }
  });

  it('gives every variable a comment line right above it', () => {
    const lines = fs.readFileSync(path.join(ROOT, 'deploy/.env.example'), 'utf8').split('\n');
    for (const [i, line] of lines.entries()) {
      if (!/^#? ?[A-Z][A-Z0-9_]*=/.test(line)) continue;
      const above = lines[i - 1] ?? '';
      expect(above.startsWith('#'), `comment above ${line}`).toBe(true);
    }
  });
});

describe('deploy/compose.yaml', () => {
  const compose = parse(fs.readFileSync(path.join(ROOT, 'deploy/compose.yaml'), 'utf8'), {
    merge: true,
  }) as {
    services: Record<string, { build?: unknown; image?: string; environment?: Record<string, string> }>;
  };
  const gateways = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);

  it('runs two gateway replicas beside PostgreSQL and Redis', () => {
    expect(gateways.map(([name]) => name)).toEqual(['gateway-1', 'gateway-2']);
    expect(Object.keys(compose.services).sort()).toEqual(['gateway-1', 'gateway-2', 'postgres', 'redis']);
  });

  it('sets only variables that config.ts reads', () => {
    const known = variablesConfigReads();
    for (const [, service] of gateways) {
      const names = Object.keys(service.environment ?? {});
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((n) => !known.has(n))).toEqual([]);
    }
  });

  it('points the replicas at the compose PostgreSQL and Redis, and gives both the same keys', () => {
    for (const [, service] of gateways) {
      expect(service.environment?.DATABASE_URL).toMatch(
        /^postgres:\/\/etc_esign:.*@postgres:5432\/etc_esign$/,
      );
      expect(service.environment?.REDIS_URL).toBe('redis://redis:6379/0');
      expect(service.environment?.HOST).toBe('0.0.0.0');
      expect(service.environment?.ENCRYPTION_KEYS).toMatch(/^\$\{ENCRYPTION_KEYS:\?/);
    }
  });
});

describe('deploy/Dockerfile', () => {
  const text = fs.readFileSync(path.join(ROOT, 'deploy/Dockerfile'), 'utf8');
  const stages = text.split('\n').filter((l) => l.startsWith('FROM '));

  it('builds in stages and runs production dependencies as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(text).toContain('npm ci --omit=dev');
    const runtime = text.slice(text.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/\nUSER node\n/);
    expect(runtime).toContain('/readyz');
    expect(runtime).toMatch(/\nHEALTHCHECK /);
  });
});
