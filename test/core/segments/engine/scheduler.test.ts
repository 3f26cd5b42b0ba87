/**
 * The timer model the durable timers table must behave like: one timer per (profile, target), moved or
 * cancelled by plans, taken in due order, and rebuilt from plain rows after a restart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dueBatches, MemoryScheduler, targetKey } from '../../../../src/core/segments/engine/scheduler.ts';
import { HOUR, T0 } from '../builders.ts';

const abandoners = { kind: 'segment', id: 'cart-abandoners' } as const;
const buyers = { kind: 'segment', id: 'recent-buyers' } as const;
const orders = { kind: 'trait', id: 'orders-7d' } as const;

describe('MemoryScheduler', () => {
  it('keeps one timer per profile and target: setting again moves it', () => {
    const s = new MemoryScheduler();
    s.set('ann', abandoners, T0 + HOUR);
    s.set('ann', abandoners, T0 + 2 * HOUR);
    s.set('bob', abandoners, T0 + HOUR);
    assert.deepEqual(s.rows(), [
      { profileId: 'bob', target: abandoners, dueAt: T0 + HOUR },
      { profileId: 'ann', target: abandoners, dueAt: T0 + 2 * HOUR },
    ]);
  });

  it('applies a plan: null cancels, a time sets', () => {
    const s = new MemoryScheduler();
    s.set('ann', abandoners, T0 + HOUR);
    s.apply('ann', [
      { target: abandoners, dueAt: null },
      { target: orders, dueAt: T0 + 3 * HOUR },
    ]);
    assert.deepEqual(s.rows(), [{ profileId: 'ann', target: orders, dueAt: T0 + 3 * HOUR }]);
  });

  it('takes the due timers, earliest first, and leaves the rest', () => {
    const s = new MemoryScheduler();
    s.set('ann', buyers, T0 + 2 * HOUR);
    s.set('bob', abandoners, T0 + HOUR);
    s.set('cat', abandoners, T0 + 5 * HOUR);
    assert.equal(s.nextDueAt(), T0 + HOUR);
    assert.deepEqual(
      s.takeDue(T0 + 2 * HOUR).map((r) => r.profileId),
      ['bob', 'ann'],
    );
    assert.equal(s.nextDueAt(), T0 + 5 * HOUR);
    assert.deepEqual(s.takeDue(T0 + 2 * HOUR), []);
  });

  it('is rebuilt from its rows, through JSON, as after a restart', () => {
    const s = new MemoryScheduler();
    s.set('ann', buyers, T0 + 2 * HOUR);
    s.set('ann', orders, T0 + HOUR);
    const rebuilt = MemoryScheduler.fromRows(JSON.parse(JSON.stringify(s.rows())));
    assert.deepEqual(rebuilt.rows(), s.rows());
  });

  it('names targets for the table: segment:<id> and trait:<id>', () => {
    assert.equal(targetKey(abandoners), 'segment:cart-abandoners');
    assert.equal(targetKey(orders), 'trait:orders-7d');
  });
});

describe('dueBatches', () => {
  it('fires the timers of one profile due at one instant together, in due order', () => {
    const batches = dueBatches([
      { profileId: 'ann', target: buyers, dueAt: T0 + 2 * HOUR },
      { profileId: 'ann', target: orders, dueAt: T0 + HOUR },
      { profileId: 'ann', target: abandoners, dueAt: T0 + HOUR },
      { profileId: 'bob', target: abandoners, dueAt: T0 + HOUR },
    ]);
    assert.deepEqual(batches, [
      { profileId: 'ann', dueAt: T0 + HOUR, trigger: { kind: 'timer', segmentIds: ['cart-abandoners'], traitIds: ['orders-7d'] } },
      { profileId: 'bob', dueAt: T0 + HOUR, trigger: { kind: 'timer', segmentIds: ['cart-abandoners'], traitIds: [] } },
      { profileId: 'ann', dueAt: T0 + 2 * HOUR, trigger: { kind: 'timer', segmentIds: ['recent-buyers'], traitIds: [] } },
    ]);
  });
});
