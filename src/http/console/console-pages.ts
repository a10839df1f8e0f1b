import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { CONSOLE_PAGE_HEADERS, CONSOLE_STATIC_DIR } from './contract.js';

/** The package root: this file sits three levels down, in src/ or in dist/. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
};

interface BuiltFile {
  body: Buffer;
  type: string;
}

/**
 * The built console, read once at start. Serving only the files the build produced (a fixed map,
 * no path from the URL ever touches the file system) leaves no traversal to guard against.
 */
function readBuild(dir: string): Map<string, BuiltFile> {
  const files = new Map<string, BuiltFile>();
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else {
        const type = TYPES[path.extname(entry.name)];
        if (type) files.set(rel, { body: fs.readFileSync(path.join(dir, rel)), type });
      }
    }
  };
  if (fs.existsSync(path.join(dir, 'index.html'))) walk('');
  return files;
}

/** The operator console's pages at /console (the app routes by URL hash: one index.html). */
export const consolePages =
  (dir = path.join(ROOT, CONSOLE_STATIC_DIR)): FastifyPluginAsync =>
  async (app) => {
    const files = readBuild(dir);
    const send = (reply: FastifyReply, file: BuiltFile, cache: string) =>
      reply.headers(CONSOLE_PAGE_HEADERS).header('cache-control', cache).type(file.type).send(file.body);

    app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/'));
    app.get('/console/', { schema: { hide: true } }, async (_request, reply) => {
      const index = files.get('index.html');
      if (!index) {
        return reply
          .code(503)
          .headers(CONSOLE_PAGE_HEADERS)
          .type('text/plain; charset=utf-8')
          .send('控制台页面尚未构建：请先运行 npm run build');
      }
      // The page names the current hashed assets: always ask again.
      return send(reply, index, 'no-cache');
    });
    app.get<{ Params: { '*': string } }>('/console/*', { schema: { hide: true } }, async (request, reply) => {
      const name = request.params['*'];
      const file = name === 'index.html' ? undefined : files.get(name);
      if (!file) return reply.callNotFound();
      // Assets carry a content hash in their names; the favicon does not.
      const immutable = name.startsWith('assets/');
      return send(reply, file, immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    });
  };
