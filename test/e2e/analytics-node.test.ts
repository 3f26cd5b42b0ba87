/**
 * End to end with the real, unmodified `@segment/analytics-node` client: it batches to `POST /v1/batch`
 * (application/json, Basic auth + writeKey in the body), and every call must come back out of
 * `GET /api/v1/events` exactly once, unchanged.
 */
import { Analytics } from '@segment/analytics-node';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTessera, type Harness } from '../support/harness.ts';
import {
  assertConsistent,
  drained,
  exactlyOne,
  listEvents,
  listFailedEvents,
  objectField,
  recordExchanges,
  withTimeout,
  WAIT_MS,
} from '../support/e2e.ts';

const USER = 'u-node-1';
const ANON = 'anon-node-1';
const HISTORICAL = '2024-01-02T03:04:05.000Z';

const traits = { email: 'ada@example.com', plan: 'pro', logins: 3, vip: true };
const trackProps = {
  revenue: 42.5,
  currency: 'EUR',
  quantity: 2,
  note: 'Grüße aus Köln 🎉 — 日本語 ✓',
  cart: {
    id: 'cart-7',
    products: [
      { sku: 'A-1', qty: 1 },
      { sku: 'B-2', qty: 2, tags: ['gift', 'π'] },
    ],
    coupon: null,
  },
  firstOrder: false,
};
const pageProps = { url: 'https://shop.example/docs?x=1', title: 'Docs 📚', path: '/docs' };
const screenProps = { section: 'privacy', depth: 2 };
const groupTraits = { name: 'Acme Inc', employees: 120, industry: 'Tooling' };
const historicalProps = { source: 'import', batch: 1 };

