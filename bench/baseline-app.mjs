/**
 * What both reference servers share with each other and with the gateway: Fastify with the
 * gateway's body limit and Ajv options (so schema failures cost the same) and the face body's
 * schema, then listening on PORT and stopping on SIGTERM/SIGINT.
 */
import Fastify from 'fastify';

const field = { type: 'string', minLength: 1, maxLength: 32 };
export const FACE_BODY = {
  type: 'object',
  required: ['name', 'idNumber', 'mobile', 'validPeriod'],
  properties: { name: field, idNumber: field, mobile: field, validPeriod: field },
  additionalProperties: true,
};

export function baselineApp() {
  return Fastify({
    logger: false,
    bodyLimit: 16 * 1024,
    ajv: { customOptions: { allErrors: true, coerceTypes: false, removeAdditional: false } },
  });
}

export async function serve(app) {
  await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
  for (const signal of ['SIGTERM', 'SIGINT'])
    process.once(signal, () => app.close().then(() => process.exit(0)));
}
