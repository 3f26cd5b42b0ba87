/** Log bodies are stored as ASCII JSON: the same value, every non-ASCII character escaped. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { asciiJson, asciiJsonFromUtf8 } from '../../src/log/ascii-json.ts';

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

describe('asciiJsonFromUtf8', () => {
  const viaString = (bytes: Buffer) => asciiJson(bytes.toString('utf8'));

  it('equals decoding the bytes as UTF-8, then escaping', () => {
    for (const text of ['', 'plain', '{"name":"José"}', '["東京","😀"]', 'é', 'a€b', '😀😀x😀']) {
      const bytes = Buffer.from(text, 'utf8');
      assert.equal(asciiJsonFromUtf8(bytes), viaString(bytes), text);
    }
  });

  it('any bytes, valid UTF-8 or not, at any alignment: the same text as decoding the whole, then escaping', () => {
    // Bytes biased towards the non-ASCII range, so invalid and truncated sequences are common.
    const byte = fc.oneof(
      fc.integer({ min: 0, max: 0x7f }),
      fc.integer({ min: 0x80, max: 0xff }),
      fc.constantFrom(0xc3, 0xe2, 0xf0, 0x80, 0xbf),
    );
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 80 }), fc.integer({ min: 0, max: 7 }), (values, offset) => {
        // A view at an odd offset of a larger buffer, as the body of a request can be.
        const backing = Buffer.alloc(values.length + offset + 3, 0x41);
        Buffer.from(values).copy(backing, offset);
        const bytes = backing.subarray(offset, offset + values.length);
        const escaped = asciiJsonFromUtf8(bytes);
        assert.ok(isAscii(escaped));
        assert.equal(escaped, viaString(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('any JSON text: the same value, pure ASCII', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'grapheme' }), (value, extra) => {
        const text = JSON.stringify({ value, extra });
        const escaped = asciiJsonFromUtf8(Buffer.from(text, 'utf8'));
        assert.ok(isAscii(escaped));
        assert.deepEqual(JSON.parse(escaped), JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });
});
