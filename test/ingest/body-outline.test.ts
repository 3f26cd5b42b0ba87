/**
 * The edge's outline of a body must say exactly what parsing the body would: the scan either vouches
 * for a body (and then `JSON.parse` accepts it and agrees on the object, its writeKey and its batch
 * length) or hands it to `JSON.parse`. Compared against `JSON.parse` on generated bodies, valid and broken.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { outlineJson, outlineOf, type BodyOutline } from '../../src/ingest/body-outline.ts';
import { asciiJsonFromUtf8 } from '../../src/log/ascii-json.ts';

const outline = (text: string) => outlineJson(Buffer.from(text, 'utf8'));

/** What the slow path says of these bytes: the parsed outline, or 'invalid'. */
function reference(bytes: Uint8Array): BodyOutline | 'invalid' {
  try {
    return outlineOf(JSON.parse(asciiJsonFromUtf8(Buffer.from(bytes))));
  } catch {
    return 'invalid';
  }
}

/** The scan never disagrees with parsing: it vouches only for valid bodies, and then says the same. */
function agrees(bytes: Uint8Array): BodyOutline | null {
  const got = outlineJson(bytes);
  const want = reference(bytes);
  if (got !== null) {
    assert.notEqual(want, 'invalid', `vouched for invalid JSON: ${Buffer.from(bytes).toString()}`);
    assert.deepEqual(got, want);
  }
  return got;
}

/** A top-level key JSON.stringify writes with an escape (the scan leaves those bodies to JSON.parse). */
const escapedTopKey = (v: unknown) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).some((k) => JSON.stringify(k) !== `"${k}"`);

const value = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' });
const body = fc
  .record(
    {
      batch: fc.oneof(fc.array(value, { maxLength: 12 }), value),
      writeKey: fc.oneof(fc.string({ unit: 'binary' }), value),
      context: value,
    },
    { requiredKeys: [] },
  )
  .chain((known) =>
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), value, { maxKeys: 4 }).map((extra) => ({ ...extra, ...known })),
  );
const layout = fc.constantFrom<[number | string | undefined]>([undefined], [2], ['\t'], [' \r\n ']);

