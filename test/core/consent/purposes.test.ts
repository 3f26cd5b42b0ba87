/** Purposes and category aliases as validated config. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CONSENT_CONFIG, purposesOfCategory, validateConsentConfig } from '../../../src/core/consent/index.ts';

describe('validateConsentConfig', () => {
  it('accepts the defaults', () => {
    assert.ok(validateConsentConfig(DEFAULT_CONSENT_CONFIG).ok);
  });

  const withPurposes = (extra: object) => ({ ...DEFAULT_CONSENT_CONFIG, ...extra });
  const refused: Array<[string, unknown, string, string]> = [
    [
      'a duplicate purpose',
      withPurposes({ purposes: [...DEFAULT_CONSENT_CONFIG.purposes, { id: 'analytics', name: 'Again', defaultWhenUnknown: 'granted' }] }),
      '/purposes/5/id',
      "duplicate purpose 'analytics'",
    ],
    [
      'an alias to an unknown purpose',
      withPurposes({ categoryAliases: { Cookies: ['tracking'] } }),
      '/categoryAliases/Cookies/0',
      "unknown purpose 'tracking'",
    ],
    [
      'two aliases differing only in case',
      withPurposes({ categoryAliases: { Ads: ['advertising'], ADS: ['advertising'] } }),
      '/categoryAliases/ADS',
      "'ADS' and 'Ads' are the same category ignoring case",
    ],
    [
      'a purpose without a default',
      withPurposes({ purposes: [{ id: 'analytics', name: 'Analytics' }] }),
      '/purposes/0',
      'must have required properties defaultWhenUnknown',
    ],
    ['an unknown email default', withPurposes({ emailWithoutSubscription: 'maybe' }), '/emailWithoutSubscription', ''],
  ];
  for (const [name, json, path, message] of refused) {
    it(`refuses ${name}`, () => {
      const result = validateConsentConfig(json);
      assert.ok(!result.ok);
      const problem = result.problems.find((p) => p.path === path);
      assert.ok(problem, JSON.stringify(result.problems));
      if (message !== '') assert.equal(problem.message, message);
    });
  }
});

describe('purposesOfCategory', () => {
  const cases: Array<[string, readonly string[] | undefined]> = [
    ['Advertising', ['advertising']],
    ['  marketing ', ['advertising']],
    ['C0002', ['analytics']],
    ['C0001', []],
    ['email_marketing', ['email_marketing']],
    ['SMS marketing', ['sms_marketing']],
    ['Cookies', undefined],
  ];
  for (const [category, purposes] of cases) {
    it(`reads '${category}' as ${JSON.stringify(purposes)}`, () =>
      assert.deepEqual(purposesOfCategory(DEFAULT_CONSENT_CONFIG, category), purposes));
  }
});
