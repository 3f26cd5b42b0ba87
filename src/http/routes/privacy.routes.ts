/**
 * Privacy: requests (`/api/v1/privacy/requests…`), collection policies (`/api/v1/sources/:id/collection-policy`),
 * retention (`/api/v1/privacy/retention…`) and the audit log (`/api/v1/audit`). Thin: the service does the work.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CollectionPolicySchema } from '../../core/privacy/collection-policy.ts';
import { PRIVACY_REQUEST_STATUSES, PrivacyRequestBodySchema } from '../../core/privacy/requests.ts';
import { TesseraError } from '../../core/errors/catalogue.ts';
import type { PrivacyService } from '../../privacy/privacy-service.ts';

const Limit = Type.Integer({ minimum: 1, maximum: 1000, default: 50 });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const RequestView = Type.Object({
  id: Type.String(),
  type: Type.String(),
  subject: Type.Object({ type: Type.String(), value: Type.String() }),
  status: Type.String(),
  receivedAt: Type.String({ format: 'date-time' }),
  deadline: Type.String({ format: 'date-time' }),
  overdue: Type.Boolean(),
  attempts: Type.Integer(),
  startedAt: Type.Optional(Type.String({ format: 'date-time' })),
  finishedAt: Type.Optional(Type.String({ format: 'date-time' })),
  error: Type.Optional(Type.String()),
  summary: Type.Optional(Type.Record(Type.String(), Type.Number())),
});
const RetentionRule = Type.Object(
  {
    sourceId: Type.String({ minLength: 1, maxLength: 100, default: '*', description: 'A source id, or `*` for every source.' }),
    eventName: Type.String({ minLength: 1, maxLength: 200, default: '*', description: 'An event (or page/screen) name, or `*`.' }),
    days: Type.Integer({ minimum: 1, maximum: 36_500 }),
  },
  { additionalProperties: false },
);

export const privacyRoutes: FastifyPluginAsyncTypebox<{ privacy: PrivacyService }> = async (app, { privacy }) => {
  app.post(
    '/privacy/requests',
    {
      schema: {
        tags: ['privacy'],
        summary:
          'Submit a privacy request (export, delete, delete_events, redact, suppress, suppress_with_delete, unsuppress) about one identifier; it runs in the background',
        body: PrivacyRequestBodySchema,
        response: { 202: Type.Object({ id: Type.String(), status: Type.String(), deadline: Type.String({ format: 'date-time' }) }) },
      },
    },
    async (req, reply) => {
      const r = await privacy.submit(req.body, 'admin');
      return reply.status(202).send({ id: r.id, status: r.status, deadline: new Date(r.deadline).toISOString() });
    },
  );

  app.get(
    '/privacy/requests',
    {
      schema: {
        tags: ['privacy'],
        summary: 'Privacy requests, newest first',
        querystring: Type.Object({
          status: Type.Optional(Type.Union(PRIVACY_REQUEST_STATUSES.map((s) => Type.Literal(s)))),
          before: Type.Optional(Type.Integer({ minimum: 0, description: 'receivedAt (ms) cursor' })),
          limit: Limit,
        }),
        response: { 200: Type.Object({ items: Type.Array(RequestView) }) },
      },
    },
    async (req) => ({ items: (await privacy.list(req.query)).map((r) => privacy.view(r)) }),
  );

  app.get(
    '/privacy/requests/:id',
    {
      schema: {
        tags: ['privacy'],
        summary: 'A privacy request: status (finished when done), deadline, what was done',
        params: IdParams,
        response: { 200: RequestView },
      },
    },
    async (req) => {
      const r = await privacy.get(req.params.id);
      if (r === null) throw new TesseraError('not_found', `privacy request ${req.params.id} does not exist`);
      return privacy.view(r);
    },
  );

  app.get(
    '/privacy/requests/:id/export',
    { schema: { tags: ['privacy'], summary: 'Download the export of a finished export request (JSON)', params: IdParams } },
    async (req, reply) => {
      const body = await privacy.exportOf(req.params.id);
      return reply
        .header('content-type', 'application/json; charset=utf-8')
        .header('content-disposition', `attachment; filename="tessera-export-${req.params.id}.json"`)
        .send(body);
    },
  );

  app.get(
    '/sources/:id/collection-policy',
    { schema: { tags: ['privacy'], summary: "A source's collection policy (a source without one stores everything)", params: IdParams } },
    async (req) => {
      const policy = await privacy.policy(req.params.id);
      return { sourceId: req.params.id, policy: policy ?? { mode: 'store' }, isDefault: policy === null };
    },
  );

  app.put(
    '/sources/:id/collection-policy',
    {
      schema: {
        tags: ['privacy'],
        summary:
          'Set the collection policy of a source: store, restrict, anonymise or drop events lacking a purpose; field rules (audited)',
        params: IdParams,
        body: CollectionPolicySchema,
      },
    },
    async (req) => ({ sourceId: req.params.id, policy: await privacy.setPolicy(req.params.id, req.body, 'admin') }),
  );

  app.delete(
    '/sources/:id/collection-policy',
    { schema: { tags: ['privacy'], summary: 'Remove the policy of a source (it stores everything again; audited)', params: IdParams } },
    async (req, reply) => {
      if (!(await privacy.deletePolicy(req.params.id, 'admin')))
        throw new TesseraError('not_found', `source ${req.params.id} has no collection policy`);
      return reply.status(204).send();
    },
  );

  app.get(
    '/privacy/retention',
    { schema: { tags: ['privacy'], summary: 'Retention rules: events older than N days are deleted' } },
    async () => ({
      rules: await privacy.retentionRules(),
    }),
  );

  app.put(
    '/privacy/retention',
    {
      schema: {
        tags: ['privacy'],
        summary: 'Replace the retention rules (per source and per event name; `*` for any; audited)',
        body: Type.Object({ rules: Type.Array(RetentionRule, { maxItems: 1000 }) }, { additionalProperties: false }),
      },
    },
    async (req) => ({ rules: await privacy.setRetentionRules(req.body.rules, 'admin') }),
  );

  app.post(
    '/privacy/retention/run',
    { schema: { tags: ['privacy'], summary: 'Run the retention job now (it also runs periodically); answers what it deleted' } },
    async () => privacy.runRetention(),
  );

  app.get(
    '/audit',
    {
      schema: {
        tags: ['privacy'],
        summary:
          'The append-only audit log: consent changes by operators, privacy requests, merges and unmerges, policy changes; newest first',
        querystring: Type.Object({
          action: Type.Optional(
            Type.String({ maxLength: 100, description: 'An action, or a prefix such as `consent` or `privacy.request`' }),
          ),
          target: Type.Optional(Type.String({ maxLength: 200 })),
          before: Type.Optional(Type.Integer({ minimum: 1 })),
          limit: Limit,
        }),
      },
    },
    async (req) => {
      const items = await privacy.audit(req.query);
      const last = items[items.length - 1];
      return {
        items: items.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
        nextBefore: items.length === req.query.limit && last ? last.id : null,
      };
    },
  );
};
