import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

/** `charset` parameter of a Content-Type header, lower-cased and unquoted; null when absent. */
function charsetOf(contentType: string | undefined): string | null {
  const m = /;\s*charset\s*=\s*("?)([^";,\s]*)\1/i.exec(contentType ?? '');
  return m ? (m[2] ?? '').toLowerCase() : null;
}

/**
 * The JSON body parser: Fastify's own (with its prototype-poisoning protection), after a check
 * that the body is declared UTF-8 or not declared at all. A body in another charset (latin1,
 * UTF-16, GBK) would otherwise be read as UTF-8 and its names silently garbled.
 */
export function registerJsonBodyParser(
  app: Pick<FastifyInstance, 'getDefaultJsonParser' | 'removeContentTypeParser' | 'addContentTypeParser'>,
): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const charset = charsetOf(request.headers['content-type']);
    if (charset !== null && charset !== 'utf-8' && charset !== 'utf8') {
      done(new AppError('unsupported_media', { userMessage: '请求体须为 UTF-8 编码的 JSON' }), undefined);
      return;
    }
    // parseAs 'string' hands over a string.
    parseJson(request, body as string, done);
  });
}
