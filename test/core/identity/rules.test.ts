import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileRules, DEFAULT_RULES, isJunkValue, rejectionOf, validateRules } from '../../../src/core/identity/index.ts';

describe('junk values', () => {
  const junk = [
    'anonymous',
    'null',
    'NULL',
    'undefined',
    '0',
    '-1',
    'NaN',
    '[object Object]',
    '',
    '   ',
    'guest',
    'none',
    'nil',
    'unknown',
    'anonymousId',
    'user_id',
    'userId',
    '"null"',
    "'null'",
    '""',
    "''",
    '000',
    '00000000-0000-0000-0000-000000000000',
    ' Anonymous ',
    '-',
  ];
  const fine = ['u1', 'a1b2', '10', 'null-island', 'guest-42', '0x1', 'anonymous1'];
  for (const v of junk) it(`refuses ${JSON.stringify(v)}`, () => assert.equal(isJunkValue(v), true));
  for (const v of fine) it(`accepts ${JSON.stringify(v)}`, () => assert.equal(isJunkValue(v), false));
});

describe('rules', () => {
  it('has the documented defaults', () => {
    assert.equal(DEFAULT_RULES.forType('user_id').limit, 1);
    assert.equal(DEFAULT_RULES.forType('email').limit, 5);
    assert.deepEqual(
      ['user_id', 'email', 'phone'].map((t) => DEFAULT_RULES.forType(t).priority),
      [1, 2, 3],
    );
    assert.ok(DEFAULT_RULES.forType('anonymous_id').priority > DEFAULT_RULES.forType('crm_id').priority);
    assert.equal(DEFAULT_RULES.maxMerges, 100);
    assert.equal(DEFAULT_RULES.maxIdentifiers, 1000);
  });

  it('blocks exact values (e-mails compared standardised) and patterns', () => {
    const rules = compileRules({
      identifiers: { email: { blocked: ['Test@Example.com'] }, anonymous_id: { blockedPatterns: ['^test-'] } },
    });
    assert.equal(rejectionOf({ type: 'email', value: 'test@example.com' }, rules), 'blocked_value');
    assert.equal(rejectionOf({ type: 'anonymous_id', value: 'test-123' }, rules), 'blocked_value');
    assert.equal(rejectionOf({ type: 'anonymous_id', value: 'null' }, rules), 'junk_value');
    assert.equal(rejectionOf({ type: 'anonymous_id', value: 'a-test-1' }, rules), null);
  });

  it('explains every problem of invalid rules by path', () => {
    const result = validateRules({
      identifiers: {
        user_id: { limit: 0, priorty: 1 },
        email: { blockedPatterns: ['(unclosed'] },
        'Bad Type': {},
        phone: { blocked: [1] },
      },
      maxMerges: -1,
      extra: true,
    });
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    const text = result.errors.join('\n');
    for (const part of [
      'identifiers.user_id.limit: must be an integer >= 1, got 0',
      'identifiers.user_id.priorty: unknown field',
      'identifiers.email.blockedPatterns[0]: not a valid regular expression',
      'identifiers.Bad Type: type names are lower-case',
      'identifiers.phone.blocked[0]: must be a string, got 1',
      'maxMerges: must be an integer >= 0, got -1',
      'extra: unknown field',
    ]) {
      assert.ok(text.includes(part), `missing "${part}" in:\n${text}`);
    }
    assert.throws(() => compileRules({ maxIdentifiers: 0 }), /maxIdentifiers/);
    assert.equal(validateRules('nope').ok, false);
  });

  it('accepts valid rules and applies per-type overrides over defaults', () => {
    const result = validateRules({
      identifiers: { anonymous_id: { limit: 5, limitWindowMs: 604_800_000 }, crm_id: { priority: 2 } },
      maxMerges: 10,
    });
    assert.ok(result.ok);
    assert.equal(result.rules.forType('anonymous_id').limitWindowMs, 604_800_000);
    assert.equal(result.rules.forType('anonymous_id').priority, 8);
    assert.equal(result.rules.forType('crm_id').priority, 2);
    assert.equal(result.rules.forType('crm_id').limit, 5);
    assert.equal(result.rules.maxMerges, 10);
  });
});
