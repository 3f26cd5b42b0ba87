/**
 * The demo event generator: deterministic, valid by the project's own rules, time-ordered, streaming,
 * and statistically like a real store (funnel, heavy tail, daily rhythm, identities, consent, junk ids).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { normalizeMessage } from '../../src/core/event/normalize.ts';
import { generateDemo, JUNK_IDS, type DemoMessage, type DemoOptions } from '../../src/demo/generator.ts';
import { normalizeContext } from '../support/fixtures.ts';

const START = new Date('2025-03-03T00:00:00Z');
const DAYS = 28;
const N = 20_000;
const JUNK_RATE = 0.005;
const JUNK = new Set<string>(JUNK_IDS);

function take(options: DemoOptions, n = Infinity): DemoMessage[] {
  const out: DemoMessage[] = [];
  for (const m of generateDemo(options)) {
    if (out.length >= n) break;
    out.push(m);
  }
  return out;
}

const isJunk = (id: string | undefined): boolean => id !== undefined && JUNK.has(id);

/** Resolve identities like a CDP would (identify/track with both ids, alias) and count messages per profile. */
function profiles(messages: DemoMessage[]): number[] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) as string;
    return r;
  };
  const add = (x: string): void => {
    if (!parent.has(x)) parent.set(x, x);
  };
  const union = (a: string, b: string): void => {
    add(a);
    add(b);
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra, rb);
  };
  const owner: string[] = [];
  for (const m of messages) {
    const u = m.userId !== undefined && !isJunk(m.userId) ? `u:${m.userId}` : null;
    const a = m.anonymousId !== undefined && !isJunk(m.anonymousId) ? `a:${m.anonymousId}` : null;
    if (u !== null) add(u);
    if (a !== null) add(a);
    if (u !== null && a !== null) union(u, a);
    if (m.type === 'alias' && u !== null && m.previousId !== undefined) union(u, `a:${m.previousId}`);
    const key = u ?? a;
    if (key !== null) owner.push(key);
  }
  const counts = new Map<string, number>();
  for (const k of owner) {
    const r = find(k);
    counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  return [...counts.values()].sort((x, y) => y - x);
}

let sample: DemoMessage[] = [];
const count = (pred: (m: DemoMessage) => boolean): number => sample.reduce((n, m) => n + (pred(m) ? 1 : 0), 0);
const tracked = (event: string): number => count((m) => m.type === 'track' && m.event === event);

before(() => {
  sample = take({ seed: 11, events: N, start: START, days: DAYS, junkIdRate: JUNK_RATE });
});

describe('determinism', () => {
  it('the same seed yields byte-identical messages', () => {
    const a = JSON.stringify(take({ seed: 42, events: 5000, start: START, days: 7 }, 3000));
    const b = JSON.stringify(take({ seed: 42, events: 5000, start: START, days: 7 }, 3000));
    assert.equal(a, b);
  });

  it('a different seed yields different messages', () => {
    const a = take({ seed: 42, events: 500, start: START, days: 7 });
    const b = take({ seed: 43, events: 500, start: START, days: 7 });
    assert.notEqual(JSON.stringify(a), JSON.stringify(b));
    const ids = new Set(a.map((m) => m.messageId));
    assert.ok(b.every((m) => !ids.has(m.messageId)));
  });

  it('the junk rate changes only the ids it replaces', () => {
    const clean = take({ seed: 5, events: 3000, start: START, days: 3, junkIdRate: 0 });
    const dirty = take({ seed: 5, events: 3000, start: START, days: 3, junkIdRate: 0.05 });
    assert.equal(clean.length, dirty.length);
    assert.deepEqual(
      clean.map((m) => m.messageId),
      dirty.map((m) => m.messageId),
    );
  });
});

