/** Collection policies: what a source keeps of an event, given consent stored and carried by the event. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_CONSENT_CONFIG, EMPTY_CONSENT, type ConsentState } from '../../../src/core/consent/index.ts';
import type { JsonObject, TrackedEvent } from '../../../src/core/event/event.ts';
import {
  applyCollectionPolicy,
  validateCollectionPolicy,
  type CollectionPolicy,
  type PolicyMode,
} from '../../../src/core/privacy/index.ts';
import { aDenial, aGrant, anEventWithConsent, consentOf, HOUR, T0 } from '../consent/builders.ts';

const SECRET = 'test-secret';
const hmac = (v: string) => createHmac('sha256', SECRET).update(v).digest('hex');

/** A page view from Ada, with personal data in the usual places. */
function adaPageView(input: { prefs?: JsonObject; at?: number } = {}): TrackedEvent {
  const event = anEventWithConsent({
    ...input,
    userId: 'ada-1',
    context: { ip: '203.0.113.9', userAgent: 'Mozilla/5.0', traits: { email: 'ada@example.com', plan: 'pro' }, page: { path: '/pricing' } },
    properties: { email: 'ada@example.com', plan: 'pro', first_name: 'Ada' },
  });
  event.message.anonymousId = 'anon-1';
  return { ...event, anonymousId: 'anon-1' };
}

const apply = (policy: CollectionPolicy, consent: ConsentState = EMPTY_CONSENT, event = adaPageView()) =>
  applyCollectionPolicy(event, policy, consent, T0 + HOUR, SECRET, DEFAULT_CONSENT_CONFIG);

describe('validateCollectionPolicy', () => {
  it('accepts a policy with field rules', () => {
    const json = {
      mode: 'anonymise',
      requiredPurpose: 'analytics',
      fieldRules: [{ path: 'context.ip', action: 'hash', unlessPurpose: 'advertising' }],
    };
    assert.ok(validateCollectionPolicy(json, DEFAULT_CONSENT_CONFIG).ok);
  });

  const refused: Array<[string, unknown, string]> = [
    ['an unknown mode', { mode: 'keep' }, '/mode'],
    [
      'a path outside properties, traits and context',
      { mode: 'store', fieldRules: [{ path: 'userId', action: 'remove' }] },
      '/fieldRules/0/path',
    ],
    ['a reserved key in a path', { mode: 'store', fieldRules: [{ path: 'properties.__proto__', action: 'remove' }] }, '/fieldRules/0/path'],
    ['an unknown purpose', { mode: 'drop', requiredPurpose: 'tracking' }, '/requiredPurpose'],
    ['an unknown action', { mode: 'store', fieldRules: [{ path: 'traits.email', action: 'mask' }] }, '/fieldRules/0/action'],
  ];
  for (const [name, json, path] of refused) {
    it(`refuses ${name}`, () => {
      const result = validateCollectionPolicy(json, DEFAULT_CONSENT_CONFIG);
      assert.ok(!result.ok);
      assert.ok(
        result.problems.some((p) => p.path === path),
        JSON.stringify(result.problems),
      );
    });
  }
});

