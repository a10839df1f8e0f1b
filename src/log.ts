import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Paths that could hold a token or personal data if someone ever logs a whole object by mistake.
 * Request bodies are never logged on purpose; this is the second line of defence.
 */
const REDACT = [
  'req.headers["etc-token"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers["etc-token"]',
  '*.token',
  '*.secret',
  '*.appSecret',
  '*.webhookSecret',
  '*.name',
  '*.idNumber',
  '*.idNo',
  '*.mobile',
  '*.validPeriod',
  'body',
  '*.body',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'etc-esign' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
