/**
 * The HTTP adapter: builds the fastify app from services. No business logic and no SQL here; routes
 * call services. Scopes: `/v1` ingestion (write keys, CORS, raw bodies), `/api/v1` admin (bearer
 * token, JSON), operations (`/healthz`, `/readyz`, `/metrics`) and the docs (`/docs`).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AdminAuth } from '../admin/admin-auth.ts';
import type { IngestService } from '../ingest/ingest-service.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { SourceService } from '../sources/source-service.ts';
import type { Store } from '../storage/store.ts';
import type { ProfileService } from '../profiles/profile-service.ts';
import { profilesRoutes } from './routes/profiles.routes.ts';
import type { SegmentService } from '../segments/segment-service.ts';
import { computedTraitsRoutes } from './routes/computed-traits.routes.ts';
import { segmentsRoutes } from './routes/segments.routes.ts';
import { importsRoutes } from './routes/imports.routes.ts';
import type { ImportService } from '../imports/import-service.ts';
import { errorHandler, sendError } from './errors.ts';
import type { ConsentService } from '../consent/consent-service.ts';
import type { PrivacyService } from '../privacy/privacy-service.ts';
import { consentRoutes } from './routes/consent.routes.ts';
import { consentWebhookRoutes } from './routes/consent-webhooks.routes.ts';
import { privacyRoutes } from './routes/privacy.routes.ts';
import { errorsPage } from './routes/errors-page.ts';
import { eventsRoutes } from './routes/events.routes.ts';
import { pipelineRoutes } from './routes/pipeline.routes.ts';
import type { PipelineStatus } from '../observability/pipeline-status.ts';
import { ingestRoutes } from './routes/ingest.routes.ts';
import { sourcesRoutes } from './routes/sources.routes.ts';

export interface HttpDeps {
  logger: Logger;
  ingest: IngestService;
  sources: SourceService;
  store: Store;
  profiles: ProfileService;
  segments: SegmentService;
  imports: ImportService;
  maxImportBytes: number;
  /** Consent and privacy routes (admin) and their webhooks (own authentication). */
  privacy?: { service: PrivacyService; consent: ConsentService; smsWebhookSecret: string | undefined };
  adminAuth: AdminAuth;
  metrics: Metrics;
  maxRequestBytes: number;
  corsMaxAgeSeconds: number;
  /** Readiness: resolves when the store answers and the pipeline runs; rejects with the reason otherwise. */
  ready: () => Promise<void>;
  /** The pipeline's backlogs (`GET /api/v1/pipeline`). */
  pipeline: () => Promise<PipelineStatus>;
}

export async function buildHttpApp(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request log lines would cost more than the request itself at ingestion rates; metrics cover it.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    bodyLimit: 1_048_576,
    // Never log secrets: the admin token and write keys travel in the Authorization header.
    requestIdHeader: false,
  });

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => sendError(reply, 'not_found', `no route for ${request.method} ${request.url.split('?')[0]}`));
  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.requestDuration.observe({ route: request.routeOptions.url ?? 'unmatched' }, reply.elapsedTime / 1000);
    if (reply.statusCode >= 400 && request.url.startsWith('/v1/')) {
      deps.metrics.requestsRejected.inc({ code: String(reply.statusCode) });
    }
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Tessera API',
        version: '0.1.0',
        description: 'Customer Data Platform: ingestion (Segment-compatible), sources, events, profiles and identity.',
      },
      components: { securitySchemes: { admin: { type: 'http', scheme: 'bearer' }, writeKey: { type: 'http', scheme: 'basic' } } },
      security: [{ admin: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(errorsPage);

  await app.register(ingestRoutes, {
    prefix: '/v1',
    ingest: deps.ingest,
    maxRequestBytes: deps.maxRequestBytes,
    corsMaxAgeSeconds: deps.corsMaxAgeSeconds,
    apiHost: (host) => `${host ?? '127.0.0.1'}/v1`,
  });

  await app.register(
    async (admin) => {
      admin.addHook('onRequest', async (request, reply) => {
        if (!deps.adminAuth.verify(request.headers.authorization)) {
          return sendError(reply, 'unauthorized', 'send Authorization: Bearer <admin token>');
        }
      });
      await admin.register(sourcesRoutes, { sources: deps.sources });
      await admin.register(eventsRoutes, { store: deps.store });
      await admin.register(pipelineRoutes, { status: deps.pipeline });
      await admin.register(profilesRoutes, { profiles: deps.profiles, store: deps.store });
      await admin.register(segmentsRoutes, { segments: deps.segments });
      await admin.register(computedTraitsRoutes, { segments: deps.segments });
      await admin.register(importsRoutes, { imports: deps.imports, maxImportBytes: deps.maxImportBytes });
      if (deps.privacy) {
        await admin.register(privacyRoutes, { privacy: deps.privacy.service });
        await admin.register(consentRoutes, { consent: deps.privacy.consent });
      }
    },
    { prefix: '/api/v1' },
  );

  if (deps.privacy) {
    await app.register(consentWebhookRoutes, {
      prefix: '/v1/consent',
      consent: deps.privacy.consent,
      smsWebhookSecret: deps.privacy.smsWebhookSecret,
    });
  }

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      await deps.ready();
      return { status: 'ready' };
    } catch (err) {
      return reply.status(503).send({ status: 'not_ready', reason: (err as Error).message });
    }
  });
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (!deps.adminAuth.verify(request.headers.authorization))
      return sendError(reply, 'unauthorized', 'send Authorization: Bearer <admin token>');
    reply.header('Content-Type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  return app;
}
