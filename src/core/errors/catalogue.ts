/**
 * The one error catalogue: a closed list of codes, each with its HTTP status and a short meaning.
 * `docs/errors.md` lists the same codes; a test keeps the two in step.
 */
export const ERROR_CODES = {
  invalid_json: { status: 400, meaning: 'The request body is not valid JSON.' },
  invalid_body: { status: 400, meaning: 'The request body is JSON but not of the shape this endpoint takes.' },
  invalid_gzip: { status: 400, meaning: 'Content-Encoding says gzip but the body is not valid gzip data.' },
  unsupported_encoding: { status: 415, meaning: 'Content-Encoding other than gzip or identity.' },
  too_many_messages: { status: 400, meaning: 'A batch holds more messages than the configured limit.' },
  payload_too_large: { status: 413, meaning: 'The request body (compressed or inflated) is over the configured limit.' },
  missing_write_key: { status: 401, meaning: 'No write key in the Authorization header or the body.' },
  invalid_write_key: { status: 401, meaning: 'The write key is unknown, rotated or its source is disabled.' },
  unauthorized: { status: 401, meaning: 'The admin API needs `Authorization: Bearer <admin token>`.' },
  not_found: { status: 404, meaning: 'No such resource.' },
  identity_conflict: { status: 409, meaning: 'The identity rules refuse the merge (a per-type limit, or the merge or identifier cap).' },
  validation_failed: { status: 400, meaning: 'A parameter or field of the request is missing or invalid.' },
  conflict: { status: 409, meaning: 'The change conflicts with what exists: an id already in use, or a segment other segments include.' },
  missing_opt_in_proof: {
    status: 400,
    meaning:
      'A marketing SMS subscription needs explicit opt-in proof (TCPA): how it was given and the consent text version, or the keyword.',
  },
  invalid_signature: { status: 401, meaning: 'A webhook secret or a signed link (unsubscribe token) is missing, wrong or expired.' },
  export_not_ready: {
    status: 409,
    meaning: 'The privacy request has not finished (or is not an export): there is nothing to download yet.',
  },
  overloaded: { status: 503, meaning: 'The pipeline is saturated; retry after the number of seconds in Retry-After.' },
  log_unavailable: {
    status: 503,
    meaning: 'The durable log (NATS JetStream) did not acknowledge the request, so nothing was accepted; retry after Retry-After.',
  },
  shutting_down: { status: 503, meaning: 'The server is shutting down; retry against another instance or later.' },
  internal: { status: 500, meaning: 'An unexpected failure; it is logged with the request id.' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An expected failure that renders itself as the one error body. */
export class TesseraError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'TesseraError';
    this.status = ERROR_CODES[code].status;
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId: string; docs: string };
}

export function errorBody(code: ErrorCode, message: string, requestId: string): ErrorBody {
  return { error: { code, message, requestId, docs: `/docs/errors#${code}` } };
}