describe('applyCollectionPolicy', () => {
  const modes: Array<[string, CollectionPolicy, ConsentState, PolicyMode, string]> = [
    [
      'stores when the required purpose is granted',
      { mode: 'drop', requiredPurpose: 'advertising' },
      consentOf(aGrant('advertising')),
      'store',
      'purpose:advertising:granted',
    ],
    [
      'applies the mode when it is refused',
      { mode: 'drop', requiredPurpose: 'advertising' },
      consentOf(aDenial('advertising')),
      'drop',
      'purpose:advertising:denied',
    ],
    [
      'applies the mode when nobody chose and it is denied by default',
      { mode: 'restrict', requiredPurpose: 'advertising' },
      EMPTY_CONSENT,
      'restrict',
      'purpose:advertising:denied_by_default',
    ],
    [
      'stores when the default allows it',
      { mode: 'drop', requiredPurpose: 'analytics' },
      EMPTY_CONSENT,
      'store',
      'purpose:analytics:granted_by_default',
    ],
    [
      'applies the mode always without a required purpose',
      { mode: 'anonymise' },
      consentOf(aGrant('analytics')),
      'anonymise',
      'mode:anonymise',
    ],
  ];
  for (const [name, policy, consent, action, decision] of modes) {
    it(name, () => {
      const plan = apply(policy, consent);
      assert.equal(plan.action, action);
      assert.ok(plan.decisions.includes(decision), plan.decisions.join(', '));
    });
  }

  it("lets the event's own newer choice win over the stored one", () => {
    const storedGrant = consentOf(aGrant('advertising', { at: T0 }));
    const refusedOnEvent = adaPageView({ prefs: { Advertising: false }, at: T0 + HOUR });
    assert.equal(apply({ mode: 'drop', requiredPurpose: 'advertising' }, storedGrant, refusedOnEvent).action, 'drop');
  });

  it('does not let an older choice on a late event override a newer stored one', () => {
    const storedGrant = consentOf(aGrant('advertising', { at: T0 + HOUR }));
    const lateRefusal = adaPageView({ prefs: { Advertising: false }, at: T0 });
    assert.equal(apply({ mode: 'drop', requiredPurpose: 'advertising' }, storedGrant, lateRefusal).action, 'store');
  });

  it('removes and hashes fields unless their purpose is allowed', () => {
    const policy: CollectionPolicy = {
      mode: 'store',
      fieldRules: [
        { path: 'properties.email', action: 'hash' },
        { path: 'context.ip', action: 'remove' },
        { path: 'context.userAgent', action: 'remove', unlessPurpose: 'analytics' },
        { path: 'properties.missing', action: 'remove' },
      ],
    };
    const plan = apply(policy);
    const message = plan.event.message as { properties: JsonObject; context: JsonObject };
    assert.equal(message.properties.email, hmac('ada@example.com'));
    assert.equal('ip' in message.context, false);
    assert.equal(message.context.userAgent, 'Mozilla/5.0');
    assert.deepEqual(plan.decisions, ['mode:store', 'hash:properties.email', 'remove:context.ip']);
  });

  it('anonymises: no identity and no personal data, the rest kept', () => {
    const plan = apply({ mode: 'anonymise', requiredPurpose: 'advertising' });
    assert.equal(plan.event.userId, null);
    assert.equal(plan.event.anonymousId, null);
    const { userId, anonymousId, properties, context } = plan.event.message as JsonObject & { properties: JsonObject; context: JsonObject };
    assert.deepEqual([userId, anonymousId], [undefined, undefined]);
    assert.deepEqual(properties, { plan: 'pro' });
    assert.deepEqual(context.traits, { plan: 'pro' });
    assert.deepEqual(context.page, { path: '/pricing' });
    assert.ok(plan.decisions.includes('anonymise:context.ip'));
    assert.ok(plan.decisions.includes('anonymise:properties.first_name'));
  });

  it('reports categories on the event it cannot read', () => {
    const plan = apply({ mode: 'store' }, EMPTY_CONSENT, adaPageView({ prefs: { Cookies: true } }));
    assert.ok(plan.decisions.includes('consent:unknown_category:Cookies'));
  });

  it('never changes the event it is given', () => {
    const policy = fc.record({
      mode: fc.constantFrom<PolicyMode>('store', 'restrict', 'anonymise', 'drop'),
      requiredPurpose: fc.constantFrom('analytics', 'advertising'),
      fieldRules: fc.array(
        fc.record({
          path: fc.constantFrom('properties.email', 'context.ip', 'context.traits.email', 'traits.phone'),
          action: fc.constantFrom('remove' as const, 'hash' as const),
        }),
      ),
    });
    fc.assert(
      fc.property(policy, fc.boolean(), (p, granted) => {
        const event = adaPageView({ prefs: { Advertising: granted } });
        const before = structuredClone(event);
        apply(p, EMPTY_CONSENT, event);
        assert.deepEqual(event, before);
      }),
    );
  });

  it('throws on an empty hash secret: a configuration bug', () => {
    assert.throws(() =>
      applyCollectionPolicy(adaPageView(), { mode: 'store', fieldRules: [{ path: 'context.ip', action: 'hash' }] }, EMPTY_CONSENT, T0, ''),
    );
  });
});
