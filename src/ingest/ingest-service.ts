/**
 * The ingestion edge as a service, independent of HTTP: authenticate the write key, check the
 * request-level limits, apply back-pressure, and make the request durable in the log. Per-message
 * validation happens in the processor (`core/event/normalize.ts`), so one bad message never fails
 * its batch and the edge stays cheap.
 */
import type { Limits } from '../config/config.ts';
import type { EventType } from '../core/event/event.ts';
import { TesseraError } from '../core/errors/catalogue.ts';
import type { EventLog } from '../log/event-log.ts';
import { asciiJsonFromUtf8 } from '../log/ascii-json.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { SourceService } from '../sources/source-service.ts';
import { outlineJson, outlineOf } from './body-outline.ts';
import { inflate, parseJson } from './decode-body.ts';

export interface IngestRequest {
  /** `batch` for /v1/batch, /v1/import, /v1/b; `single` with a type hint for the one-message paths. */
  shape: 'batch' | 'single';
  typeHint: EventType | null;
  authorization: string | undefined;
  contentEncoding: string | undefined;
  body: Buffer;
}

export interface IngestResult {
  sourceId: string;
  messages: number;
}

export interface IngestOptions {
  log: EventLog;
  sources: SourceService;
  limits: Limits;
  metrics: Metrics;
  now: () => number;
  maxBacklogEvents: number;
  /** The log position the processor has reached, for the backlog measure. */
  processedSeq: () => number;
}

/** The write key from `Authorization: Basic base64(key:)`, `Bearer key`, or the body's `writeKey`. */
export function writeKeyOf(authorization: string | undefined, bodyWriteKey: string | undefined): string | null {
  if (authorization) {
    const [scheme, value] = authorization.trim().split(/\s+/, 2);
    if (scheme?.toLowerCase() === 'basic' && value) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = colon === -1 ? decoded : decoded.slice(0, colon);
      if (user) return user;
    }
    if (bodyWriteKey) return bodyWriteKey;
    if (scheme?.toLowerCase() === 'bearer' && value) return value;
    return null;
  }
  return bodyWriteKey || null;
}

export class IngestService {
  private backlogCheckedAt = -Infinity;
  private saturated = false;
  private closing = false;

  constructor(private readonly opts: IngestOptions) {}

  /** Stop accepting: every later request gets 503 so clients retry elsewhere or later. */
  beginShutdown(): void {
    this.closing = true;
  }

  async ingest(req: IngestRequest): Promise<IngestResult> {
    const { limits } = this.opts;
    if (this.closing) throw new TesseraError('shutting_down', 'the server is shutting down', 5);
    const inflated = inflate(req.body, req.contentEncoding, limits.maxInflatedBytes);
    // Decoded straight to ASCII JSON (the form the log stores): the same value, without V8's slow
    // decoding of non-ASCII text (see `ascii-json.ts`).
    const text = asciiJsonFromUtf8(inflated);
    // The body is checked and outlined, not built (`body-outline.ts`); only what the scan cannot vouch
    // for is parsed, which also words the error of invalid JSON.
    const body = outlineJson(inflated) ?? outlineOf(parseJson(text));
    if (!body.isObject) throw new TesseraError('invalid_body', 'the body must be a JSON object');

    const writeKey = writeKeyOf(req.authorization, body.writeKey);
    if (writeKey === null)
      throw new TesseraError('missing_write_key', 'send the write key as Basic auth user name or as writeKey in the body');
    const source = await this.opts.sources.byWriteKey(writeKey);
    if (!source) throw new TesseraError('invalid_write_key', 'the write key is unknown, rotated, or its source is disabled');

    let messages = 1;
    if (req.shape === 'batch') {
      if (body.batchLength === null) throw new TesseraError('invalid_body', 'a batch request needs a "batch" array');
      messages = body.batchLength;
      if (messages > limits.maxBatchMessages) {
        throw new TesseraError(
          'too_many_messages',
          `a batch may hold at most ${limits.maxBatchMessages} messages; this one holds ${messages}`,
        );
      }
      if (messages === 0) return { sourceId: source.id, messages: 0 };
    }
    if (this.isSaturated()) throw new TesseraError('overloaded', 'the pipeline is saturated; retry later', 2);

    await this.opts.log.append({
      sourceId: source.id,
      receivedAt: this.opts.now(),
      typeHint: req.typeHint,
      shape: req.shape,
      body: text,
      messages,
    });
    this.opts.metrics.accepted.inc({ source: source.id }, messages);
    return { sourceId: source.id, messages };
  }

  /** Past the backlog limit the edge sheds load; measured at most every 50 ms to keep requests cheap. */
  private isSaturated(): boolean {
    const now = this.opts.now();
    if (now - this.backlogCheckedAt >= 50) {
      this.backlogCheckedAt = now;
      this.saturated = this.opts.log.backlog(this.opts.processedSeq()).messages >= this.opts.maxBacklogEvents;
    }
    return this.saturated;
  }
}
