import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  extractIdentifiers,
  identifierKey,
  parseIdentifierKey,
  standardiseEmail,
  standardisePhone,
} from '../../../src/core/identity/index.ts';
import { aGroup, anAlias, anIdentify, aTrack } from './builders.ts';

const keys = (e: ReturnType<typeof extractIdentifiers>): string[] => e.identifiers.map(identifierKey);

describe('extractIdentifiers', () => {
  it('takes every person identifier of an event, standardised, in a fixed order', () => {
    const event = anIdentify({
      userId: 'u1',
      anonymousId: 'a1',
      traits: { email: '  Ada@Example.COM', phone: '(201) 555-0123' },
      context: {
        traits: { email: 'ada@work.example', phone: '+44 20 7946 0958' },
        device: { id: 'dev-1', advertisingId: 'idfa-1', token: 'push-1' },
        externalIds: [{ id: 'cus_42', type: 'Stripe Customer', collection: 'users', encoding: 'none' }],
      },
    });
    const got = extractIdentifiers(event);
    assert.deepEqual(keys(got), [
      'user_id:u1',
      'anonymous_id:a1',
      'email:ada@example.com',
      'email:ada@work.example',
      'phone:+12015550123',
      'phone:+442079460958',
      'device_id:dev-1',
      'advertising_id:idfa-1',
      'push_token:push-1',
      'stripe_customer:cus_42',
    ]);
    assert.deepEqual(got.warnings, []);
  });

  it('skips the advertising id when ad tracking is off', () => {
    const got = extractIdentifiers(
      aTrack({ anonymousId: 'a1', context: { device: { advertisingId: 'idfa-1', adTrackingEnabled: false } } }),
    );
    assert.deepEqual(keys(got), ['anonymous_id:a1']);
  });

  it('flags invalid e-mails and phones and does not use them', () => {
    const got = extractIdentifiers(
      anIdentify({ userId: 'u1', traits: { email: 'not-an-email', phone: '12' }, context: { traits: { email: 42 } } }),
    );
    assert.deepEqual(keys(got), ['user_id:u1']);
    assert.deepEqual(got.warnings.map((w) => w.code).sort(), ['invalid_email', 'invalid_email', 'invalid_phone']);
  });

  it('reads phones without a country code in the configured region', () => {
    const got = extractIdentifiers(anIdentify({ userId: 'u1', traits: { phone: '020 7946 0958' } }), { defaultRegion: 'GB' });
    assert.deepEqual(keys(got), ['user_id:u1', 'phone:+442079460958']);
  });

  it("does not take a group's traits as the person's, but returns the groupId", () => {
    const got = extractIdentifiers(aGroup({ userId: 'u1', groupId: 'acme', traits: { email: 'billing@acme.example' } }));
    assert.deepEqual(keys(got), ['user_id:u1']);
    assert.equal(got.groupId, 'acme');
  });

  it('types an alias previousId as anonymous unless it is a known user id', () => {
    const event = anAlias({ userId: 'new', previousId: 'old' });
    assert.deepEqual(keys(extractIdentifiers(event)), ['user_id:new', 'anonymous_id:old']);
    assert.deepEqual(keys(extractIdentifiers(event, { isKnownUserId: (v) => v === 'old' })), ['user_id:new', 'user_id:old']);
  });

  it('de-duplicates and reports unusable external ids', () => {
    const got = extractIdentifiers(
      aTrack({
        userId: 'u1',
        context: {
          traits: { email: 'a@b.co' },
          externalIds: [{ id: 'A@B.co', type: 'email' }, { id: 'x' }, { type: 'crm' }, { id: { nested: true }, type: 'crm' }],
        },
      }),
    );
    assert.deepEqual(keys(got), ['user_id:u1', 'email:a@b.co']);
    assert.deepEqual(
      got.warnings.map((w) => w.code),
      ['invalid_external_id', 'invalid_external_id', 'invalid_identifier'],
    );
  });
});

describe('standardisation', () => {
  it('trims and lower-cases e-mails; treats empty as absent', () => {
    assert.deepEqual(standardiseEmail(' X@Y.Example '), { ok: true, identifier: { type: 'email', value: 'x@y.example' } });
    assert.deepEqual(standardiseEmail('   '), { ok: false, warning: null });
    assert.equal(standardiseEmail('a@b').ok, false);
    assert.equal(standardiseEmail('a b@c.de').ok, false);
  });

  it('writes phones in E.164', () => {
    const us = standardisePhone('+1 (201) 555-0123', 'US');
    assert.ok(us.ok && us.identifier.value === '+12015550123');
    assert.equal(standardisePhone('x'.repeat(100), 'US').ok, false);
  });

  it('round-trips identifier keys even when values contain colons', () => {
    assert.deepEqual(parseIdentifierKey(identifierKey({ type: 'crm', value: 'a:b:c' })), { type: 'crm', value: 'a:b:c' });
    assert.equal(parseIdentifierKey('nocolon'), null);
  });
});
