/** The admin API: credentials required, sources lifecycle, one error body, ops endpoints. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../support/eventually.ts';
import { basicAuth, startTessera, tempDir, type Harness } from '../support/harness.ts';

let h: Harness;
before(async () => (h = await startTessera()));
after(() => h.close());

const track = (writeKey: string, id: string) =>
  fetch(`${h.url}/v1/track`, {
    method: 'POST',
    headers: { authorization: basicAuth(writeKey) },
    body: JSON.stringify({ userId: 'u', event: 'E', messageId: id }),
  });

describe('admin API security', () => {
  for (const path of ['/api/v1/sources', '/api/v1/events', '/api/v1/failed-events', '/api/v1/pipeline', '/metrics']) {
    it(`${path} refuses a missing or wrong token with 401 unauthorized`, async () => {
      const attempts: Array<Record<string, string>> = [
        {},
        { authorization: 'Bearer wrong-token-wrong-token' },
        { authorization: basicAuth(h.writeKey) },
      ];
      for (const headers of attempts) {
        const res = await fetch(h.url + path, { headers });
        assert.equal(res.status, 401);
        const body = (await res.json()) as { error: { code: string; requestId: string; docs: string } };
        assert.equal(body.error.code, 'unauthorized');
        assert.ok(body.error.requestId.length > 0);
        assert.equal(body.error.docs, '/docs/errors#unauthorized');
      }
    });
  }
  it('a write key is not an admin credential, and the admin token is not a write key', async () => {
    const res = await track('test-admin-token-0123456789', 'x');
    assert.equal(res.status, 401);
  });
});

describe('sources', () => {
  it('create → 201 with a write key that works at once; list; get', async () => {
    const res = await h.admin('/api/v1/sources', { method: 'POST', body: JSON.stringify({ name: 'App' }) });
    assert.equal(res.status, 201);
    const s = (await res.json()) as { id: string; name: string; writeKey: string; enabled: boolean };
    assert.equal(s.name, 'App');
    assert.equal(s.enabled, true);
    assert.equal((await track(s.writeKey, 'src-1')).status, 200);
    const list = (await (await h.admin('/api/v1/sources')).json()) as { items: Array<{ id: string }> };
    assert.ok(list.items.some((x) => x.id === s.id));
    assert.equal((await h.admin(`/api/v1/sources/${s.id}`)).status, 200);
  });

  it('rotating the write key stops the old one at once', async () => {
    const s = (await (await h.admin('/api/v1/sources', { method: 'POST', body: JSON.stringify({ name: 'Rotate' }) })).json()) as {
      id: string;
      writeKey: string;
    };
    const rotated = (await (await h.admin(`/api/v1/sources/${s.id}/rotate-write-key`, { method: 'POST' })).json()) as { writeKey: string };
    assert.notEqual(rotated.writeKey, s.writeKey);
    assert.equal((await track(s.writeKey, 'rot-1')).status, 401);
    assert.equal((await track(rotated.writeKey, 'rot-2')).status, 200);
  });

  it('validation failures and unknown ids use the one error body', async () => {
    const bad = await h.admin('/api/v1/sources', { method: 'POST', body: JSON.stringify({ name: '' }) });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'validation_failed');
    const missing = await h.admin('/api/v1/sources/src_nope');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
    const rename = await h.admin('/api/v1/sources/src_nope', { method: 'PATCH', body: JSON.stringify({ name: 'x' }) });
    assert.equal(rename.status, 404);
  });
});

describe('events API', () => {
  it('filters by type and name and pages back with before', async () => {
    const batch = Array.from({ length: 5 }, (_, i) => ({ type: 'track', event: 'Paged', userId: 'pager', messageId: `pg-${i}` }));
    await fetch(`${h.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basicAuth(h.writeKey) },
      body: JSON.stringify({ batch }),
    });
    await h.drained();
    const first = (await (await h.admin('/api/v1/events?type=track&name=Paged&limit=3')).json()) as {
      items: Array<{ messageId: string }>;
      nextBefore: number;
    };
    assert.deepEqual(
      first.items.map((e) => e.messageId),
      ['pg-4', 'pg-3', 'pg-2'],
    );
    const rest = (await (await h.admin(`/api/v1/events?type=track&name=Paged&limit=3&before=${first.nextBefore}`)).json()) as {
      items: Array<{ messageId: string }>;
    };
    assert.deepEqual(
      rest.items.map((e) => e.messageId),
      ['pg-1', 'pg-0'],
    );
    const wrong = await h.admin('/api/v1/events?type=nonsense');
    assert.equal(wrong.status, 400);
  });
});

describe('operations', () => {
  it('healthz and readyz answer without credentials; metrics in Prometheus format with them', async () => {
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${h.url}/readyz`)).status, 200);
    const metrics = await h.admin('/metrics');
    assert.equal(metrics.status, 200);
    const text = await metrics.text();
    for (const name of [
      'tessera_ingest_accepted_messages_total',
      'tessera_ingest_rejected_messages_total',
      'tessera_ingest_deduplicated_messages_total',
      'tessera_pipeline_lag_seconds',
      'tessera_pipeline_backlog_messages',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name}`, 'm'));
    }
  });
  it('the pipeline status counts what the processor has yet to store, and the audience runner to evaluate', async () => {
    type Backlog = { items: number; oldestReceivedAt: string | null; lagSeconds: number };
    type Status = { ingest: Backlog; audiences: Backlog };
    const status = async (of: Harness) => {
      const res = await of.admin('/api/v1/pipeline');
      assert.equal(res.status, 200);
      return (await res.json()) as Status;
    };
    // An edge-only instance stores nothing: what it accepts waits in the durable log.
    const dataDir = tempDir();
    const edge = await startTessera({ TESSERA_PROCESSOR: 'off' }, dataDir);
    const sentAt = Date.now();
    try {
      const batch = ['p-1', 'p-2', 'p-3'].map((messageId) => ({ type: 'track', event: 'Waiting', userId: 'piper', messageId }));
      const res = await fetch(`${edge.url}/v1/batch`, {
        method: 'POST',
        headers: { authorization: basicAuth(edge.writeKey), 'content-type': 'application/json' },
        body: JSON.stringify({ batch }),
      });
      assert.equal(res.status, 200);
      const waiting = await status(edge);
      assert.equal(waiting.ingest.items, 3);
      assert.ok(Math.abs(Date.parse(waiting.ingest.oldestReceivedAt!) - sentAt) < 60_000, JSON.stringify(waiting.ingest));
      assert.ok(waiting.ingest.lagSeconds >= 0);
      assert.deepEqual(waiting.audiences, { items: 0, oldestReceivedAt: null, lagSeconds: 0 });
    } finally {
      await edge.close();
    }
    // A full instance on the same data drains it: the processor stores the three, the runner evaluates them.
    const full = await startTessera({}, dataDir);
    try {
      await full.drained();
      const done = await eventually('the audience runner to catch up', async () => {
        const s = await status(full);
        return s.audiences.items === 0 ? s : undefined;
      });
      assert.deepEqual(done, {
        ingest: { items: 0, oldestReceivedAt: null, lagSeconds: 0 },
        audiences: { items: 0, oldestReceivedAt: null, lagSeconds: 0 },
      });
    } finally {
      await full.close();
    }
  });
  it('serves the OpenAPI description and the docs page', async () => {
    const spec = (await (await fetch(`${h.url}/docs/json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    assert.match(spec.openapi, /^3\./);
    assert.ok(spec.paths['/api/v1/sources']);
    assert.equal((await fetch(`${h.url}/docs/`)).status, 200);
    const errors = await (await fetch(`${h.url}/docs/errors`)).text();
    assert.match(errors, /invalid_write_key/);
  });
  it('the browser SDK settings name the Segment.io integration', async () => {
    const res = await fetch(`${h.url}/v1/projects/${h.writeKey}/settings`);
    const body = (await res.json()) as { integrations: Record<string, { apiKey: string; apiHost: string }> };
    assert.equal(body.integrations['Segment.io']?.apiKey, h.writeKey);
  });
  it('answers CORS preflights with the allowed headers and a max age', async () => {
    const res = await fetch(`${h.url}/v1/t`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    assert.ok(res.status === 204 || res.status === 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://shop.example');
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /authorization/);
    assert.equal(res.headers.get('access-control-max-age'), '86400');
  });
});
