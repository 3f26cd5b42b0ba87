/** Log bodies are stored as ASCII JSON: the same value, every non-ASCII character escaped. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { asciiJson } from '../../src/log/ascii-json.ts';

const isAscii = (s: string) => /^[\x00-\x7f]*$/.test(s);

describe('asciiJson', () => {
  it('escapes accented letters, CJK and astral characters (as surrogate pairs), and leaves ASCII text as it is', () => {
    assert.equal(asciiJson('{"name":"José"}'), '{"name":"Jos\\u00e9"}');
    assert.equal(asciiJson('["東京","😀"]'), '["\\u6771\\u4eac","\\ud83d\\ude00"]');
    const plain = '{"a":"plain \\"quoted\\" text","b":[1,2.5,null,true]}';
    assert.equal(asciiJson(plain), plain, 'ASCII text is returned unchanged');
  });

  it('any JSON value: the escaped text is ASCII and parses to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'grapheme' }), (value, extra) => {
        const text = JSON.stringify({ value, extra, [extra]: 'key' });
        const escaped = asciiJson(text);
        assert.ok(isAscii(escaped));
        assert.deepEqual(JSON.parse(escaped), JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });
});
