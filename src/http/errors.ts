/** One place that turns any failure into the one error body and status. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, TesseraError, errorBody, type ErrorCode } from '../core/errors/catalogue.ts';

function classify(err: FastifyError | TesseraError | Error): TesseraError | null {
  if (err instanceof TesseraError) return err;
  const fe = err as FastifyError;
  if (fe.validation) return new TesseraError('validation_failed', fe.message);
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new TesseraError('payload_too_large', 'the request body is over the configured limit');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new TesseraError('invalid_json', fe.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new TesseraError('invalid_body', fe.message);
    default:
      if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
        return new TesseraError(fe.statusCode === 404 ? 'not_found' : 'invalid_body', fe.message);
      }
      return null;
  }
}

export function sendError(reply: FastifyReply, code: ErrorCode, message: string, retryAfterSeconds?: number): FastifyReply {
  if (retryAfterSeconds !== undefined) reply.header('Retry-After', String(retryAfterSeconds));
  return reply.status(ERROR_CODES[code].status).send(errorBody(code, message, String(reply.request.id)));
}

export function errorHandler(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const known = classify(err);
  if (known) return sendError(reply, known.code, known.message, known.retryAfterSeconds);
  request.log.error({ err }, 'unexpected failure');
  return sendError(reply, 'internal', 'an unexpected error occurred; it has been logged with this request id');
}
