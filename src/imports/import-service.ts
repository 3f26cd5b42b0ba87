/**
 * File imports (CSV): parsed here, converted row by row into Segment messages (`core/import`), and
 * appended to the durable log in batches, exactly like SDK traffic. A 200 means every accepted row is
 * durable; rejected rows come back with their row number and reason. Re-importing the same file is
 * harmless: messageIds are derived from the rows, so the de-duplication window drops the repeats.
 */
import { parse } from 'csv-parse/sync';
import { TesseraError } from '../core/errors/catalogue.ts';
import { rowsToMessages, type ImportMapping, type RowRejection } from '../core/import/csv-rows.ts';
import type { EventLog } from '../log/event-log.ts';
import type { SourceService } from '../sources/source-service.ts';

export interface ImportReport {
  rows: number;
  accepted: number;
  /** The first 100 rejected rows (all are counted in `rejectedCount`). */
  rejected: RowRejection[];
  rejectedCount: number;
}

/** Messages per appended log entry (a batch request's worth). */
const CHUNK = 500;

export class ImportService {
  constructor(
    private readonly log: EventLog,
    private readonly sources: SourceService,
    private readonly now: () => number,
  ) {}

  async importCsv(sourceId: string, csv: string, mapping: ImportMapping): Promise<ImportReport> {
    const source = await this.sources.get(sourceId);
    if (!source.enabled) throw new TesseraError('validation_failed', `source ${sourceId} is disabled`);
    let rows: Array<Record<string, string>>;
    try {
      rows = parse(csv, { columns: true, bom: true, skip_empty_lines: true, trim: false }) as Array<Record<string, string>>;
    } catch (err) {
      throw new TesseraError('invalid_body', `the file is not valid CSV: ${(err as Error).message}`);
    }
    const { messages, rejected } = rowsToMessages(rows, mapping, `${sourceId}|${mapping.kind}|${mapping.event ?? ''}`);
    const receivedAt = this.now();
    const sentAt = new Date(receivedAt).toISOString();
    for (let i = 0; i < messages.length; i += CHUNK) {
      const batch = messages.slice(i, i + CHUNK);
      await this.log.append({
        sourceId,
        receivedAt,
        typeHint: null,
        shape: 'batch',
        body: JSON.stringify({ batch, sentAt }),
        messages: batch.length,
      });
    }
    return { rows: rows.length, accepted: messages.length, rejected: rejected.slice(0, 100), rejectedCount: rejected.length };
  }
}