const NODE_MESSAGE_ID = /^node-next-\d+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('@segment/analytics-node 3.1 against Tessera', () => {
  let h: Harness;
  before(async () => {
    h = await startTessera();
  });
  after(async () => {
    await h?.close();
  });

  test('identify, track, page, screen, group and alias arrive once each, intact', async () => {
    const wire = recordExchanges(h);
    const analytics = new Analytics({ writeKey: h.writeKey, host: h.url, flushAt: 3, flushInterval: 500, maxRetries: 2 });
    const errors: unknown[] = [];
    const statuses: number[] = [];
    const paths: string[] = [];
    analytics.on('error', (err) => errors.push(err));
    analytics.on('http_request', (req) => paths.push(new URL(req.url).pathname));
    analytics.on('http_response', (res) => statuses.push(res.status));

    try {
      analytics.identify({ userId: USER, traits });
      analytics.track({ userId: USER, event: 'Order Completed', properties: trackProps, context: { ip: '203.0.113.9' } });
      analytics.page({ anonymousId: ANON, category: 'Docs', name: 'Home', properties: pageProps });
      analytics.screen({ userId: USER, name: 'Settings', properties: screenProps });
      analytics.group({ userId: USER, groupId: 'g-acme', traits: groupTraits });
      analytics.alias({ userId: USER, previousId: ANON });
      // A historical import: the caller's timestamp and messageId are kept.
      analytics.track({
        anonymousId: 'anon-node-2',
        event: 'Signed Up',
        properties: historicalProps,
        timestamp: new Date(HISTORICAL),
        messageId: 'node-fixed-id-1',
      });
    } finally {
      await withTimeout(analytics.closeAndFlush({ timeout: WAIT_MS }), WAIT_MS + 1_000, 'analytics-node closeAndFlush');
    }
    assert.deepEqual(errors, [], 'the client reported no delivery error');
    // flushAt 3 and seven calls: batches of 3, 3 and 1, all to /v1/batch, all accepted.
    assert.deepEqual(paths, ['/v1/batch', '/v1/batch', '/v1/batch']);
    assert.deepEqual(statuses, [200, 200, 200]);
    wire.stop();
    // What Tessera saw: plain JSON, Basic auth, no Content-Encoding.
    const posts = wire.seen.filter((x) => x.method === 'POST');
    assert.deepEqual(
      posts.map((x) => [x.path, x.status]),
      [
        ['/v1/batch', 200],
        ['/v1/batch', 200],
        ['/v1/batch', 200],
      ],
    );
    for (const x of posts) {
      assert.equal(x.headers['content-type'], 'application/json');
      assert.equal(x.headers['content-encoding'], undefined);
      assert.equal(x.headers.authorization, `Basic ${Buffer.from(`${h.writeKey}:`).toString('base64')}`);
    }

    await drained(h);
    assert.deepEqual(await listFailedEvents(h), [], 'no message was rejected');
    const all = await listEvents(h);
    assert.equal(all.length, 7, `seven calls, seven stored events: ${JSON.stringify(all.map((e) => `${e.type}:${e.name}`))}`);
    assert.equal(new Set(all.map((e) => e.messageId)).size, 7, 'messageIds are unique');
    const counts = Object.fromEntries(
      ['identify', 'track', 'page', 'screen', 'group', 'alias'].map((t) => [t, all.filter((e) => e.type === t).length]),
    );
    assert.deepEqual(counts, { identify: 1, track: 2, page: 1, screen: 1, group: 1, alias: 1 });
    for (const e of all) {
      assertConsistent(e, h.sourceId);
      assert.equal(objectField(e, 'context').library !== undefined, true, 'the library context is kept');
      assert.deepEqual((objectField(e, 'context').library as Record<string, unknown>).name, '@segment/analytics-node');
    }

    const identify = await exactlyOne(h, { type: 'identify', userId: USER });
    assert.match(identify.messageId, NODE_MESSAGE_ID);
    assert.equal(identify.anonymousId, null);
    assert.deepEqual(identify.message.traits, traits);

    const track = await exactlyOne(h, { type: 'track', name: 'Order Completed' });
    assert.match(track.messageId, NODE_MESSAGE_ID);
    assert.equal(track.userId, USER);
    assert.equal(track.message.event, 'Order Completed');
    assert.deepEqual(track.message.properties, trackProps, 'nested objects, numbers, booleans, null and unicode survive');
    assert.equal(objectField(track, 'context').ip, '203.0.113.9');

    const page = await exactlyOne(h, { type: 'page', anonymousId: ANON });
    assert.match(page.messageId, NODE_MESSAGE_ID);
    assert.equal(page.userId, null);
    assert.equal(page.name, 'Home');
    assert.equal(page.message.category, 'Docs');
    // analytics-node copies the page category into the properties (as Segment's spec does).
    assert.deepEqual(page.message.properties, { ...pageProps, category: 'Docs' });

    const screen = await exactlyOne(h, { type: 'screen', userId: USER });
    assert.match(screen.messageId, NODE_MESSAGE_ID);
    assert.equal(screen.name, 'Settings');
    assert.deepEqual(screen.message.properties, screenProps);

    const group = await exactlyOne(h, { type: 'group', userId: USER });
    assert.match(group.messageId, NODE_MESSAGE_ID);
    assert.equal(group.message.groupId, 'g-acme');
    assert.deepEqual(group.message.traits, groupTraits);

    const alias = await exactlyOne(h, { type: 'alias', userId: USER });
    assert.match(alias.messageId, NODE_MESSAGE_ID);
    assert.equal(alias.message.previousId, ANON);

    // The library stamps every event with the client's clock; Tessera keeps that time.
    for (const e of [identify, track, page, screen, group, alias]) {
      assert.ok(Number.isFinite(Date.parse(e.timestamp)), `${e.type} has an event time`);
      assert.ok(typeof e.message.sentAt === 'string', `${e.type} keeps the batch sentAt`);
    }

    const historical = await exactlyOne(h, { type: 'track', name: 'Signed Up' });
    assert.equal(historical.messageId, 'node-fixed-id-1', 'a caller-supplied messageId is kept');
    assert.equal(historical.anonymousId, 'anon-node-2');
    assert.equal(historical.timestamp, HISTORICAL, 'a caller-supplied historical timestamp is the event time');
    assert.ok(Date.parse(historical.receivedAt) > Date.parse(HISTORICAL), 'receivedAt is the server clock, not the event time');
    assert.deepEqual(historical.message.properties, historicalProps);
    // The event-time filter sees the historical event where it happened.
    const in2024 = await listEvents(h, { from: '2024-01-01T00:00:00.000Z', to: '2024-12-31T00:00:00.000Z' });
    assert.deepEqual(
      in2024.map((e) => e.messageId),
      ['node-fixed-id-1'],
    );
  });
});
