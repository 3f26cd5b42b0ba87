/** Reading events back, like a live debugger: `/api/v1/events` and `/api/v1/failed-events`. */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { EVENT_TYPES, FAILURE_REASONS, type EventType, type FailureReason } from '../../core/event/event.ts';
import { TesseraError } from '../../core/errors/catalogue.ts';
import type { Store } from '../../storage/store.ts';

const Limit = Type.Integer({ minimum: 1, maximum: 1000, default: 100 });

const EventSchema = Type.Object({
  seq: Type.Integer(),
  sourceId: Type.String(),
  messageId: Type.String(),
  type: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  userId: Type.Union([Type.String(), Type.Null()]),
  anonymousId: Type.Union([Type.String(), Type.Null()]),
  timestamp: Type.String({ format: 'date-time' }),
  receivedAt: Type.String({ format: 'date-time' }),
  message: Type.Object({}, { additionalProperties: true }),
});

const FailedSchema = Type.Object({
  id: Type.Integer(),
  sourceId: Type.String(),
  receivedAt: Type.String({ format: 'date-time' }),
  reason: Type.String(),
  detail: Type.String(),
  messageId: Type.Union([Type.String(), Type.Null()]),
  payload: Type.String({ description: 'The message as received (JSON text), cut at 64 KiB.' }),
});

const dateOf = (s: string | undefined, field: string): number | undefined => {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  if (!Number.isFinite(t)) throw new TesseraError('validation_failed', `${field} must be an ISO-8601 date`);
  return t;
};

export const eventsRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  app.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Recent events, newest first; page back with `before` (a seq) or follow new ones with `after`',
        querystring: Type.Object({
          sourceId: Type.Optional(Type.String()),
          type: Type.Optional(Type.Union(EVENT_TYPES.map((t) => Type.Literal(t)))),
          name: Type.Optional(Type.String()),
          userId: Type.Optional(Type.String()),
          anonymousId: Type.Optional(Type.String()),
          from: Type.Optional(Type.String({ description: 'Event time from (inclusive), ISO-8601' })),
          to: Type.Optional(Type.String({ description: 'Event time to (exclusive), ISO-8601' })),
          before: Type.Optional(Type.Integer({ minimum: 1 })),
          after: Type.Optional(Type.Integer({ minimum: 0 })),
          limit: Limit,
        }),
        response: { 200: Type.Object({ items: Type.Array(EventSchema), nextBefore: Type.Union([Type.Integer(), Type.Null()]) }) },
      },
    },
    async (request) => {
      const q = request.query;
      const events = await store.listEvents({
        sourceId: q.sourceId,
        type: q.type as EventType | undefined,
        name: q.name,
        userId: q.userId,
        anonymousId: q.anonymousId,
        from: dateOf(q.from, 'from'),
        to: dateOf(q.to, 'to'),
        beforeSeq: q.before,
        afterSeq: q.after,
        limit: q.limit,
      });
      const items = events.map((e) => ({
        ...e,
        timestamp: new Date(e.timestamp).toISOString(),
        receivedAt: new Date(e.receivedAt).toISOString(),
      }));
      const last = events[events.length - 1];
      return { items, nextBefore: q.after === undefined && events.length === q.limit && last ? last.seq : null };
    },
  );

  app.get(
    '/failed-events',
    {
      schema: {
        tags: ['events'],
        summary: 'Messages that were not accepted, with the reason and the original payload',
        querystring: Type.Object({
          sourceId: Type.Optional(Type.String()),
          reason: Type.Optional(Type.Union(Object.keys(FAILURE_REASONS).map((r) => Type.Literal(r)))),
          before: Type.Optional(Type.Integer({ minimum: 1 })),
          limit: Limit,
        }),
        response: { 200: Type.Object({ items: Type.Array(FailedSchema), nextBefore: Type.Union([Type.Integer(), Type.Null()]) }) },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await store.listFailedEvents({
        sourceId: q.sourceId,
        reason: q.reason as FailureReason | undefined,
        beforeId: q.before,
        limit: q.limit,
      });
      const last = rows[rows.length - 1];
      return {
        items: rows.map((r) => ({ ...r, receivedAt: new Date(r.receivedAt).toISOString() })),
        nextBefore: rows.length === q.limit && last ? last.id : null,
      };
    },
  );
};
