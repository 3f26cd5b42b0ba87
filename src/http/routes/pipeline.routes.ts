/** `GET /api/v1/pipeline`: what the processor and the audience runner have yet to do (`observability/pipeline-status.ts`). */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { PipelineStatus } from '../../observability/pipeline-status.ts';

const BacklogSchema = (items: string) =>
  Type.Object({
    items: Type.Integer({ description: items }),
    oldestReceivedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'When the oldest of them was accepted; null when there are none.',
    }),
    lagSeconds: Type.Number({ description: 'Age of the oldest of them, seconds; 0 when there are none.' }),
  });

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const pipelineRoutes: FastifyPluginAsyncTypebox<{ status: () => Promise<PipelineStatus> }> = async (app, { status }) => {
  app.get(
    '/pipeline',
    {
      schema: {
        tags: ['operations'],
        summary: 'Backlogs: messages accepted but not yet stored, and stored events not yet evaluated for segments',
        response: {
          200: Type.Object({
            ingest: BacklogSchema('Messages in the durable log after the processor’s position.'),
            audiences: BacklogSchema('Stored events the real-time audience runner has not evaluated yet.'),
          }),
        },
      },
    },
    async () => {
      const s = await status();
      return {
        ingest: { ...s.ingest, oldestReceivedAt: iso(s.ingest.oldestReceivedAt) },
        audiences: { ...s.audiences, oldestReceivedAt: iso(s.audiences.oldestReceivedAt) },
      };
    },
  );
};
