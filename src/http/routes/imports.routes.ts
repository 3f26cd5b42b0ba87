/** File imports: `POST /api/v1/sources/:id/imports` with a CSV body. */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ImportService } from '../../imports/import-service.ts';

export const importsRoutes: FastifyPluginAsyncTypebox<{ imports: ImportService; maxImportBytes: number }> = async (
  app,
  { imports, maxImportBytes },
) => {
  // CSV arrives as text; the import size limit is its own (files are far larger than SDK batches).
  app.addContentTypeParser(
    ['text/csv', 'text/plain', 'application/csv'],
    { parseAs: 'string', bodyLimit: maxImportBytes },
    (_req, body, done) => done(null, body),
  );
  app.post(
    '/sources/:id/imports',
    {
      bodyLimit: maxImportBytes,
      schema: {
        tags: ['imports'],
        summary: 'Import a CSV file (header row) as identify or track events of this source; 200 = every accepted row is durable',
        description:
          'Columns: userId, anonymousId, email, phone (identifiers); timestamp or created_at/purchased_at/… (event time); event (track); ' +
          'consent.<category> (true/false); every other column becomes a trait (identify) or a property (track).',
        params: Type.Object({ id: Type.String({ maxLength: 100 }) }),
        querystring: Type.Object({
          kind: Type.Union([Type.Literal('identify'), Type.Literal('track')], { default: 'identify' }),
          event: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Event name for every row of a track import' })),
          numeric: Type.Optional(Type.String({ description: 'Comma-separated columns whose values are numbers (default: inferred)' })),
        }),
        body: Type.String({ description: 'The CSV text (Content-Type: text/csv)' }),
        response: {
          200: Type.Object({
            rows: Type.Integer(),
            accepted: Type.Integer(),
            rejectedCount: Type.Integer(),
            rejected: Type.Array(Type.Object({ row: Type.Integer(), reason: Type.String() })),
          }),
        },
      },
    },
    async (req) =>
      imports.importCsv(req.params.id, req.body, {
        kind: req.query.kind,
        event: req.query.event,
        numeric: req.query.numeric
          ?.split(',')
          .map((c) => c.trim())
          .filter((c) => c !== ''),
      }),
  );
};
