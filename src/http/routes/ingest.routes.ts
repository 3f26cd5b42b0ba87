/**
 * The Segment-compatible ingestion edge: every path real SDKs use, any content type, gzip, CORS.
 * Registered in its own plugin scope so its raw-body parser and CORS rules apply to it alone.
 */
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { TYPE_BY_LETTER, EVENT_TYPES, type EventType } from '../../core/event/event.ts';
import type { IngestService } from '../../ingest/ingest-service.ts';

export interface IngestRouteOptions {
  ingest: IngestService;
  maxRequestBytes: number;
  corsMaxAgeSeconds: number;
  /** Public base of this server for the browser SDK's settings (`host:port/v1`). */
  apiHost: (hostHeader: string | undefined) => string;
}

export async function ingestRoutes(app: FastifyInstance, opts: IngestRouteOptions): Promise<void> {
  await app.register(cors, {
    origin: true,
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['authorization', 'content-type', 'content-encoding', 'x-retry-count'],
    maxAge: opts.corsMaxAgeSeconds,
    // The browser SDK sends Basic auth; credentials mode is not used, so no cookies are exposed.
    credentials: false,
  });
  // SDKs send JSON as application/json, text/plain or application/x-www-form-urlencoded, maybe gzipped:
  // take every body as raw bytes and decode it in the service.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: opts.maxRequestBytes }, (_req, body, done) => done(null, body));

  const handle = (shape: 'batch' | 'single', typeHint: EventType | null) => async (request: import('fastify').FastifyRequest) => {
    await opts.ingest.ingest({
      shape,
      typeHint,
      authorization: request.headers.authorization,
      contentEncoding: request.headers['content-encoding'],
      body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
    });
    return { success: true };
  };

  const routeConfig = { bodyLimit: opts.maxRequestBytes, schema: { hide: true } } as const;
  for (const path of ['/batch', '/import', '/b']) app.post(path, routeConfig, handle('batch', null));
  for (const type of EVENT_TYPES) app.post(`/${type}`, routeConfig, handle('single', type));
  for (const [letter, type] of Object.entries(TYPE_BY_LETTER)) app.post(`/${letter}`, routeConfig, handle('single', type));

  // The browser SDK loads this when given a cdnURL; it throws unless integrations['Segment.io'] is present.
  app.get<{ Params: { writeKey: string } }>('/projects/:writeKey/settings', { schema: { hide: true } }, async (request) => ({
    integrations: {
      'Segment.io': { apiKey: request.params.writeKey, apiHost: opts.apiHost(request.headers.host), protocol: request.protocol },
    },
    plan: { track: { __default: { enabled: true } }, identify: { __default: { enabled: true } }, group: { __default: { enabled: true } } },
    edgeFunction: {},
    analyticsNextEnabled: true,
    middlewareSettings: {},
    enabledMiddleware: {},
    metrics: { sampleRate: 0 },
    legacyVideoPluginsEnabled: false,
    remotePlugins: [],
  }));
}