describe('body outline: agreement with JSON.parse', () => {
  it('vouches for every valid body, whatever its layout, and says what parsing says', () => {
    fc.assert(
      fc.property(fc.oneof(body, value), layout, (v, [indent]) => {
        // JSON.stringify accepts only spaces and tabs as indentation; other whitespace is spliced in by hand.
        const text =
          typeof indent === 'string' && indent.includes('\n')
            ? JSON.stringify(v, null, 1).replaceAll('\n', `\n${indent}`)
            : JSON.stringify(v, null, indent);
        const got = agrees(Buffer.from(text, 'utf8'));
        if (!escapedTopKey(v)) assert.notEqual(got, null, `left a valid body to JSON.parse: ${text}`);
      }),
      { numRuns: 500 },
    );
  });

  it('never vouches for a broken body (valid bodies with characters deleted, inserted or replaced)', () => {
    const edit = fc.tuple(
      fc.constantFrom('delete', 'insert', 'replace'),
      fc.nat(),
      fc.constantFrom(...'{}[]",:\\ -+.eE0123456789tfnulx\u0000\u001f\u00e9'),
    );
    let vouched = 0;
    fc.assert(
      fc.property(body, fc.array(edit, { minLength: 1, maxLength: 3 }), (v, edits) => {
        let text = JSON.stringify(v);
        for (const [kind, at, ch] of edits) {
          const i = at % (text.length + 1);
          text =
            kind === 'delete'
              ? text.slice(0, i) + text.slice(i + 1)
              : kind === 'insert'
                ? text.slice(0, i) + ch + text.slice(i)
                : text.slice(0, i) + ch + text.slice(i + 1);
        }
        if (agrees(Buffer.from(text, 'utf8')) !== null) vouched++;
      }),
      { numRuns: 1_000 },
    );
    // Some edits leave valid JSON (inside a string, say): the scan must have accepted those too.
    assert.ok(vouched > 0);
  });

  it('never vouches for arbitrary bytes that do not parse (invalid UTF-8 included)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        agrees(bytes);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('body outline: the cases in words', () => {
  it('reads the batch length and the write key of a batch body', () => {
    assert.deepEqual(outline('{"writeKey":"wk_1","batch":[{"type":"track"},{"type":"page"}],"sentAt":"2026-01-01T00:00:00Z"}'), {
      isObject: true,
      writeKey: 'wk_1',
      batchLength: 2,
    });
    assert.deepEqual(outline(' { "batch" : [ ] } '), { isObject: true, writeKey: undefined, batchLength: 0 });
    assert.deepEqual(outline('{}'), { isObject: true, writeKey: undefined, batchLength: null });
  });

  it('counts only the top-level batch, and the last of duplicate keys wins, as in JSON.parse', () => {
    assert.equal(outline('{"context":{"batch":[1,2,3]},"batch":[[1,2],[3]]}')?.batchLength, 2);
    assert.equal(outline('{"batch":[1,2,3],"batch":[1]}')?.batchLength, 1);
    assert.equal(outline('{"batch":[1,2,3],"batch":{"a":1}}')?.batchLength, null);
    assert.equal(outline('{"writeKey":"a","writeKey":7}')?.writeKey, undefined);
  });

  it('decodes an escaped or non-ASCII write key exactly as parsing would', () => {
    assert.equal(outline('{"writeKey":"k\\u00e9y\\n"}')?.writeKey, 'kéy\n');
    assert.equal(outline('{"writeKey":"clé"}')?.writeKey, 'clé');
    // A body that is a view into a larger buffer (Node pools small buffers): offsets are the view's.
    const pooled = Buffer.from('{"writeKey":"decoy"}{"writeKey":"w\\u00e9"}', 'utf8').subarray(20);
    assert.equal(outlineJson(pooled)?.writeKey, 'wé');
  });

  it('says a body that is not an object is one', () => {
    for (const text of ['[]', '[{"batch":[]}]', '"text"', '12', 'null', 'true']) {
      assert.deepEqual(outline(text), { isObject: false, writeKey: undefined, batchLength: null }, text);
    }
  });

  it('leaves to JSON.parse what it cannot vouch for', () => {
    const cases = {
      'an empty body': '',
      'only whitespace': ' \n',
      'a byte-order mark': '\ufeff{}',
      'trailing text': '{} x',
      'a trailing comma': '{"batch":[1,],}',
      'a missing value': '{"batch":}',
      'single quotes': "{'batch':[]}",
      'a bare word': '{"a":undefined}',
      'a leading zero': '{"a":01}',
      'a bare dot': '{"a":1.}',
      'a leading dot': '{"a":.5}',
      'a plus sign': '{"a":+1}',
      'an empty exponent': '{"a":1e}',
      'a lone minus': '{"a":-}',
      NaN: '{"a":NaN}',
      'a raw control character in a string': '{"a":"x\ty"}',
      'a raw unit separator (the last control character) in a string': '{"a":"x\u001fy"}',
      'an unknown escape': '{"a":"\\x41"}',
      'a short unicode escape': '{"a":"\\u12"}',
      'an unterminated string': '{"a":"abc',
      'a non-ASCII character outside strings': '{"a":1é}',
      'a truncated literal': '{"a":tru}',
      'a top-level key written with escapes': '{"b\\u0061tch":[1]}',
      'nesting deeper than the scan follows': `{"a":${'['.repeat(200)}${']'.repeat(200)}}`,
    };
    for (const [name, text] of Object.entries(cases)) assert.equal(outline(text), null, name);
  });

  it('accepts what JSON allows that is easy to get wrong', () => {
    const text =
      '{"n":[0,-0,1.5e+10,-2E-3,10,0.25],"s":"\\"\\\\\\/\\b\\f\\n\\r\\t\\uD83D\\uDE00 \u2028 😀","l":[true,false,null],"e":{},"a":[]}';
    assert.deepEqual(outline(text), outlineOf(JSON.parse(text)));
  });
});
