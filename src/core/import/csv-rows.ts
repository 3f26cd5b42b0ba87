/**
 * Turning rows of an import file (CRM export, offline purchases, survey answers …) into Segment
 * messages, so imported data takes exactly the path SDK traffic takes: durable log, validation, identity,
 * traits by event time, segments, consent.
 *
 * Column conventions (header names, case-insensitive, `_`/`-`/space ignored):
 * - identifiers: `userId`, `anonymousId`, `email`, `phone` (email and phone also become traits, which is
 *   how identity picks them up);
 * - time: `timestamp`, else the first of `createdAt`, `purchasedAt`, `updatedAt`, `date`, `time` (the
 *   event time, so a late historical import never overwrites newer values);
 * - `event` (track imports, unless a fixed event name is given), `messageId` (else derived from the row);
 * - `consent.<category>` (true/false, yes/no, 1/0) → `context.consent.categoryPreferences`;
 * - every other column → a trait (identify) or a property (track). Numbers stay text unless the column is
 *   listed in `numeric` or, by default, the value looks numeric and the column is not an id, phone or code.
 * Blank cells are left out. A row without any identifier, or with an unreadable time, is rejected with
 * its row number and reason; the other rows go on.
 */
import { createHash } from 'node:crypto';

export interface ImportMapping {
  kind: 'identify' | 'track';
  /** Track imports: the event name for every row (else the `event` column). */
  event?: string;
  /** Columns whose values are numbers (default: inferred). */
  numeric?: string[];
}

export interface RowRejection {
  /** 1-based data row number (the header is row 0). */
  row: number;
  reason: string;
}

export interface ConvertedRows {
  messages: Array<Record<string, unknown>>;
  rejected: RowRejection[];
}

const key = (name: string): string => name.toLowerCase().replace(/[\s_-]/g, '');
const IDENTIFIERS: Record<string, 'userId' | 'anonymousId' | 'email' | 'phone'> = {
  userid: 'userId',
  anonymousid: 'anonymousId',
  email: 'email',
  emailaddress: 'email',
  phone: 'phone',
  phonenumber: 'phone',
};
const TIME_COLUMNS = ['timestamp', 'createdat', 'purchasedat', 'updatedat', 'date', 'time'];
const NOT_NUMERIC = /(^|_|\b)(id|phone|zip|postal|code|sku)$/i;
const NUMBER = /^-?(0|[1-9]\d{0,14})(\.\d+)?$/;
const TRUE = new Set(['true', 'yes', 'y', '1', 'granted']);
const FALSE = new Set(['false', 'no', 'n', '0', 'denied']);

/** Convert parsed rows (header → cell) of one file. `importKey` scopes derived messageIds (source + file kind). */
export function rowsToMessages(rows: ReadonlyArray<Record<string, string>>, mapping: ImportMapping, importKey: string): ConvertedRows {
  const messages: Array<Record<string, unknown>> = [];
  const rejected: RowRejection[] = [];
  const numeric = new Set((mapping.numeric ?? []).map(key));
  rows.forEach((row, index) => {
    const result = convert(row, mapping, numeric, importKey);
    if (typeof result === 'string') rejected.push({ row: index + 1, reason: result });
    else messages.push(result);
  });
  return { messages, rejected };
}

function convert(
  row: Record<string, string>,
  mapping: ImportMapping,
  numeric: Set<string>,
  importKey: string,
): Record<string, unknown> | string {
  const ids: Record<string, string> = {};
  const fields: Record<string, unknown> = {};
  const consent: Record<string, boolean> = {};
  let timestamp: string | undefined;
  let timeRank = Infinity;
  let event = mapping.event;
  let messageId: string | undefined;
  for (const [column, raw] of Object.entries(row)) {
    const value = raw.trim();
    if (value === '') continue;
    const k = key(column);
    if (k.startsWith('consent.')) {
      const v = value.toLowerCase();
      if (TRUE.has(v)) consent[column.slice(column.indexOf('.') + 1)] = true;
      else if (FALSE.has(v)) consent[column.slice(column.indexOf('.') + 1)] = false;
      else return `column ${column}: consent must be true or false, not ${JSON.stringify(value)}`;
      continue;
    }
    const id = IDENTIFIERS[k];
    if (id !== undefined) {
      ids[id] = value;
      continue;
    }
    const rank = TIME_COLUMNS.indexOf(k);
    if (rank !== -1) {
      if (rank < timeRank) {
        timestamp = value;
        timeRank = rank;
      }
      if (rank === 0) continue;
    }
    if (k === 'event' && mapping.kind === 'track' && mapping.event === undefined) {
      event = value;
      continue;
    }
    if (k === 'messageid') {
      messageId = value;
      continue;
    }
    fields[column] = (numeric.has(k) || (numeric.size === 0 && !NOT_NUMERIC.test(column))) && NUMBER.test(value) ? Number(value) : value;
  }
  if (ids.userId === undefined && ids.anonymousId === undefined && ids.email === undefined && ids.phone === undefined)
    return 'no identifier: the row needs a userId, anonymousId, email or phone';
  if (timestamp !== undefined && !Number.isFinite(Date.parse(timestamp))) return `unreadable time ${JSON.stringify(timestamp)}`;
  if (mapping.kind === 'track' && (event === undefined || event === '')) return 'no event name: give one for the file or an `event` column';
  const traits: Record<string, unknown> = {};
  if (ids.email !== undefined) traits.email = ids.email;
  if (ids.phone !== undefined) traits.phone = ids.phone;
  const message: Record<string, unknown> = { type: mapping.kind };
  if (ids.userId !== undefined) message.userId = ids.userId;
  // Segment needs userId or anonymousId; a row known only by e-mail or phone gets a stable anonymous id.
  // Derived from the standardised contact point, so every file and row about one person gets the same one.
  else
    message.anonymousId =
      ids.anonymousId ?? `import:${digest(`${(ids.email ?? '').trim().toLowerCase()}|${(ids.phone ?? '').replace(/[^\d+]/g, '')}`)}`;
  if (ids.userId !== undefined && ids.anonymousId !== undefined) message.anonymousId = ids.anonymousId;
  if (timestamp !== undefined) message.timestamp = new Date(Date.parse(timestamp)).toISOString();
  const context: Record<string, unknown> = { library: { name: 'tessera-import', version: '1' } };
  if (Object.keys(consent).length > 0) context.consent = { categoryPreferences: consent };
  if (mapping.kind === 'identify') message.traits = { ...fields, ...traits };
  else {
    message.event = event;
    message.properties = fields;
    if (Object.keys(traits).length > 0) context.traits = traits;
  }
  message.context = context;
  message.messageId = messageId ?? `import-${digest(`${importKey}|${JSON.stringify(row)}`)}`;
  return message;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
