/**
 * The ingestion section of `npm run bench`: realistic Segment batches over keep-alive connections to a
 * real server on each backend (and PostgreSQL with the log on NATS): the accepted rate beside a bare
 * node:http server that only parses the same batches, the sustained rate beside raw inserts of the same
 * rows, request latency, peak RSS and back-pressure answers.
 */
import type { Harness, Limit, LogVariant } from '../harness.ts';
import { ingestScenario, type IngestFigures } from '../scenarios/ingest.ts';
import { bareLimit, postgresInsertLimit, sqliteInsertLimit } from '../scenarios/limits.ts';
import { postgresUrlForBench } from '../scenarios/postgres-url.ts';

export interface IngestSectionOptions {
  logVariants: LogVariant[];
  connections: number;
  /** Each run's sending window, seconds. */
  seconds: number;
  /** Most events one run may have accepted: the drain after it must fit the time budget. */
  maxEvents: number;
  /** Rows of the raw insert limits (SQLite, PostgreSQL). */
  rawRows: number;
  rawRowsPostgres: number;
  /** PostgreSQL answers: its raw insert limit is measured too. */
  postgres: boolean;
}

export async function ingestSection(h: Harness, o: IngestSectionOptions): Promise<void> {
  const limitRuns = await h.repeat('limit: bare node:http + JSON.parse', () => bareLimit(o.seconds, o.connections));
  const limit = limitRuns.map((r) => r.acceptedPerSec);
  const rawInsert: Record<string, Limit> = {
    sqlite: {
      name: 'raw SQLite insert of the rows',
      value: await h.repeat('limit: raw SQLite batch insert of the same rows', () => sqliteInsertLimit(o.rawRows)),
    },
  };
  if (o.postgres)
    rawInsert.postgres = {
      name: 'raw PostgreSQL insert of the rows',
      value: await h.repeat('limit: raw PostgreSQL batch insert of the same rows', async () =>
        postgresInsertLimit((await postgresUrlForBench())!, o.rawRowsPostgres),
      ),
    };
  for (const { backend, natsLog, label } of o.logVariants) {
    const scenario = `ingest (${label})`;
    const figures: IngestFigures[] | null = await h.attempt(scenario, () =>
      h.repeat(`ingest on ${label}`, async (warm) =>
        ingestScenario({
          seconds: warm ? 2 : o.seconds,
          connections: o.connections,
          databaseUrl: await backend.url(),
          natsLog,
          maxEvents: warm ? 50_000 : o.maxEvents,
        }),
      ),
    );
    if (figures === null) continue;
    const ratioLimit = { name: 'bare node:http + JSON.parse', value: limit };
    h.rows.push({ scenario, figure: 'accepted rate', value: figures.map((f) => f.acceptedPerSec), unit: 'events/s', limit: ratioLimit });
    h.rows.push({
      scenario,
      figure: 'sustained end-to-end (stored by processor)',
      value: figures.map((f) => f.sustainedPerSec),
      unit: 'events/s',
      limit: rawInsert[backend.name],
    });
    h.rows.push({ scenario, figure: 'request latency p50', value: figures.map((f) => f.p50), unit: 'ms' });
    h.rows.push({ scenario, figure: 'request latency p99', value: figures.map((f) => f.p99), unit: 'ms' });
    h.rows.push({ scenario, figure: 'server peak RSS', value: figures.map((f) => f.peakRssMb), unit: 'MB' });
    h.rows.push({ scenario, figure: '429/503 answers (back-pressure)', value: figures.map((f) => f.backpressured), unit: 'requests' });
  }
}
