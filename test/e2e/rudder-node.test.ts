/**
 * End to end with the real, unmodified `@rudderstack/rudder-sdk-node` client with its defaults: gzip
 * bodies labelled `application/x-www-form-urlencoded`, Basic auth only, `originalTimestamp` + `sentAt`
 * instead of `timestamp`. Every call must come back out of `GET /api/v1/events` exactly once, intact,
 * with its event time corrected for clock skew.
 */
import Analytics from '@rudderstack/rudder-sdk-node';
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

const USER = 'u-rudder-1';
const ANON = 'anon-rudder-1';
const HISTORICAL = '2024-01-02T03:04:05.000Z';

const traits = { email: 'grace@example.com', plan: 'enterprise', seats: 25 };
const trackProps = {
  revenue: 99.99,
  currency: 'USD',
  note: 'naïve café ☕️ 👩🏽‍💻 中文',
  order: {
    id: 'o-1',
    lines: [
      { sku: 'X', qty: 3 },
      { sku: 'Y', qty: 1, meta: { gift: true } },
    ],
    discount: null,
  },
};
const pageProps = { url: 'https://app.example/pricing', referrer: 'https://search.example/?q=cdp' };
const screenProps = { tab: 'billing', index: 4 };
const groupTraits = { name: 'Globex', employees: 5000 };

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('@rudderstack/rudder-sdk-node 3.0 (gzip + form content type) against Tessera', () => {
  let h: Harness;
  before(async () => {
    h = await startTessera();
  });
  after(async () => {
    await h?.close();
  });

  test('identify, track, page, screen, group and alias arrive once each, intact, with skew-corrected times', async () => {
    const wire = recordExchanges(h);
    const handlerErrors: unknown[] = [];
    // Without an errorHandler a failed flush rejects unhandled and would crash the test process.
    const client = new Analytics(h.writeKey, {
      dataPlaneUrl: h.url,
      flushAt: 3,
      flushInterval: 500,
      retryCount: 1,
      logLevel: 'error',
      errorHandler: (err: unknown) => handlerErrors.push(err),
    });
    // Each call's callback runs once its batch was answered (with the error, if any).
    const delivered: Promise<unknown>[] = [];
    const cb = () => {
      let resolve!: (err: unknown) => void;
      delivered.push(new Promise((r) => (resolve = r)));
      return (err?: unknown) => resolve(err ?? null);
    };

    client.identify({ userId: USER, traits }, cb());
    client.track({ userId: USER, event: 'Plan Upgraded', properties: trackProps }, cb());
    client.page({ anonymousId: ANON, name: 'Pricing', category: 'Marketing', properties: pageProps }, cb());
    client.screen({ userId: USER, name: 'Billing', properties: screenProps }, cb());
    client.group({ userId: USER, groupId: 'g-globex', traits: groupTraits }, cb());
    client.alias({ userId: USER, previousId: ANON }, cb());
    client.track(
      { anonymousId: 'anon-rudder-2', event: 'Imported', timestamp: new Date(HISTORICAL), properties: { source: 'backfill' } },
      cb(),
    );

    await withTimeout(client.flush(), WAIT_MS, 'rudder flush');
    const results = await withTimeout(Promise.all(delivered), WAIT_MS, 'every rudder batch to be answered');
    assert.deepEqual(handlerErrors, [], 'the errorHandler was never called');
    assert.deepEqual(results, Array(7).fill(null), 'every call was delivered without error');
    wire.stop();
    // The SDK's defaults really were on the wire: gzip bodies labelled as a form, Basic auth, /v1/batch.
    // Its first event goes out alone, then flushAt 3: batches of 1, 3 and 3.
    const posts = wire.seen.filter((x) => x.method === 'POST');
    assert.equal(posts.length, 3, `three batch requests: ${JSON.stringify(posts.map((x) => x.path))}`);
    for (const x of posts) {
      assert.equal(x.path, '/v1/batch');
      assert.equal(x.status, 200);
      assert.equal(x.headers['content-encoding'], 'gzip');
      assert.equal(x.headers['content-type'], 'application/x-www-form-urlencoded');
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
      assert.match(e.messageId, UUID_V4, 'rudder messageIds are uuid v4');
      assert.equal(e.message.channel, 'server');
      assert.equal((objectField(e, 'context').library as Record<string, unknown>).name, 'analytics-node');
    }

    const identify = await exactlyOne(h, { type: 'identify', userId: USER });
    assert.deepEqual(identify.message.traits, traits);
    assert.deepEqual(objectField(identify, 'context').traits, traits, 'rudder also copies traits into context.traits');

    const track = await exactlyOne(h, { type: 'track', name: 'Plan Upgraded' });
    assert.equal(track.userId, USER);
    assert.equal(track.message.event, 'Plan Upgraded');
    assert.deepEqual(track.message.properties, trackProps, 'nested objects, numbers, null and unicode survive gzip');

    const page = await exactlyOne(h, { type: 'page', anonymousId: ANON });
    assert.equal(page.userId, null);
    assert.equal(page.name, 'Pricing');
    assert.equal(page.message.category, 'Marketing');
    assert.deepEqual(page.message.properties, pageProps);

    const screen = await exactlyOne(h, { type: 'screen', userId: USER });
    assert.equal(screen.name, 'Billing');
    assert.deepEqual(screen.message.properties, screenProps);

    const group = await exactlyOne(h, { type: 'group', userId: USER });
    assert.equal(group.message.groupId, 'g-globex');
    assert.deepEqual(group.message.traits, groupTraits);

    const alias = await exactlyOne(h, { type: 'alias', userId: USER });
    assert.equal(alias.message.previousId, ANON);

    // Clock skew: rudder sends no timestamp, only originalTimestamp (client clock at the call) and sentAt
    // (client clock at the flush). Tessera's event time is receivedAt − (sentAt − originalTimestamp).
    for (const e of [identify, track, page, screen, group, alias]) {
      const { originalTimestamp, sentAt } = e.message;
      assert.equal(typeof originalTimestamp, 'string', `${e.type} carries originalTimestamp`);
      assert.equal(typeof sentAt, 'string', `${e.type} carries sentAt`);
      const expected = Date.parse(e.receivedAt) - (Date.parse(sentAt as string) - Date.parse(originalTimestamp as string));
      assert.equal(Date.parse(e.timestamp), expected, `${e.type}: timestamp = receivedAt − (sentAt − originalTimestamp)`);
      const lag = Date.parse(e.receivedAt) - Date.parse(e.timestamp);
      assert.ok(lag >= 0 && lag <= 10_000, `${e.type}: the skew-corrected time is within seconds of receivedAt (lag ${lag} ms)`);
    }

    // An explicit timestamp (a historical import) wins over the skew correction.
    const historical = await exactlyOne(h, { type: 'track', name: 'Imported' });
    assert.equal(historical.anonymousId, 'anon-rudder-2');
    assert.equal(historical.timestamp, HISTORICAL);
    assert.equal(typeof historical.message.originalTimestamp, 'string', 'originalTimestamp is kept alongside');
    assert.deepEqual(historical.message.properties, { source: 'backfill' });
  });
});
