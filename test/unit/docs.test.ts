import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/paths.js';

const DOCS = [
  'README.md',
  'README.zh-CN.md',
  ...fs.readdirSync(path.join(ROOT, 'docs')).map((f) => `docs/${f}`),
];

/** Targets of Markdown links and of backquoted repository paths like `../shared/DESIGN.md`. */
function localReferences(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
  const paths = [...text.matchAll(/`(\.{0,2}\/?[\w./-]+\.md)`/g)].map((m) => m[1] as string);
  return [...links, ...paths].filter((t) => !/^[a-z]+:/.test(t) && !t.startsWith('#'));
}

describe('documentation', () => {
  it.each(DOCS)('%s refers only to files inside the repository that exist', (file) => {
    for (const target of localReferences(file)) {
      const resolved = path.resolve(path.dirname(path.join(ROOT, file)), target.split('#')[0] as string);
      expect(resolved.startsWith(`${ROOT}${path.sep}`), `${file} → ${target}`).toBe(true);
      expect(fs.existsSync(resolved), `${file} → ${target}`).toBe(true);
    }
  });

  it('README.md links the Chinese README at its top, and the Chinese README links back', () => {
    const top = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n').slice(0, 5).join('\n');
    expect(top).toContain('](README.zh-CN.md)');
    expect(fs.readFileSync(path.join(ROOT, 'README.zh-CN.md'), 'utf8')).toContain('](README.md)');
  });

  it('the Chinese README has a quick start, an API summary and an operations section', () => {
    const headings = fs
      .readFileSync(path.join(ROOT, 'README.zh-CN.md'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('## '));
    expect(headings).toEqual(expect.arrayContaining(['## 快速开始', '## 接口摘要', '## 运维']));
  });

  it('ships the Apache-2.0 licence and declares it in package.json', () => {
    const licence = fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');
    expect(licence).toContain('Apache License');
    expect(licence).toContain('Version 2.0, January 2004');
    expect(licence).toContain('END OF TERMS AND CONDITIONS');
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).license).toBe('Apache-2.0');
  });
});
