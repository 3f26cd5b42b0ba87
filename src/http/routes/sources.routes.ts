/** Sources and write keys: `/api/v1/sources`. */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Source } from '../../storage/store.ts';
import type { SourceService } from '../../sources/source-service.ts';

export const SourceSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    writeKey: Type.String(),
    enabled: Type.Boolean(),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Source' },
);

const present = (s: Source) => ({ ...s, createdAt: new Date(s.createdAt).toISOString() });
const IdParams = Type.Object({ id: Type.String({ maxLength: 100 }) });

export const sourcesRoutes: FastifyPluginAsyncTypebox<{ sources: SourceService }> = async (app, { sources }) => {
  app.post(
    '/sources',
    {
      schema: {
        tags: ['sources'],
        summary: 'Create a source and its write key',
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: { 201: SourceSchema },
      },
    },
    async (request, reply) => reply.status(201).send(present(await sources.create(request.body.name))),
  );
  app.get(
    '/sources',
    { schema: { tags: ['sources'], summary: 'List sources', response: { 200: Type.Object({ items: Type.Array(SourceSchema) }) } } },
    async () => ({ items: (await sources.list()).map(present) }),
  );
  app.get(
    '/sources/:id',
    { schema: { tags: ['sources'], summary: 'Get a source', params: IdParams, response: { 200: SourceSchema } } },
    async (request) => present(await sources.get(request.params.id)),
  );
  app.patch(
    '/sources/:id',
    {
      schema: {
        tags: ['sources'],
        summary: 'Rename, disable or enable a source (a disabled source answers 401 to its write key)',
        params: IdParams,
        body: Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), enabled: Type.Optional(Type.Boolean()) }),
        response: { 200: SourceSchema },
      },
    },
    async (request) => present(await sources.update(request.params.id, request.body)),
  );
  app.post(
    '/sources/:id/disable',
    { schema: { tags: ['sources'], summary: 'Disable a source', params: IdParams, response: { 200: SourceSchema } } },
    async (request) => present(await sources.update(request.params.id, { enabled: false })),
  );
  app.post(
    '/sources/:id/enable',
    { schema: { tags: ['sources'], summary: 'Enable a source', params: IdParams, response: { 200: SourceSchema } } },
    async (request) => present(await sources.update(request.params.id, { enabled: true })),
  );
  app.post(
    '/sources/:id/rotate-write-key',
    {
      schema: {
        tags: ['sources'],
        summary: 'Replace the write key; the old key stops working at once',
        params: IdParams,
        response: { 200: SourceSchema },
      },
    },
    async (request) => present(await sources.rotateWriteKey(request.params.id)),
  );
};