describe('shape and validity', () => {
  it('produces exactly the requested number of messages', () => {
    for (const events of [0, 1, 7, 1234]) assert.equal(take({ seed: 3, events, start: START, days: 1 }).length, events);
    assert.equal(sample.length, N);
  });

  it('rejects invalid options', () => {
    assert.throws(() => take({ seed: 1, events: -1, start: START, days: 1 }), RangeError);
    assert.throws(() => take({ seed: 1, events: 10, start: START, days: 0 }), RangeError);
    assert.throws(() => take({ seed: 1, events: 10, start: new Date('nope'), days: 1 }), RangeError);
    assert.throws(() => take({ seed: 1, events: 10, start: START, days: 1, junkIdRate: 2 }), RangeError);
  });

  it('every message passes the project’s own validation', () => {
    const ctx = normalizeContext({ sourceId: 's', receivedAt: Date.now(), fallbackMessageId: 'x' });
    const failures = sample.map((m) => normalizeMessage(m, ctx)).filter((r) => !r.ok);
    assert.deepEqual(failures, []);
  });

  it('timestamps are ISO strings, non-decreasing, inside the window', () => {
    const end = START.getTime() + (DAYS + 1) * 86_400_000;
    let prev = 0;
    for (const m of sample) {
      const t = Date.parse(m.timestamp);
      assert.equal(new Date(t).toISOString(), m.timestamp);
      assert.ok(t >= prev, `${m.timestamp} after ${new Date(prev).toISOString()}`);
      assert.ok(t >= START.getTime() && t <= end);
      prev = t;
    }
    // The window is used end to end.
    assert.ok(Date.parse((sample.at(-1) as DemoMessage).timestamp) > START.getTime() + (DAYS - 1) * 86_400_000);
  });

  it('message ids are unique and shaped like each SDK’s', () => {
    assert.equal(new Set(sample.map((m) => m.messageId)).size, sample.length);
    for (const m of sample) {
      const lib = (m.context.library as { name: string }).name;
      if (lib === 'analytics.js') assert.match(m.messageId, /^ajs-next-\d{13}-[0-9a-f-]{36}$/);
      else if (lib === '@segment/analytics-node') assert.match(m.messageId, /^node-next-\d{13}-[0-9a-f-]{36}$/);
      else assert.match(m.messageId, /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/);
    }
  });

  it('browser messages carry page, userAgent, locale, timezone and ip; app messages a device', () => {
    const web = sample.filter((m) => (m.context.library as { name: string }).name === 'analytics.js');
    assert.ok(web.length > N / 3);
    for (const m of web) {
      const page = m.context.page as Record<string, string>;
      assert.ok(page.url?.startsWith('https://') && typeof page.path === 'string' && typeof page.title === 'string');
      assert.ok(typeof m.context.userAgent === 'string' && typeof m.context.locale === 'string');
      assert.ok(typeof m.context.timezone === 'string' && typeof m.context.ip === 'string');
      assert.ok(m.anonymousId !== undefined);
    }
    const screens = sample.filter((m) => m.type === 'screen');
    assert.ok(screens.length > 0);
    for (const m of screens) {
      const d = m.context.device as Record<string, unknown>;
      assert.ok(d.type === 'ios' || d.type === 'android');
      assert.equal(typeof d.id, 'string');
      assert.equal(typeof d.adTrackingEnabled, 'boolean');
      assert.equal(typeof d.advertisingId === 'string', d.adTrackingEnabled);
    }
  });

  it('identify calls carry real-world traits, with messy e-mail case and phone formats', () => {
    const identifies = sample.filter((m) => m.type === 'identify' && m.traits !== undefined);
    assert.ok(identifies.length > 100);
    const emails = identifies.map((m) => m.traits?.email as string);
    assert.ok(emails.every((e) => /^[^@\s]+@[^@\s]+\.[a-z]+$/i.test(e)));
    assert.ok(
      emails.some((e) => e !== e.toLowerCase()),
      'some e-mails in mixed or upper case',
    );
    const phones = identifies.map((m) => m.traits?.phone).filter((p): p is string => typeof p === 'string');
    assert.ok(
      phones.some((p) => /^\(\d{3}\) \d{3}-\d{4}$/.test(p)),
      'some US national phone numbers',
    );
    assert.ok(
      phones.some((p) => p.startsWith('+')),
      'some E.164 phone numbers',
    );
    const full = identifies.filter((m) => m.traits?.firstName !== undefined);
    assert.ok(full.every((m) => typeof m.traits?.lastName === 'string' && !Number.isNaN(Date.parse(m.traits?.createdAt as string))));
    assert.ok(identifies.every((m) => ['free', 'basic', 'pro', 'enterprise'].includes(m.traits?.plan as string)));
  });

  it('includes group, alias, external ids and every modelled event', () => {
    assert.ok(count((m) => m.type === 'group' && typeof m.groupId === 'string') > 0);
    assert.ok(count((m) => m.type === 'alias' && typeof m.previousId === 'string' && typeof m.userId === 'string') > 0);
    assert.ok(count((m) => Array.isArray(m.context.externalIds)) > 0);
    for (const e of [
      'Products Searched',
      'Product Viewed',
      'Product Added',
      'Checkout Started',
      'Order Completed',
      'Order Refunded',
      'Email Opened',
      'Email Link Clicked',
      'SMS Delivered',
      'Survey Answered',
      'Segment Consent Preference Updated',
    ]) {
      assert.ok(tracked(e) > 0, `no ${e}`);
    }
    const order = sample.find((m) => m.event === 'Order Completed');
    const p = order?.properties as Record<string, unknown>;
    assert.ok(
      typeof p.order_id === 'string' && typeof p.revenue === 'number' && typeof p.currency === 'string' && Array.isArray(p.products),
    );
    const added = sample.find((m) => m.event === 'Product Added')?.properties as Record<string, unknown>;
    assert.ok(typeof added.cart_id === 'string' && typeof added.product_id === 'string' && typeof added.price === 'number');
    const scores = sample.filter((m) => m.event === 'Survey Answered').map((m) => m.properties?.score as number);
    assert.ok(scores.every((s) => Number.isInteger(s) && s >= 0 && s <= 10));
  });
});

