/** Demo import files (CSV), Segment batch bodies, and example segments checked against generated data. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { evaluate, parseRule, type ProfileEvent, type ProfileSnapshot } from '../../src/core/segments/index.ts';
import { MAX_BATCH_MESSAGES, toBatches } from '../../src/demo/batches.ts';
import { EXAMPLE_SEGMENTS } from '../../src/demo/example-segments.ts';
import { CRM_COLUMNS, crmContactLines, crmContactsCsv, csvField, offlinePurchasesCsv, PURCHASE_COLUMNS } from '../../src/demo/files.ts';
import { generateDemo, JUNK_IDS, type DemoMessage } from '../../src/demo/generator.ts';

/** A strict RFC 4180 parser (quoted fields, doubled quotes), enough to check what the writers produce. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') {
      assert.equal(field, '', 'a quote may only open a field');
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
    i++;
  }
  assert.equal(quoted, false, 'unterminated quote');
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

const START = new Date('2025-03-03T00:00:00Z');
const EVENTS = 20_000;
let identifiedEmails = new Set<string>();

before(() => {
  identifiedEmails = new Set();
  for (const m of generateDemo({ seed: 4, events: EVENTS, start: START, days: 28 })) {
    const email = m.traits?.email;
    if (typeof email === 'string') identifiedEmails.add(email.toLowerCase());
  }
});

describe('CSV writing', () => {
  it('quotes only when needed and doubles quotes', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField(' padded '), '" padded "');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField(12.5), '12.5');
    assert.equal(csvField(null), '');
  });
});

describe('CRM contacts', () => {
  it('is deterministic and well-formed', () => {
    const a = crmContactsCsv(4, 500, { events: EVENTS });
    assert.equal(a, crmContactsCsv(4, 500, { events: EVENTS }));
    assert.notEqual(a, crmContactsCsv(5, 500, { events: EVENTS }));
    const rows = parseCsv(a);
    assert.deepEqual(rows[0], [...CRM_COLUMNS]);
    assert.equal(rows.length, 501);
    for (const r of rows.slice(1)) {
      assert.equal(r.length, CRM_COLUMNS.length);
      const [email, phone, first, last, , created] = r as [string, string, string, string, string, string];
      assert.match(email.trim(), /^[^@\s]+@[^@\s]+\.[a-z]+$/i);
      assert.ok(phone === '' || /^[+(0-9]/.test(phone));
      assert.ok(first.length > 0 && last.length > 0);
      assert.match(created, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    }
    const emails = rows.slice(1).map((r) => (r[0] as string).trim().toLowerCase());
    assert.equal(new Set(emails).size, emails.length, 'one row per contact');
    assert.ok(
      rows.slice(1).some((r) => r[0] !== (r[0] as string).toLowerCase()),
      'some messy e-mail case',
    );
  });

  it('describes customers the events identify, plus leads when asked for more', () => {
    const rows = parseCsv(crmContactsCsv(4, 300, { events: EVENTS })).slice(1);
    const matched = rows.filter((r) => identifiedEmails.has((r[0] as string).trim().toLowerCase())).length;
    assert.ok(matched > rows.length * 0.15, `${matched} of ${rows.length} contacts appear in the events`);
    const many = [...crmContactLines(4, 50_000, { events: 2000 })];
    assert.equal(many.length, 50_001);
    const emails = new Set(many.slice(1).map((l) => (parseCsv(l)[0]?.[0] ?? '').trim().toLowerCase()));
    assert.equal(emails.size, 50_000);
  });
});

describe('offline purchases', () => {
  it('is deterministic, time-ordered and well-formed', () => {
    const text = offlinePurchasesCsv(4, 1000, { events: EVENTS, start: START, days: 28 });
    assert.equal(text, offlinePurchasesCsv(4, 1000, { events: EVENTS, start: START, days: 28 }));
    const rows = parseCsv(text);
    assert.deepEqual(rows[0], [...PURCHASE_COLUMNS]);
    assert.equal(rows.length, 1001);
    let prev = '';
    const orderIds = new Set<string>();
    for (const r of rows.slice(1)) {
      const [email, orderId, revenue, currency, store, at] = r as [string, string, string, string, string, string];
      assert.ok(email === '' || email.includes('@'));
      orderIds.add(orderId);
      assert.match(revenue, /^\d+\.\d{2}$/);
      assert.ok(['USD', 'CAD', 'GBP', 'EUR', 'AUD', 'NZD', 'SGD'].includes(currency));
      assert.ok(store.startsWith('Northwind'));
      assert.ok(at >= prev && at >= START.toISOString());
      prev = at;
    }
    assert.equal(orderIds.size, 1000);
    const buyers = rows.slice(1).map((r) => (r[0] as string).trim().toLowerCase());
    assert.ok(buyers.filter((e) => identifiedEmails.has(e)).length > 100, 'offline buyers overlap the online customers');
  });
});

describe('batches', () => {
  it('groups messages in order into analytics-node batch bodies', () => {
    const messages: DemoMessage[] = [...generateDemo({ seed: 1, events: 1003, start: START, days: 1 })];
    const batches = [...toBatches(messages, 100)];
    assert.equal(batches.length, 11);
    assert.deepEqual(
      batches.map((b) => b.batch.length),
      [...new Array<number>(10).fill(100), 3],
    );
    assert.deepEqual(
      batches.flatMap((b) => b.batch),
      messages,
    );
    for (const b of batches) {
      const last = Math.max(...b.batch.map((m) => Date.parse(m.timestamp)));
      assert.ok(Date.parse(b.sentAt) > last && Date.parse(b.sentAt) - last < 1000);
      assert.ok(JSON.stringify(b).length < 500_000);
    }
    assert.deepEqual([...toBatches([], 10)], []);
    assert.throws(() => [...toBatches(messages, 0)], RangeError);
    assert.throws(() => [...toBatches(messages, MAX_BATCH_MESSAGES + 1)], RangeError);
  });
});

describe('example segments', () => {
  it('parse, and refer only to events and traits the generator produces', () => {
    const events = new Set<string>();
    const plans = new Set<string>();
    for (const m of generateDemo({ seed: 2, events: 30_000, start: START, days: 28 })) {
      if (m.type === 'track' && m.event !== undefined) events.add(m.event);
      if ((m.type === 'page' || m.type === 'screen') && m.name !== undefined) events.add(m.name);
      if (typeof m.traits?.plan === 'string') plans.add(m.traits.plan);
    }
    assert.ok(EXAMPLE_SEGMENTS.length >= 5);
    assert.equal(new Set(EXAMPLE_SEGMENTS.map((s) => s.key)).size, EXAMPLE_SEGMENTS.length);
    for (const s of EXAMPLE_SEGMENTS) {
      assert.ok(parseRule(s.query).ok, s.query);
      for (const [, name] of s.query.matchAll(/event\('([^']+)'\)/g)) assert.ok(events.has(name as string), `${s.name}: ${name}`);
      for (const [, value] of s.query.matchAll(/trait\('plan'\) = '([^']+)'/g))
        assert.ok(plans.has(value as string), `${s.name}: ${value}`);
    }
  });

  it('each selects some but not all profiles of a 100k-event demo (reference evaluator)', () => {
    const days = 28;
    const profiles = profilesOf(generateDemo({ seed: 1, events: 100_000, start: START, days }));
    const now = START.getTime() + days * 86_400_000;
    for (const s of EXAMPLE_SEGMENTS) {
      const rule = parseRule(s.query);
      assert.ok(rule.ok);
      const members = profiles.filter((p) => evaluate(rule.value, p, now)).length;
      assert.ok(members > 0 && members < profiles.length / 2, `${s.name}: ${members} of ${profiles.length}`);
    }
  });
});

/** Profiles as the segment evaluator sees them: ids joined by identify/alias, events by name, identify traits merged. */
function profilesOf(messages: Iterable<DemoMessage>): ProfileSnapshot[] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) as string;
    return r;
  };
  const link = (a: string, b: string | null): void => {
    if (!parent.has(a)) parent.set(a, a);
    if (b === null) return;
    if (!parent.has(b)) parent.set(b, b);
    if (find(a) !== find(b)) parent.set(find(a), find(b));
  };
  const junk = new Set<string>(JUNK_IDS);
  const rows: Array<{ key: string; m: DemoMessage }> = [];
  for (const m of messages) {
    const u = m.userId !== undefined && !junk.has(m.userId) ? `u:${m.userId}` : null;
    const a = m.anonymousId !== undefined && !junk.has(m.anonymousId) ? `a:${m.anonymousId}` : null;
    const key = u ?? a;
    if (key === null) continue;
    link(key, u !== null ? a : null);
    if (m.type === 'alias' && u !== null && m.previousId !== undefined) link(u, `a:${m.previousId}`);
    rows.push({ key, m });
  }
  const byRoot = new Map<string, { traits: Record<string, unknown>; events: ProfileEvent[]; segments: Set<string> }>();
  for (const { key, m } of rows) {
    const root = find(key);
    let p = byRoot.get(root);
    if (p === undefined) byRoot.set(root, (p = { traits: {}, events: [], segments: new Set() }));
    if (m.type === 'identify') Object.assign(p.traits, m.traits);
    const name = m.type === 'track' ? (m.event ?? null) : m.type === 'page' || m.type === 'screen' ? (m.name ?? null) : null;
    p.events.push({ name, type: m.type, timestamp: Date.parse(m.timestamp), properties: m.properties ?? {} });
  }
  return [...byRoot.values()];
}
