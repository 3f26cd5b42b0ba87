/**
 * The storage contract: what every `Store` adapter must do, run unchanged against SQLite and Postgres.
 * The Postgres database is shared between runs and every test shares one store, so each test owns its
 * data through unique source ids, names, user ids, cursor names and setting keys.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { EventType, FailedEvent, FailureReason } from '../../src/core/event/event.ts';
import {
  CursorMovedError,
  type EventToStore,
  type ProcessedBatch,
  type Source,
  type Store,
  type StoredEvent,
  type StoredEventWithIdent,
} from '../../src/storage/store.ts';

const T0 = Date.UTC(2024, 0, 1);
/** dedup `now` values far in the past, so expiring them cannot touch keys written by other tests. */
const ANCIENT = 1_000_000;

const uid = (prefix: string) => `${prefix}_${randomUUID()}`;

interface EventSpec {
  sourceId: string;
  messageId?: string;
  type?: EventType;
  name?: string | null;
  userId?: string | null;
  anonymousId?: string | null;
  timestamp?: number;
  receivedAt?: number;
  properties?: Record<string, unknown>;
}

export function anEvent(spec: EventSpec): EventToStore {
  const type = spec.type ?? 'track';
  const name = spec.name !== undefined ? spec.name : type === 'track' ? 'Order Completed' : null;
  const userId = spec.userId !== undefined ? spec.userId : uid('user');
  const anonymousId = spec.anonymousId ?? null;
  const messageId = spec.messageId ?? uid('msg');
  const timestamp = spec.timestamp ?? T0;
  const receivedAt = spec.receivedAt ?? timestamp + 250;
  const message: Record<string, unknown> = { type, messageId };
  if (type === 'track') message.event = name;
  else if (name !== null) message.name = name;
  if (userId !== null) message.userId = userId;
  if (anonymousId !== null) message.anonymousId = anonymousId;
  message.properties = spec.properties ?? {};
  message.timestamp = new Date(timestamp).toISOString();
  message.receivedAt = new Date(receivedAt).toISOString();
  return {
    event: { sourceId: spec.sourceId, messageId, type, name, userId, anonymousId, timestamp, receivedAt },
    payload: JSON.stringify(message),
  };
}

export function aFailed(spec: Partial<FailedEvent> & { sourceId: string }): FailedEvent {
  return {
    receivedAt: T0,
    reason: 'missing_identity',
    detail: 'a message needs a userId or an anonymousId',
    messageId: null,
    payload: '{"type":"track"}',
    ...spec,
  };
}

export function aBatch(spec: Partial<ProcessedBatch>): ProcessedBatch {
  return { cursorName: uid('cursor'), cursorSeq: 1, events: [], failed: [], now: Date.now(), ...spec };
}

export function aSource(spec: Partial<Source> = {}): Source {
  return { id: uid('src'), name: 'Website', writeKey: uid('wk'), enabled: true, createdAt: Date.now(), ...spec };
}

/** What listEvents must return for an event, apart from the store-assigned seq. */
function expected(e: EventToStore): Omit<StoredEventWithIdent, 'seq'> {
  const { sourceId, messageId, type, name, userId, anonymousId, timestamp, receivedAt } = e.event;
  return {
    sourceId,
    messageId,
    type,
    name,
    userId,
    anonymousId,
    timestamp,
    receivedAt,
    message: JSON.parse(e.payload) as Record<string, unknown>,
    ident: e.ident ?? null,
    restricted: e.restricted === true,
  };
}

