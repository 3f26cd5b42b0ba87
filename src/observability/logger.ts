/** Structured logs (pino). Secrets never reach a log line: authorization headers are redacted. */
import pino, { type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'tessera' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.writeKey', 'writeKey', 'token', '*.token'],
      censor: '[redacted]',
    },
  });
}
