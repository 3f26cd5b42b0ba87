/** Segments and the audience-events feed: `/api/v1/segments…`, `/api/v1/audience-events`. */
import { Readable } from 'node:stream';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { SegmentService } from '../../segments/segment-service.ts';

const Limit = Type.Integer({ minimum: 1, maximum: 1000, default: 100 });
const Iso = Type.String({ format: 'date-time' });
const Status = Type.Union([Type.Literal('computing'), Type.Literal('live'), Type.Literal('failed')]);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const Query = Type.String({
  minLength: 1,
  maxLength: 20_000,
  description:
    "The rule in Segment's query language, e.g. `event('Order Completed').within(30 days).count() >= 3 AND trait('plan') = 'pro'`.",
});
const Definition = Type.Unknown({ description: 'The rule as a tree (the same one `query` parses into); see docs/segments.md.' });

export const SegmentSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    query: Type.String(),
    definition: Definition,
    status: Status,
    progress: Type.Number({ description: 'Share of profiles the backfill has evaluated, 0 to 1.' }),
    error: Type.Union([Type.String(), Type.Null()]),
    size: Type.Integer(),
    createdAt: Iso,
    updatedAt: Iso,
    liveAt: Type.Union([Iso, Type.Null()]),
  },
  { $id: 'Segment' },
);

const SegmentBody = Type.Object({
  id: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$',
      description: "Optional id (what `segment('id')` refers to); a UUID by default.",
    }),
  ),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  query: Type.Optional(Query),
  definition: Type.Optional(Definition),
});

const SegmentPatchBody = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  query: Type.Optional(Query),
  definition: Type.Optional(Definition),
});

const RuleBody = Type.Object({ query: Type.Optional(Query), definition: Type.Optional(Definition) });

export const segmentsRoutes: FastifyPluginAsyncTypebox<{ segments: SegmentService }> = async (app, { segments }) => {
  app.post(
    '/segments/preview',
    {
      schema: {
        tags: ['segments'],
        summary: 'Count the profiles a rule selects now, with a sample, without saving anything',
        body: RuleBody,
        response: {
          200: Type.Object({
            count: Type.Integer(),
            sample: Type.Array(Type.String()),
            evaluatedProfiles: Type.Integer(),
            elapsedMs: Type.Integer(),
            method: Type.Union([Type.Literal('sql'), Type.Literal('scan')], {
              description: '`sql`: the set-based fast path; `scan`: every profile through the reference evaluator',
            }),
          }),
        },
      },
    },
    async (req) => segments.preview(req.body),
  );

  app.post(
    '/segments',
    {
      schema: {
        tags: ['segments'],
        summary:
          'Create a segment from `query` (text) or `definition` (a rule tree); it is computed over existing profiles in the background',
        body: SegmentBody,
        response: { 201: SegmentSchema },
      },
    },
    async (req, reply) => reply.status(201).send(await segments.create(req.body)),
  );

  app.get(
    '/segments',
    {
      schema: {
        tags: ['segments'],
        summary: 'List segments with their status and size',
        response: { 200: Type.Object({ items: Type.Array(SegmentSchema) }) },
      },
    },
    async () => ({ items: await segments.list() }),
  );

  app.get(
    '/segments/:id',
    { schema: { tags: ['segments'], summary: 'A segment, with its current size', params: IdParams, response: { 200: SegmentSchema } } },
    async (req) => segments.get(req.params.id),
  );

  for (const method of ['put', 'patch'] as const) {
    app[method](
      '/segments/:id',
      {
        schema: {
          tags: ['segments'],
          summary: 'Rename or change a segment; a new rule is recomputed in the background (the old one stays live until then)',
          params: IdParams,
          body: SegmentPatchBody,
          response: { 200: SegmentSchema },
        },
      },
      async (req) => segments.update(req.params.id, req.body),
    );
  }

  app.delete(
    '/segments/:id',
    { schema: { tags: ['segments'], summary: 'Delete a segment (refused while other segments include it)', params: IdParams } },
    async (req, reply) => {
      await segments.delete(req.params.id);
      return reply.status(204).send();
    },
  );

  app.get(
    '/segments/:id/members',
    {
      schema: {
        tags: ['segments'],
        summary: 'Members, by profile id, cursor-paginated (`after` = the previous page’s `nextAfter`)',
        params: IdParams,
        querystring: Type.Object({ after: Type.Optional(Type.String()), limit: Limit }),
        response: {
          200: Type.Object({
            items: Type.Array(Type.Object({ profileId: Type.String(), since: Iso })),
            nextAfter: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (req) => segments.members(req.params.id, req.query),
  );

  app.get(
    '/segments/:id/history',
    {
      schema: {
        tags: ['segments'],
        summary: 'Size over time (the last size in each 5-minute period in which it changed), oldest first',
        params: IdParams,
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }) }),
        response: { 200: Type.Object({ items: Type.Array(Type.Object({ at: Iso, size: Type.Integer() })) }) },
      },
    },
    async (req) => segments.history(req.params.id, req.query.limit),
  );

  app.get(
    '/segments/:id/export.csv',
    { schema: { tags: ['segments'], summary: 'Every member as CSV (profile_id, since)', params: IdParams } },
    async (req, reply) => {
      await segments.get(req.params.id);
      reply.header('content-type', 'text/csv; charset=utf-8');
      reply.header('content-disposition', `attachment; filename="segment-${encodeURIComponent(req.params.id)}.csv"`);
      return reply.send(Readable.from(segments.exportCsv(req.params.id)));
    },
  );

  app.get(
    '/audience-events',
    {
      schema: {
        tags: ['segments'],
        summary: 'The `Audience Entered` / `Audience Exited` feed, oldest first; follow it with `after` = the previous `nextAfter`',
        querystring: Type.Object({
          after: Type.Integer({ minimum: 0, default: 0 }),
          limit: Limit,
          segmentId: Type.Optional(Type.String()),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                id: Type.Integer(),
                event: Type.Union([Type.Literal('Audience Entered'), Type.Literal('Audience Exited')]),
                segmentId: Type.String(),
                profileId: Type.String(),
                at: Iso,
                cause: Type.String(),
              }),
            ),
            nextAfter: Type.Integer(),
          }),
        },
      },
    },
    async (req) => segments.audienceEvents(req.query),
  );
};
