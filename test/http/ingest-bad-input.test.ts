/**
 * Bad input at the ingestion edge: each case gets a specific answer, and nothing good is lost with it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { basicAuth, startTessera, type Harness } from '../support/harness.ts';

let h: Harness;
before(async () => {
  h = await startTessera({ TESSERA_MAX_MESSAGE_BYTES: '4096', TESSERA_MAX_REQUEST_BYTES: '200000', TESSERA_MAX_INFLATED_BYTES: '400000' });
});
after(() => h.close());

const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  fetch(h.url + path, {
    method: 'POST',
    body,
    headers: { authorization: basicAuth(h.writeKey), 'content-type': 'application/json', ...headers },
  });

const track = (id: string, extra: Record<string, unknown> = {}) => ({ type: 'track', event: 'Ok', userId: 'u', messageId: id, ...extra });

async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { error: { code: string } };
  return body.error.code;
}

async function storedIds(tag: string): Promise<string[]> {
  await h.drained();
  const res = await h.admin('/api/v1/events?limit=1000');
  const { items } = (await res.json()) as { items: Array<{ messageId: string }> };
  return items.map((e) => e.messageId).filter((id) => id.startsWith(tag));
}

async function failedFor(messageId: string): Promise<{ reason: string; payload: string } | undefined> {
  await h.drained();
  const res = await h.admin('/api/v1/failed-events?limit=1000');
  const { items } = (await res.json()) as { items: Array<{ reason: string; messageId: string | null; payload: string }> };
  return items.find((f) => f.messageId === messageId || f.payload.includes(messageId));
}

describe('ingestion refuses bad requests with a specific error', () => {
  it('invalid JSON → 400 invalid_json', async () => {
    const res = await post('/v1/batch', '{"batch": [');
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'invalid_json');
  });

  it('missing write key → 401 missing_write_key', async () => {
    const res = await fetch(h.url + '/v1/batch', { method: 'POST', body: JSON.stringify({ batch: [track('x')] }) });
    assert.equal(res.status, 401);
    assert.equal(await errorCode(res), 'missing_write_key');
  });

  it('wrong write key → 401 invalid_write_key', async () => {
    const res = await post('/v1/batch', JSON.stringify({ batch: [track('x')] }), { authorization: basicAuth('nope') });
    assert.equal(res.status, 401);
    assert.equal(await errorCode(res), 'invalid_write_key');
  });

  it('a disabled source → 401, enabled again → 200', async () => {
    const s = await h.tessera.sources.create('to disable');
    await h.admin(`/api/v1/sources/${s.id}/disable`, { method: 'POST' });
    const refused = await post('/v1/batch', JSON.stringify({ batch: [track('dis-1')] }), { authorization: basicAuth(s.writeKey) });
    assert.equal(refused.status, 401);
    await h.admin(`/api/v1/sources/${s.id}/enable`, { method: 'POST' });
    const ok = await post('/v1/batch', JSON.stringify({ batch: [track('dis-2')] }), { authorization: basicAuth(s.writeKey) });
    assert.equal(ok.status, 200);
  });

  it('more messages than the batch limit → 400 too_many_messages', async () => {
    const batch = Array.from({ length: 2501 }, (_, i) => ({ type: 'track', event: 'E', userId: 'u', messageId: `many-${i}` }));
    const res = await post('/v1/batch', JSON.stringify({ batch }));
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'too_many_messages');
    assert.deepEqual(await storedIds('many-'), []);
  });

  it('a body over the request limit → 413 payload_too_large', async () => {
    const res = await post('/v1/batch', JSON.stringify({ batch: [track('big', { properties: { s: 'x'.repeat(300_000) } })] }));
    assert.equal(res.status, 413);
    assert.equal(await errorCode(res), 'payload_too_large');
  });

  it('a gzip bomb → 413 payload_too_large, without inflating it all', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(50_000_000, 0x20));
    assert.ok(bomb.length < 200_000);
    const res = await post('/v1/batch', bomb, { 'content-encoding': 'gzip' });
    assert.equal(res.status, 413);
    assert.equal(await errorCode(res), 'payload_too_large');
  });

  it('corrupt gzip → 400 invalid_gzip; an unknown encoding → 415', async () => {
    const bad = await post('/v1/batch', Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
    assert.equal(bad.status, 400);
    assert.equal(await errorCode(bad), 'invalid_gzip');
    const br = await post('/v1/batch', Buffer.from('{}'), { 'content-encoding': 'br' });
    assert.equal(br.status, 415);
  });

  it('a batch body without a batch array → 400 invalid_body', async () => {
    const res = await post('/v1/batch', JSON.stringify({ events: [] }));
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'invalid_body');
  });
});

describe('bad messages inside a good batch go to failed events; the rest is stored', () => {
  it('each invalid message gets its typed reason and its neighbours are kept', async () => {
    const deep: Record<string, unknown> = {};
    let cursor = deep;
    for (let i = 0; i < 100; i++) cursor = cursor.child = {};
    const batch = [
      track('mix-good-1'),
      { type: 'track', event: 'No ids', messageId: 'mix-noid' },
      { type: 'track', userId: 'u', messageId: 'mix-noname' },
      { type: 'bogus', userId: 'u', messageId: 'mix-type' },
      track('mix-props', { properties: 'not an object' }),
      track('mix-huge', { properties: { s: 'y'.repeat(10_000) } }),
      track('mix-deep', { properties: deep }),
      { type: 'group', userId: 'u', messageId: 'mix-nogroup' },
      { type: 'alias', userId: 'u', messageId: 'mix-noprev' },
      track('mix-time', { timestamp: 'yesterday-ish' }),
      track('x'.repeat(101)),
      'just a string',
      track('mix-good-2'),
    ];
    const res = await post('/v1/batch', JSON.stringify({ batch }));
    assert.equal(res.status, 200);
    assert.deepEqual((await storedIds('mix-good')).sort(), ['mix-good-1', 'mix-good-2']);
    const expected: Record<string, string> = {
      'mix-noid': 'missing_identity',
      'mix-noname': 'missing_event_name',
      'mix-type': 'unknown_type',
      'mix-props': 'invalid_field',
      'mix-huge': 'message_too_large',
      'mix-deep': 'too_deep',
      'mix-nogroup': 'missing_group_id',
      'mix-noprev': 'missing_previous_id',
      'mix-time': 'invalid_timestamp',
      ['x'.repeat(101)]: 'invalid_message_id',
      'just a string': 'not_an_object',
    };
    for (const [id, reason] of Object.entries(expected)) {
      const failed = await failedFor(id);
      assert.ok(failed, `failed event for ${id.slice(0, 20)}`);
      assert.equal(failed.reason, reason, `reason for ${id.slice(0, 20)}`);
    }
  });

  it('unicode, emoji and NUL bytes are stored intact (NUL as U+FFFD)', async () => {
    const props = { name: 'Zoë 👩‍💻 日本語', rtl: 'مرحبا', nul: 'a\u0000b', ['k\u0000ey']: 1 };
    const res = await post('/v1/batch', JSON.stringify({ batch: [track('uni-1', { properties: props })] }));
    assert.equal(res.status, 200);
    await h.drained();
    const { items } = (await (await h.admin('/api/v1/events?name=Ok&limit=1000')).json()) as {
      items: Array<{ messageId: string; message: { properties: Record<string, unknown> } }>;
    };
    const stored = items.find((e) => e.messageId === 'uni-1');
    assert.ok(stored);
    assert.deepEqual(stored.message.properties, { name: 'Zoë 👩‍💻 日本語', rtl: 'مرحبا', nul: 'a\uFFFDb', ['k\uFFFDey']: 1 });
  });

  it('invalid UTF-8 bytes inside a string are stored as U+FFFD, the rest of the text intact', async () => {
    const [head, tail] = JSON.stringify({ batch: [track('bad-utf8-1', { properties: { text: 'Zoë @@' } })] }).split('@@');
    const body = Buffer.concat([Buffer.from(head!, 'utf8'), Buffer.from([0x78, 0xff, 0x79, 0xe2, 0x82]), Buffer.from(tail!, 'utf8')]);
    const res = await post('/v1/batch', body);
    assert.equal(res.status, 200);
    await h.drained();
    const { items } = (await (await h.admin('/api/v1/events?name=Ok&limit=1000')).json()) as {
      items: Array<{ messageId: string; message: { properties: Record<string, unknown> } }>;
    };
    assert.deepEqual(items.find((e) => e.messageId === 'bad-utf8-1')?.message.properties, { text: 'Zoë x\uFFFDy\uFFFD' });
  });

  it('a huge string inside an accepted request is refused alone', async () => {
    const res = await post(
      '/v1/track',
      JSON.stringify({ event: 'Ok', userId: 'u', messageId: 'huge-single', properties: { s: 'z'.repeat(100_000) } }),
    );
    assert.equal(res.status, 200);
    assert.equal((await failedFor('huge-single'))?.reason, 'message_too_large');
  });
});

describe('duplicates are stored once', () => {
  it('within one batch, across batches, and across a restart', async () => {
    const batch = [track('dup-1'), track('dup-1'), track('dup-2')];
    assert.equal((await post('/v1/batch', JSON.stringify({ batch }))).status, 200);
    assert.equal((await post('/v1/batch', JSON.stringify({ batch }))).status, 200);
    assert.deepEqual((await storedIds('dup-')).sort(), ['dup-1', 'dup-2']);
    const deduplicated = await h.tessera.metrics.deduplicated.get();
    assert.ok((deduplicated.values[0]?.value ?? 0) >= 4, `deduplicated ${JSON.stringify(deduplicated.values)}`);

    const dataDir = h.dataDir;
    await h.close();
    h = await startTessera({}, dataDir);
    assert.equal((await post('/v1/batch', JSON.stringify({ batch: [track('dup-1'), track('dup-3')] }))).status, 200);
    assert.deepEqual((await storedIds('dup-')).sort(), ['dup-1', 'dup-2', 'dup-3']);
  });
});