const withoutSeq = ({ seq: _seq, ...rest }: StoredEventWithIdent) => rest;
const ids = (events: StoredEvent[]) => events.map((e) => e.messageId);

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`${name} honours the Store contract`, () => {
    let store: Store;
    const commit = (events: EventToStore[], spec: Partial<ProcessedBatch> = {}) => store.commitBatch(aBatch({ events, ...spec }));
    /** Commit events of one fresh source and return them with their seqs, in arrival order. */
    const seeded = async (make: (sourceId: string) => EventToStore[]) => {
      const sourceId = uid('src');
      const events = make(sourceId);
      await commit(events);
      const stored = await store.listEvents({ sourceId, afterSeq: 0, limit: 1000 });
      return { sourceId, events, stored, seqs: stored.map((e) => e.seq) };
    };

    before(async () => {
      store = await open();
      await store.migrate();
    });
    after(async () => {
      await store?.close();
    });

    describe('schema', () => {
      it('migrates idempotently, keeping data', async () => {
        const s = aSource();
        await store.createSource(s);
        await store.migrate();
        await store.migrate();
        assert.deepEqual(await store.getSource(s.id), s);
      });

      it('answers a ping', async () => {
        await store.ping();
      });
    });

    describe('sources', () => {
      it('creates and reads a source exactly', async () => {
        const s = aSource({ name: 'Shop 🛍️', enabled: false });
        await store.createSource(s);
        const got = await store.getSource(s.id);
        assert.deepEqual(got, s);
        assert.equal(typeof got?.createdAt, 'number');
      });

      it('lists sources by creation time, then id', async () => {
        const tag = randomUUID();
        const early = aSource({ id: `src_${tag}_z`, createdAt: 1_000 });
        const tieA = aSource({ id: `src_${tag}_a`, createdAt: 2_000 });
        const tieB = aSource({ id: `src_${tag}_b`, createdAt: 2_000 });
        for (const s of [tieB, early, tieA]) await store.createSource(s);
        const mine = (await store.listSources()).filter((s) => s.id.includes(tag));
        assert.deepEqual(mine, [early, tieA, tieB]);
      });

      it('renames, disables and rotates the write key, one field at a time', async () => {
        const s = aSource();
        await store.createSource(s);
        const renamed = await store.updateSource(s.id, { name: 'Renamed' });
        assert.deepEqual(renamed, { ...s, name: 'Renamed' });
        const disabled = await store.updateSource(s.id, { enabled: false });
        assert.deepEqual(disabled, { ...s, name: 'Renamed', enabled: false });
        const writeKey = uid('wk');
        await store.updateSource(s.id, { writeKey });
        assert.deepEqual(await store.getSource(s.id), { ...s, name: 'Renamed', enabled: false, writeKey });
        assert.deepEqual(await store.updateSource(s.id, { enabled: true }), { ...s, name: 'Renamed', writeKey });
        assert.deepEqual(await store.updateSource(s.id, {}), { ...s, name: 'Renamed', writeKey });
      });

      it('returns null for an unknown source', async () => {
        assert.equal(await store.getSource(uid('missing')), null);
        assert.equal(await store.updateSource(uid('missing'), { name: 'x' }), null);
      });

      it('refuses a second source with the same write key', async () => {
        const s = aSource();
        await store.createSource(s);
        await assert.rejects(store.createSource(aSource({ writeKey: s.writeKey })));
      });
    });

    describe('settings', () => {
      it('reads null for an unknown key, then sets and overwrites', async () => {
        const key = uid('setting');
        assert.equal(await store.getSetting(key), null);
        await store.setSetting(key, 'first');
        assert.equal(await store.getSetting(key), 'first');
        await store.setSetting(key, 'ünïcødé ✓');
        assert.equal(await store.getSetting(key), 'ünïcødé ✓');
        await store.setSetting(key, '');
        assert.equal(await store.getSetting(key), '');
      });
    });

    describe('commitBatch and listEvents', () => {
      it('stores every event of a batch in arrival order', async () => {
        const sourceId = uid('src');
        const events = [0, 1, 2].map((i) => anEvent({ sourceId, timestamp: T0 + i }));
        assert.deepEqual(await commit(events), { stored: 3, duplicates: 0 });
        const asc = await store.listEvents({ sourceId, afterSeq: 0, limit: 10 });
        assert.deepEqual(asc.map(withoutSeq), events.map(expected));
        assert.ok(asc.every((e, i) => typeof e.seq === 'number' && (i === 0 || e.seq > asc[i - 1]!.seq)));
        const desc = await store.listEvents({ sourceId, limit: 10 });
        assert.deepEqual(desc, [...asc].reverse());
      });

      it('stores batches larger than one statement holds (PostgreSQL: 1,000 rows), whole and in order, one after another', async () => {
        // Two full chunks and a shorter one, twice: the full ones reuse one prepared statement on PostgreSQL.
        for (let round = 0; round < 2; round++) {
          const sourceId = uid('src');
          const events = Array.from({ length: 2_300 }, (_, i) => anEvent({ sourceId, messageId: `big-${round}-${i}`, timestamp: T0 + i }));
          assert.deepEqual(await commit(events), { stored: 2_300, duplicates: 0 });
          const stored: StoredEvent[] = [];
          for (let after = 0; ;) {
            const page = await store.listEvents({ sourceId, afterSeq: after, limit: 1000 });
            if (page.length === 0) break;
            stored.push(...page);
            after = page[page.length - 1]!.seq;
          }
          assert.deepEqual(
            ids(stored),
            events.map((e) => e.event.messageId),
          );
        }
      });

      it('filters by source, type, name, userId and anonymousId', async () => {
        const [userId, anonymousId, name] = [uid('user'), uid('anon'), uid('name')];
        const { sourceId, events } = await seeded((sourceId) => [
          anEvent({ sourceId, type: 'identify', userId }),
          anEvent({ sourceId, type: 'track', name, userId }),
          anEvent({ sourceId, type: 'page', name, userId: null, anonymousId }),
          anEvent({ sourceId, type: 'track', name: 'Other' }),
        ]);
        const [identify, track, page, other] = events.map((e) => e.event.messageId);
        const elsewhere = anEvent({ sourceId: uid('src'), name, userId });
        await commit([elsewhere]);
        const list = (f: Omit<Parameters<Store['listEvents']>[0], 'limit'>) =>
          store.listEvents({ ...f, afterSeq: 0, limit: 100 }).then(ids);
        assert.deepEqual(await list({ sourceId }), [identify, track, page, other]);
        assert.deepEqual(await list({ sourceId, type: 'track' }), [track, other]);
        assert.deepEqual(await list({ sourceId, type: 'page' }), [page]);
        assert.deepEqual(await list({ sourceId, name }), [track, page]);
        assert.deepEqual(await list({ sourceId, type: 'track', name }), [track]);
        assert.deepEqual(await list({ userId }), [identify, track, elsewhere.event.messageId]);
        assert.deepEqual(await list({ sourceId, userId }), [identify, track]);
        assert.deepEqual(await list({ anonymousId }), [page]);
        assert.deepEqual(await list({ sourceId: elsewhere.event.sourceId }), [elsewhere.event.messageId]);
      });

      it('finds a userId’s events whatever identifier they are attributed to, and no one else’s', async () => {
        const [userId, other, anonymousId] = [uid('user'), uid('user'), uid('anon')];
        const { stored } = await seeded((sourceId) => [
          { ...anEvent({ sourceId, userId }), ident: `user_id:${userId}` },
          { ...anEvent({ sourceId, userId, anonymousId }), ident: `anonymous_id:${anonymousId}` }, // the user id refused
          anEvent({ sourceId, userId }), // attributed to nothing
          { ...anEvent({ sourceId, userId: other }), ident: `user_id:${userId}` },
          { ...anEvent({ sourceId, userId: null, anonymousId }), ident: `anonymous_id:${anonymousId}` },
          { ...anEvent({ sourceId, userId }), ident: `user_id:${userId}` },
        ]);
        const [attributed, refused, unattributed, , , later] = stored;
        const list = (f: { beforeSeq?: number; afterSeq?: number; limit?: number }) =>
          store.listEvents({ userId, limit: 100, ...f }).then(ids);
        assert.deepEqual(await list({ afterSeq: 0 }), ids([attributed!, refused!, unattributed!, later!]));
        assert.deepEqual(await list({ limit: 3 }), ids([later!, unattributed!, refused!]));
        assert.deepEqual(await list({ beforeSeq: unattributed!.seq }), ids([refused!, attributed!]));
        assert.deepEqual(await list({ afterSeq: refused!.seq, limit: 1 }), ids([unattributed!]));
      });

      it('filters by event time, from inclusive and to exclusive', async () => {
        const { sourceId, events } = await seeded((sourceId) =>
          [-315_619_200_000, T0, T0 + 1_000, T0 + 2_000, 4_102_444_800_000].map((timestamp) => anEvent({ sourceId, timestamp })),
        );
        const [e1960, e0, e1, e2, e2100] = events.map((e) => e.event.messageId);
        const list = (from?: number, to?: number) => store.listEvents({ sourceId, from, to, afterSeq: 0, limit: 100 }).then(ids);
        assert.deepEqual(await list(T0 + 1_000), [e1, e2, e2100]);
        assert.deepEqual(await list(undefined, T0 + 1_000), [e1960, e0]);
        assert.deepEqual(await list(T0, T0 + 2_000), [e0, e1]);
        assert.deepEqual(await list(0), [e0, e1, e2, e2100]);
      });

      it('pages with beforeSeq (newest first), follows with afterSeq (oldest first) and honours limit', async () => {
        const { sourceId, stored, seqs } = await seeded((sourceId) => [1, 2, 3, 4, 5].map(() => anEvent({ sourceId })));
        const [m1, m2, m3, m4, m5] = ids(stored);
        const list = (f: { beforeSeq?: number; afterSeq?: number; limit?: number }) =>
          store.listEvents({ sourceId, limit: 100, ...f }).then(ids);
        assert.deepEqual(await list({}), [m5, m4, m3, m2, m1]);
        assert.deepEqual(await list({ limit: 2 }), [m5, m4]);
        assert.deepEqual(await list({ beforeSeq: seqs[2] }), [m2, m1]);
        assert.deepEqual(await list({ beforeSeq: seqs[4], limit: 2 }), [m4, m3]);
        assert.deepEqual(await list({ afterSeq: seqs[1] }), [m3, m4, m5]);
        assert.deepEqual(await list({ afterSeq: seqs[1], limit: 2 }), [m3, m4]);
        assert.deepEqual(await list({ afterSeq: seqs[0], beforeSeq: seqs[4] }), [m2, m3, m4]);
        assert.deepEqual(await list({ afterSeq: seqs[4] }), []);
        assert.deepEqual(await list({ limit: 0 }), []);
      });

      it('counts every stored event', async () => {
        const before = await store.countEvents();
        const sourceId = uid('src');
        const dup = anEvent({ sourceId });
        await commit([dup, anEvent({ sourceId }), anEvent({ sourceId })]);
        await commit([dup]);
        const after = await store.countEvents();
        assert.equal(typeof after, 'number');
        assert.equal(after, before + 3);
      });
    });

    describe('de-duplication', () => {
      it('drops a message whose (source, messageId) was stored by an earlier batch, keeping the first', async () => {
        const sourceId = uid('src');
        const first = anEvent({ sourceId, properties: { version: 1 } });
        const again = anEvent({ sourceId, messageId: first.event.messageId, properties: { version: 2 } });
        const fresh = anEvent({ sourceId });
        assert.deepEqual(await commit([first]), { stored: 1, duplicates: 0 });
        assert.deepEqual(await commit([again, fresh]), { stored: 1, duplicates: 1 });
        const stored = await store.listEvents({ sourceId, afterSeq: 0, limit: 10 });
        assert.deepEqual(stored.map(withoutSeq), [expected(first), expected(fresh)]);
      });

      it('keeps the same messageId from different sources apart', async () => {
        const messageId = uid('msg');
        const [a, b] = [uid('src'), uid('src')];
        assert.deepEqual(await commit([anEvent({ sourceId: a, messageId })]), { stored: 1, duplicates: 0 });
        assert.deepEqual(await commit([anEvent({ sourceId: b, messageId })]), { stored: 1, duplicates: 0 });
        assert.deepEqual(await commit([anEvent({ sourceId: uid('src'), messageId }), anEvent({ sourceId: uid('src'), messageId })]), {
          stored: 2,
          duplicates: 0,
        });
      });

      it('counts a key repeated inside one batch as a duplicate and keeps its first occurrence', async () => {
        const sourceId = uid('src');
        const first = anEvent({ sourceId, properties: { n: 1 } });
        const middle = anEvent({ sourceId });
        const repeat = anEvent({ sourceId, messageId: first.event.messageId, properties: { n: 2 } });
        assert.deepEqual(await commit([first, middle, repeat, repeat]), { stored: 2, duplicates: 2 });
        const stored = await store.listEvents({ sourceId, afterSeq: 0, limit: 10 });
        assert.deepEqual(stored.map(withoutSeq), [expected(first), expected(middle)]);
      });

      it('forgets keys older than the window so the message can be stored again, and keeps recent ones', async () => {
        const sourceId = uid('src');
        const old = anEvent({ sourceId });
        const recent = anEvent({ sourceId });
        assert.equal(await store.expireDedupKeys(ANCIENT), 0);
        await commit([old], { now: ANCIENT + 1 });
        await commit([recent], { now: ANCIENT + 100 });
        assert.equal(await store.expireDedupKeys(ANCIENT + 50), 1);
        assert.deepEqual(await commit([old, recent], { now: ANCIENT + 200 }), { stored: 1, duplicates: 1 });
        assert.equal((await store.listEvents({ sourceId, limit: 10 })).length, 3);
        assert.equal(await store.expireDedupKeys(ANCIENT + 1_000), 2);
      });
    });

    describe('cursors', () => {
      it('reads 0 for an unknown cursor and stores the position of each batch', async () => {
        const cursorName = uid('cursor');
        assert.equal(await store.readCursor(cursorName), 0);
        await commit([anEvent({ sourceId: uid('src') })], { cursorName, cursorSeq: 41 });
        assert.equal(await store.readCursor(cursorName), 41);
        assert.deepEqual(await commit([], { cursorName, cursorSeq: 9_007_199_254_740_991 }), { stored: 0, duplicates: 0 });
        assert.equal(await store.readCursor(cursorName), 9_007_199_254_740_991);
        assert.equal(await store.readCursor(uid('cursor')), 0);
      });

      it('writes nothing, cursor included, when any part of a batch fails', async () => {
        const cursorName = uid('cursor');
        const sourceId = uid('src');
        await commit([], { cursorName, cursorSeq: 5 });
        const event = anEvent({ sourceId });
        const broken = aFailed({ sourceId, payload: null as unknown as string });
        await assert.rejects(commit([event], { cursorName, cursorSeq: 6, failed: [aFailed({ sourceId }), broken] }));
        assert.equal(await store.readCursor(cursorName), 5);
        assert.deepEqual(await store.listEvents({ sourceId, limit: 10 }), []);
        assert.deepEqual(await store.listFailedEvents({ sourceId, limit: 10 }), []);
        assert.deepEqual(await commit([event], { cursorName, cursorSeq: 6 }), { stored: 1, duplicates: 0 });
        assert.equal(await store.readCursor(cursorName), 6);
      });

      it('commits a batch that says where it starts only if the cursor is still there (two processors on one log)', async () => {
        const cursorName = uid('cursor');
        const sourceId = uid('src');
        // A first batch from nowhere (no cursor yet) starts at 0.
        await commit([anEvent({ sourceId })], { cursorName, cursorFrom: 0, cursorSeq: 3 });
        assert.equal(await store.readCursor(cursorName), 3);
        // Another processor read the same entries and comes second: it stores nothing and learns why.
        const late = anEvent({ sourceId });
        await assert.rejects(commit([late], { cursorName, cursorFrom: 0, cursorSeq: 3 }), CursorMovedError);
        await assert.rejects(commit([late], { cursorName, cursorFrom: 2, cursorSeq: 4 }), CursorMovedError);
        assert.equal(await store.readCursor(cursorName), 3);
        assert.equal((await store.listEvents({ sourceId, limit: 10 })).length, 1);
        // From where the cursor is, it goes on.
        assert.deepEqual(await commit([late], { cursorName, cursorFrom: 3, cursorSeq: 4 }), { stored: 1, duplicates: 0 });
        assert.equal(await store.readCursor(cursorName), 4);
      });
    });

    describe('failed events', () => {
      it('stores failed events and lists them newest first with every filter', async () => {
        const sourceId = uid('src');
        const failed: FailedEvent[] = [
          aFailed({ sourceId, reason: 'missing_identity', receivedAt: T0 }),
          aFailed({ sourceId, reason: 'unknown_type', detail: 'type must be…', messageId: 'm-1', payload: '[1,2]', receivedAt: T0 + 1 }),
          aFailed({ sourceId, reason: 'missing_identity', messageId: 'm-2', payload: '"🙃"', receivedAt: T0 + 2 }),
        ];
        const elsewhere = aFailed({ sourceId: uid('src'), reason: 'missing_identity' });
        assert.deepEqual(await commit([], { failed: [...failed, elsewhere] }), { stored: 0, duplicates: 0 });
        const all = await store.listFailedEvents({ sourceId, limit: 10 });
        assert.deepEqual(
          all.map(({ id: _id, ...rest }) => rest),
          [...failed].reverse(),
        );
        const [third, second, first] = all.map((f) => f.id) as [number, number, number];
        assert.ok(typeof first === 'number' && first < second && second < third);
        const list = (f: { reason?: FailureReason; beforeId?: number; limit?: number }) =>
          store.listFailedEvents({ sourceId, limit: 10, ...f }).then((r) => r.map((x) => x.id));
        assert.deepEqual(await list({ reason: 'missing_identity' }), [third, first]);
        assert.deepEqual(await list({ reason: 'too_deep' }), []);
        assert.deepEqual(await list({ beforeId: third }), [second, first]);
        assert.deepEqual(await list({ reason: 'missing_identity', beforeId: third }), [first]);
        assert.deepEqual(await list({ limit: 1 }), [third]);
        const [newest] = await store.listFailedEvents({ reason: 'missing_identity', limit: 1 });
        assert.equal(newest?.sourceId, elsewhere.sourceId, 'the reason filter works without a source');
      });
    });

    describe('round trips', () => {
      it('keeps unicode and emoji in payloads, names and ids exactly', async () => {
        const sourceId = uid('src');
        const userId = `usér-✓-${randomUUID()}`;
        const name = `🛒 Checkout – Schritt 2 ${randomUUID()}`;
        const properties = {
          emoji: '🎉👩‍👩‍👧‍👦🇧🇪',
          scripts: 'Zürich 東京 مرحبا שלום Ελληνικά',
          combining: 'e\u0301 vs \u00e9',
          separators: 'a\u2028b\u2029c',
          controls: '\t\n\r\b\f\u0001\u001f\u007f',
          escapes: 'quote " backslash \\ slash / nul \u0000',
          '🔑 key': { nested: ['ø', 1.5, -0.25, 1e21, null, true] },
        };
        const event = anEvent({ sourceId, userId, name, properties });
        await commit([event]);
        const [stored] = await store.listEvents({ userId, name, limit: 10 });
        assert.ok(stored);
        assert.deepEqual(withoutSeq(stored), expected(event));
        assert.equal(JSON.stringify(stored.message), event.payload);
      });

      it('keeps U+FFFD and escaped lone surrogates in payloads exactly', async () => {
        const sourceId = uid('src');
        const event = anEvent({
          sourceId,
          name: 'bad \uFFFD byte',
          properties: { replacement: '\uFFFD\uFFFD', lone: 'x\ud800y', pair: '\ud83d\ude00' },
        });
        assert.ok(event.payload.includes('\\ud800'), 'JSON.stringify escapes a lone surrogate');
        const failed = aFailed({ sourceId, payload: '{"s":"\uFFFD \\udfff"}', detail: 'détail \uFFFD' });
        await commit([event], { failed: [failed] });
        const [stored] = await store.listEvents({ sourceId, limit: 1 });
        assert.deepEqual(withoutSeq(stored!), expected(event));
        assert.equal(JSON.stringify(stored!.message), event.payload);
        const [storedFailed] = await store.listFailedEvents({ sourceId, limit: 1 });
        assert.equal(storedFailed?.payload, failed.payload);
        assert.equal(storedFailed?.detail, failed.detail);
      });

      it('keeps strings that look like SQL or array syntax as they are', async () => {
        const sourceId = uid('src');
        const odd = ['NULL', '', '{a,"b"}', 'back\\slash', "it's", '(1,2)', '  padded  '];
        const events = odd.map((s, i) =>
          anEvent({ sourceId, messageId: `${s}#${i}`, name: s, userId: `${s}|${randomUUID()}`, anonymousId: s }),
        );
        assert.deepEqual(await commit(events), { stored: odd.length, duplicates: 0 });
        const stored = await store.listEvents({ sourceId, afterSeq: 0, limit: 100 });
        assert.deepEqual(stored.map(withoutSeq), events.map(expected));
        assert.deepEqual(ids(await store.listEvents({ sourceId, name: 'NULL', limit: 10 })), ['NULL#0']);
        assert.deepEqual(ids(await store.listEvents({ sourceId, anonymousId: '', limit: 10 })), ['#1']);
        const failed = odd.map((s) => aFailed({ sourceId, detail: s, messageId: s, payload: s }));
        await commit([], { failed });
        const listed = await store.listFailedEvents({ sourceId, limit: 100 });
        assert.deepEqual(listed.map(({ id: _id, ...rest }) => rest).reverse(), failed);
      });
    });
  });
}