describe('statistics of ~20k events', () => {
  it('page, track and identify shares are plausible', () => {
    const share = (type: string): number => count((m) => m.type === type) / N;
    assert.ok(share('page') > 0.25 && share('page') < 0.55, `page ${share('page')}`);
    assert.ok(share('track') > 0.3 && share('track') < 0.6, `track ${share('track')}`);
    assert.ok(share('identify') > 0.005 && share('identify') < 0.08, `identify ${share('identify')}`);
    assert.ok(share('screen') > 0.03 && share('screen') < 0.25, `screen ${share('screen')}`);
  });

  it('carts are abandoned more often than completed', () => {
    const added = tracked('Product Added');
    const started = tracked('Checkout Started');
    const completed = tracked('Order Completed');
    assert.ok(completed > 0 && completed < 0.6 * added, `${completed} orders for ${added} adds`);
    assert.ok(completed < started && started < added);
    assert.ok(tracked('Product Viewed') > added);
  });

  it('activity is heavy-tailed: the top 10% of profiles produce more than 30% of events', () => {
    const counts = profiles(sample);
    const top = counts.slice(0, Math.ceil(counts.length / 10)).reduce((s, x) => s + x, 0);
    const total = counts.reduce((s, x) => s + x, 0);
    assert.ok(top / total > 0.3, `top decile share ${top / total}`);
  });

  it('about one profile per ten events', () => {
    const n = profiles(sample).length;
    assert.ok(n > N * 0.07 && n < N * 0.13, `${n} profiles`);
  });

  it('more traffic in the local daytime and evening than at night', () => {
    const formats = new Map<string, Intl.DateTimeFormat>();
    const hours = new Array<number>(24).fill(0);
    for (const m of sample) {
      const tz = m.context.timezone;
      if (typeof tz !== 'string') continue;
      let f = formats.get(tz);
      if (f === undefined) formats.set(tz, (f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hour: 'numeric', hourCycle: 'h23' })));
      const h = Number(f.format(new Date(m.timestamp)));
      hours[h] = (hours[h] ?? 0) + 1;
    }
    const mean = (from: number, to: number): number => hours.slice(from, to).reduce((s, x) => s + x, 0) / (to - from);
    assert.ok(mean(10, 22) > 2.5 * mean(1, 6), `day ${mean(10, 22)} vs night ${mean(1, 6)}`);
  });

  it('some visitors deny consent categories, and later events carry their choice', () => {
    const choices = sample.filter((m) => m.event === 'Segment Consent Preference Updated');
    const prefs = choices.map((m) => (m.context.consent as { categoryPreferences: Record<string, boolean> }).categoryPreferences);
    assert.ok(prefs.every((p) => ['Analytics', 'Advertising', 'Email Marketing', 'SMS Marketing'].every((k) => typeof p[k] === 'boolean')));
    assert.ok(prefs.some((p) => p.Advertising === false));
    assert.ok(prefs.some((p) => Object.values(p).every((v) => v)));
    assert.ok(count((m) => m.context.consent !== undefined && m.event !== 'Segment Consent Preference Updated') > choices.length);
  });

  it('junk ids appear at roughly the configured rate, and only then', () => {
    const junk = count((m) => isJunk(m.anonymousId) || isJunk(m.userId));
    const expected = N * JUNK_RATE;
    assert.ok(junk > expected * 0.6 && junk < expected * 1.4, `${junk} junk ids, expected ~${expected}`);
    const clean = take({ seed: 11, events: 5000, start: START, days: 7, junkIdRate: 0 });
    assert.equal(clean.filter((m) => isJunk(m.anonymousId) || isJunk(m.userId)).length, 0);
  });
});

describe('streaming', () => {
  it('generates 200k events in bounded memory', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const retained: number[] = [];
    let n = 0;
    for (const m of generateDemo({ seed: 9, events: 200_000, start: START, days: 30 })) {
      if (m.type !== undefined) n++;
      if (n % 50_000 === 0) {
        gc();
        retained.push(process.memoryUsage().heapUsed);
      }
    }
    assert.equal(n, 200_000);
    const growth = (retained.at(-1) as number) - (retained[0] as number);
    // Storing the messages would take hundreds of MB; the generator keeps a few bytes per customer.
    assert.ok(growth < 16 * 1024 * 1024, `heap grew ${Math.round(growth / 1e6)} MB between 50k and 200k events`);
  });
});
