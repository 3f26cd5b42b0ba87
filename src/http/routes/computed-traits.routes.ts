/** Computed traits: `/api/v1/computed-traits…`. Their values appear in the profile body (`computedTraits`). */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { SegmentService } from '../../segments/segment-service.ts';

const Iso = Type.String({ format: 'date-time' });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const Definition = Type.Unknown({
  description:
    'The computed trait: `{kind, key, event: {name?, type?, where?}, window?, fn?, property?}` with kind event_counter, aggregation, most_frequent, first, last, unique_list or unique_list_count; see docs/segments.md.',
});

export const ComputedTraitSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    key: Type.String({ description: "The trait the value is written to; segments read it with `trait('key')`." }),
    definition: Definition,
    status: Type.Union([Type.Literal('computing'), Type.Literal('live'), Type.Literal('failed')]),
    progress: Type.Number(),
    error: Type.Union([Type.String(), Type.Null()]),
    createdAt: Iso,
    updatedAt: Iso,
    liveAt: Type.Union([Iso, Type.Null()]),
  },
  { $id: 'ComputedTrait' },
);

export const computedTraitsRoutes: FastifyPluginAsyncTypebox<{ segments: SegmentService }> = async (app, { segments }) => {
  app.post(
    '/computed-traits',
    {
      schema: {
        tags: ['computed traits'],
        summary: 'Create a computed trait; it is computed over existing profiles in the background',
        body: Type.Object({
          id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$' })),
          name: Type.String({ minLength: 1, maxLength: 200 }),
          definition: Definition,
        }),
        response: { 201: ComputedTraitSchema },
      },
    },
    async (req, reply) => reply.status(201).send(await segments.createTrait(req.body)),
  );
  app.get(
    '/computed-traits',
    {
      schema: {
        tags: ['computed traits'],
        summary: 'List computed traits',
        response: { 200: Type.Object({ items: Type.Array(ComputedTraitSchema) }) },
      },
    },
    async () => ({ items: await segments.listTraits() }),
  );
  app.get(
    '/computed-traits/:id',
    { schema: { tags: ['computed traits'], summary: 'A computed trait', params: IdParams, response: { 200: ComputedTraitSchema } } },
    async (req) => segments.getTrait(req.params.id),
  );
  for (const method of ['put', 'patch'] as const) {
    app[method](
      '/computed-traits/:id',
      {
        schema: {
          tags: ['computed traits'],
          summary: 'Rename or change a computed trait; a new definition is recomputed in the background',
          params: IdParams,
          body: Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), definition: Type.Optional(Definition) }),
          response: { 200: ComputedTraitSchema },
        },
      },
      async (req) => segments.updateTrait(req.params.id, req.body),
    );
  }
  app.delete(
    '/computed-traits/:id',
    { schema: { tags: ['computed traits'], summary: 'Delete a computed trait (its values go with it)', params: IdParams } },
    async (req, reply) => {
      await segments.deleteTrait(req.params.id);
      return reply.status(204).send();
    },
  );
};
