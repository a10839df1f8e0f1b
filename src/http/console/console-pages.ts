import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { AppError } from '../../errors.js';
import { CONSOLE_PAGE_HEADERS, CONSOLE_STATIC_DIR } from './contract.js';

/** The package root: this file is three levels down in both `src/` and `dist/`. */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CONSOLE_ROOT = path.join(PACKAGE_ROOT, CONSOLE_STATIC_DIR);

/**
 * The console's built files at /console: hashed assets (cached for a year, their names change with
 * their content), and `index.html` for /console/ and any other path under it, so that a reload on
 * any page of the app lands on the app.
 */
export const consolePages =
  (root: string = CONSOLE_ROOT): FastifyPluginAsync =>
  async (app) => {
    await app.register(fastifyStatic, { root, serve: false, decorateReply: true });
    app.addHook('onRequest', async (_request, reply) => {
      reply.headers(CONSOLE_PAGE_HEADERS);
      reply.header('x-frame-options', 'DENY');
    });
    const index = path.join(root, 'index.html');
    const sendIndex = (reply: FastifyReply) => {
      if (!fs.existsSync(index)) {
        throw new AppError('not_found', { userMessage: '控制台尚未构建，请先运行 npm run build' });
      }
      reply.header('cache-control', 'no-cache');
      return reply.sendFile('index.html', root, { cacheControl: false });
    };
    app.get('/console', { schema: { hide: true } }, async (_request, reply) =>
      reply.redirect('/console/', 302),
    );
    app.get('/console/*', { schema: { hide: true } }, async (request, reply) => {
      const rel = (request.params as { '*': string })['*'];
      const file = path.resolve(root, rel);
      const inside = file.startsWith(root + path.sep);
      if (rel && inside && fs.statSync(file, { throwIfNoEntry: false })?.isFile()) {
        const hashed = rel.startsWith('assets/');
        reply.header('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
        return reply.sendFile(rel, root, { cacheControl: false });
      }
      return sendIndex(reply);
    });
  };
