import type { FastifyInstance } from 'fastify';
import { AppError, invalid } from '../errors.js';

/** `charset` parameter of a Content-Type header, lower-cased and unquoted; null when absent. */
function charsetOf(contentType: string | undefined): string | null {
  const m = /;\s*charset\s*=\s*("?)([^";,\s]*)\1/i.exec(contentType ?? '');
  return m ? (m[2] ?? '').toLowerCase() : null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The JSON body parser: Fastify's own (with its prototype-poisoning protection), after a check
 * that the body is declared UTF-8 or not declared at all, and that its bytes are UTF-8. A body in
 * another charset (latin1, UTF-16, GBK) would otherwise be read as UTF-8 and its names silently
 * garbled: declared, it is 415; undeclared, 400 `BODY_ENCODING` rather than a misreported name.
 */
export function registerJsonBodyParser(
  app: Pick<FastifyInstance, 'getDefaultJsonParser' | 'removeContentTypeParser' | 'addContentTypeParser'>,
): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const charset = charsetOf(request.headers['content-type']);
    if (charset !== null && charset !== 'utf-8' && charset !== 'utf8') {
      done(new AppError('unsupported_media', { userMessage: '请求体须为 UTF-8 编码的 JSON' }), undefined);
      return;
    }
    let text: string;
    try {
      // parseAs 'buffer' hands over a Buffer.
      text = utf8.decode(body as Buffer);
    } catch {
      done(
        invalid([{ field: 'body', code: 'BODY_ENCODING', message: '请求体须为 UTF-8 编码的 JSON' }]),
        undefined,
      );
      return;
    }
    parseJson(request, text, done);
  });
}
