/** Suppression keys: a keyed hash of the standardised identifier, never the identifier itself. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSuppressed, suppressionKey } from '../../../src/core/privacy/index.ts';

describe('suppressionKey', () => {
  const ada = { type: 'email', value: 'ada@example.com' };

  it('is the hex HMAC-SHA256 of type:value, and holds no trace of the value', () => {
    const key = suppressionKey('s3cret', ada);
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.equal(key.includes('ada'), false);
    assert.equal(suppressionKey('s3cret', ada), key);
  });

  it('differs by type, value and secret', () => {
    const keys = new Set([
      suppressionKey('s3cret', ada),
      suppressionKey('s3cret', { type: 'user_id', value: 'ada@example.com' }),
      suppressionKey('s3cret', { type: 'email', value: 'bob@example.com' }),
      suppressionKey('other', ada),
    ]);
    assert.equal(keys.size, 4);
  });

  it('matches any identifier of an event against the list', () => {
    const list = new Set([suppressionKey('s3cret', ada)]);
    assert.equal(isSuppressed(list, 's3cret', [{ type: 'anonymous_id', value: 'a1' }, ada]), true);
    assert.equal(isSuppressed(list, 's3cret', [{ type: 'anonymous_id', value: 'a1' }]), false);
  });
});
