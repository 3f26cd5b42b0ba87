/** CSV import through the admin API: durable on 200, rows become profiles and events, bad rows reported. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTessera, type Harness } from '../support/harness.ts';

describe('CSV import API', () => {
  let h: Harness;
  before(async () => (h = await startTessera()));
  after(() => h.close());

  const post = (csv: string, query: string, contentType = 'text/csv') =>
    h.admin(`/api/v1/sources/${h.sourceId}/imports?${query}`, { method: 'POST', body: csv, headers: { 'content-type': contentType } });

  it('imports contacts and purchases that join one profile by e-mail; a historical import never overwrites newer traits', async () => {
    const live = await fetch(`${h.url}/v1/identify`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${h.writeKey}:`).toString('base64')}` },
      body: JSON.stringify({ userId: 'u-9', traits: { email: 'zoe@example.com', plan: 'pro' }, timestamp: '2026-11-01T00:00:00Z' }),
    });
    assert.equal(live.status, 200);
    const contacts = await post(
      'email,first_name,plan,created_at\nZOE@example.com ,Zoe,free,2024-01-01T00:00:00Z\n,Nobody,free,2024-01-01\n',
      'kind=identify',
    );
    assert.equal(contacts.status, 200);
    const report = (await contacts.json()) as { rows: number; accepted: number; rejected: Array<{ row: number }> };
    assert.equal(report.rows, 2);
    assert.equal(report.accepted, 1);
    assert.deepEqual(
      report.rejected.map((r) => r.row),
      [2],
    );
    const purchases = await post(
      'email,order_id,revenue,purchased_at\nzoe@example.com,POS-1,42.5,2026-10-31T09:45:16Z\n',
      'kind=track&event=Order%20Completed',
    );
    assert.equal(purchases.status, 200);
    await h.drained();

    const profile = (await (await h.admin('/api/v1/profiles/lookup?type=email&value=zoe@example.com')).json()) as {
      id: string;
      traits: Record<string, unknown>;
    };
    assert.equal(profile.traits.first_name, 'Zoe');
    assert.equal(profile.traits.plan, 'pro', 'the 2024 CRM row is older than the live identify: it does not overwrite');
    const events = (await (await h.admin(`/api/v1/profiles/${profile.id}/events`)).json()) as {
      items: Array<{ name: string | null; message: { properties?: Record<string, unknown> } }>;
    };
    const order = events.items.find((e) => e.name === 'Order Completed');
    assert.deepEqual(order?.message.properties, { order_id: 'POS-1', revenue: 42.5, purchased_at: '2026-10-31T09:45:16Z' });
  });

  it('refuses text that is not CSV, and an unknown source, with the one error body', async () => {
    const bad = await post('a,b\n"unterminated,1\n', 'kind=identify');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'invalid_body');
    const unknown = await h.admin('/api/v1/sources/nope/imports', {
      method: 'POST',
      body: 'userId\nx\n',
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(unknown.status, 404);
    assert.equal((await fetch(`${h.url}/api/v1/sources/${h.sourceId}/imports`, { method: 'POST', body: 'userId\nx\n' })).status, 401);
  });
});
