/**
 * CSV import: a CRM contact export (the demo's, with its real-world mess: case variants, stray spaces,
 * phones in many formats, blank cells) posted to `POST /api/v1/sources/:id/imports` of a real
 * `tessera serve`, from this bench process (not the server's). Measured: rows/s until the 200 (every
 * accepted row durable in the log) and rows/s until the processor has stored them all (profiles resolved).
 * Limit beside it, same run, same text: parsing the CSV alone with the same library (csv-parse).
 */
import { parse } from 'csv-parse/sync';
import { crmContactsCsv } from '../../src/demo/files.ts';
import { ADMIN_TOKEN, startServer } from './server.ts';

export interface ImportFigures {
  rows: number;
  /** Rows per second until the import answered 200 (durable). */
  acceptedRowsPerSec: number;
  /** Rows per second until the processor stored every row. */
  storedRowsPerSec: number;
  rejected: number;
  peakRssMb: number;
}

export function csvFor(rows: number): string {
  return crmContactsCsv(11, rows, { events: rows * 10 });
}

/** The same-run limit: csv-parse alone over the same text, rows per second (best of 3). */
export function csvParseLimit(csv: string): number {
  let best = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const rows = (parse(csv, { columns: true, bom: true, skip_empty_lines: true }) as unknown[]).length;
    best = Math.max(best, rows / ((performance.now() - t0) / 1000));
  }
  return best;
}

export async function importScenario(csv: string, databaseUrl?: string): Promise<ImportFigures> {
  const server = await startServer({ databaseUrl });
  try {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const created = await fetch(`${server.url}/api/v1/sources`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'CRM import' }),
    });
    const source = (await created.json()) as { id: string };
    const t0 = performance.now();
    const res = await fetch(`${server.url}/api/v1/sources/${source.id}/imports?kind=identify`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/csv' },
      body: csv,
    });
    if (res.status !== 200) throw new Error(`import answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    const report = (await res.json()) as { rows: number; accepted: number; rejectedCount: number };
    const accepted = performance.now();
    await server.drained();
    const stored = performance.now();
    return {
      rows: report.rows,
      acceptedRowsPerSec: report.accepted / ((accepted - t0) / 1000),
      storedRowsPerSec: report.accepted / ((stored - t0) / 1000),
      rejected: report.rejectedCount,
      peakRssMb: server.peakRssMb(),
    };
  } finally {
    await server.stop();
  }
}
