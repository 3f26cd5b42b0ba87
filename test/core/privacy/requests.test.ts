/** Privacy requests: the body schema, the 30-day deadline and the lifecycle. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isOverdue,
  receivePrivacyRequest,
  transition,
  validatePrivacyRequestBody,
  type PrivacyRequest,
  type PrivacyRequestEvent,
  type PrivacyRequestStatus,
} from '../../../src/core/privacy/index.ts';
import { DAY, HOUR, T0 } from '../consent/builders.ts';

const aRequest = (status: PrivacyRequestStatus = 'received'): PrivacyRequest => ({
  ...receivePrivacyRequest('pr-1', { type: 'delete', subject: { type: 'email', value: 'ada@example.com' } }, T0),
  status,
});

describe('validatePrivacyRequestBody', () => {
  it('standardises the subject', () => {
    const result = validatePrivacyRequestBody({ type: 'suppress_with_delete', subject: { type: 'email', value: ' Ada@Example.com ' } });
    assert.deepEqual(result, { ok: true, value: { type: 'suppress_with_delete', subject: { type: 'email', value: 'ada@example.com' } } });
  });

  const refused: Array<[string, unknown, string]> = [
    ['an unknown type', { type: 'forget', subject: { type: 'email', value: 'a@b.io' } }, '/type'],
    ['a subject without a value', { type: 'export', subject: { type: 'email' } }, '/subject'],
    ['an invalid e-mail', { type: 'export', subject: { type: 'email', value: 'nope' } }, '/subject/value'],
    ['an extra field', { type: 'export', subject: { type: 'user_id', value: 'u1' }, force: true }, ''],
  ];
  for (const [name, json, path] of refused) {
    it(`refuses ${name}`, () => {
      const result = validatePrivacyRequestBody(json);
      assert.ok(!result.ok);
      assert.ok(
        result.problems.some((p) => p.path === path),
        JSON.stringify(result.problems),
      );
    });
  }
});

describe('privacy request lifecycle', () => {
  it('is received with a deadline 30 days later', () => {
    const request = aRequest();
    assert.equal(request.status, 'received');
    assert.equal(request.deadline, T0 + 30 * DAY);
    assert.equal(isOverdue(request, T0 + 30 * DAY), false);
    assert.equal(isOverdue(request, T0 + 30 * DAY + 1), true);
  });

  const start: PrivacyRequestEvent = { kind: 'start', at: T0 + HOUR };
  const finish: PrivacyRequestEvent = { kind: 'finish', at: T0 + 2 * HOUR, summary: { events: 12 } };
  const fail: PrivacyRequestEvent = { kind: 'fail', at: T0 + 2 * HOUR, error: 'warehouse unreachable' };
  const table: Array<[PrivacyRequestStatus, PrivacyRequestEvent, PrivacyRequestStatus | null]> = [
    ['received', start, 'running'],
    ['received', finish, null],
    ['received', fail, null],
    ['running', finish, 'finished'],
    ['running', fail, 'failed'],
    ['running', start, null],
    ['failed', start, 'running'],
    ['failed', finish, null],
    ['finished', start, null],
    ['finished', fail, null],
  ];
  for (const [from, event, to] of table) {
    it(`${from} --${event.kind}--> ${to ?? 'refused'}`, () => {
      const result = transition(aRequest(from), event);
      if (to === null) {
        assert.deepEqual(result, { ok: false, reason: `cannot ${event.kind} a ${from} request` });
      } else {
        assert.ok(result.ok);
        assert.equal(result.request.status, to);
      }
    });
  }

  it('counts attempts, clears the last error on retry and records the summary', () => {
    const steps: PrivacyRequestEvent[] = [start, fail, { kind: 'start', at: T0 + 3 * HOUR }, { ...finish, at: T0 + 4 * HOUR }];
    const done = steps.reduce((request, event) => {
      const result = transition(request, event);
      assert.ok(result.ok);
      return result.request;
    }, aRequest());
    assert.equal(done.attempts, 2);
    assert.equal(done.error, undefined);
    assert.deepEqual([done.startedAt, done.finishedAt, done.summary], [T0 + 3 * HOUR, T0 + 4 * HOUR, { events: 12 }]);
    assert.equal(isOverdue(done, T0 + 60 * DAY), false);
  });
});
