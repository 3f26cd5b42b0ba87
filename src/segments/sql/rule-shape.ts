/**
 * What a rule's shape says about time and absence, for the SQL fast path (`compile-rule.ts`): which way an
 * event condition can turn as its events leave a window, and the rule's answer for a profile without any
 * counted event. Pure functions of the rule.
 */
import type { Condition, EventCondition } from '../../core/segments/definition.ts';
import { compare } from '../../core/segments/compare.ts';

/**
 * How an event condition can turn as its events leave a `within` window (no new event arriving): a
 * count only falls, so `count() >= k` can only turn false and `count() <= k` only true; anything else
 * (other reducers, equality) may turn either way. A rule is monotone in each condition (AND and OR are
 * monotone, NOT flips the polarity), so if no condition can turn towards membership, a profile that is
 * out stays out: its in-window events need not make it a candidate.
 */
export function turnsAsEventsLeave(node: EventCondition): { rise: boolean; fall: boolean } {
  if (node.window?.kind !== 'within') return { rise: false, fall: false };
  if (node.reducer.fn !== 'count') return { rise: true, fall: true };
  switch (node.comparison.op) {
    case '>':
    case '>=':
    case 'after_date':
      return { rise: false, fall: true };
    case '<':
    case '<=':
    case 'before_date':
      return { rise: true, fall: false };
    default:
      return { rise: true, fall: true };
  }
}

/**
 * The rule's answer for a profile without any counted event (count and sum 0, other reducers no value),
 * traits unknown: `false` means only profiles with some counted event can be members.
 */
export function emptyTruth(node: Condition): boolean | undefined {
  switch (node.kind) {
    case 'and': {
      const parts = node.conditions.map(emptyTruth);
      return parts.includes(false) ? false : parts.includes(undefined) ? undefined : true;
    }
    case 'or': {
      const parts = node.conditions.map(emptyTruth);
      return parts.includes(true) ? true : parts.includes(undefined) ? undefined : false;
    }
    case 'not': {
      const inner = emptyTruth(node.condition);
      return inner === undefined ? undefined : !inner;
    }
    case 'event': {
      const value = node.reducer.fn === 'count' || node.reducer.fn === 'sum' ? 0 : undefined;
      // Relative comparators do not compile, so `now` plays no part here.
      return value !== undefined && compare(value, node.comparison, 0);
    }
    case 'trait':
    case 'segment':
      return undefined;
    default: {
      const _never: never = node;
      return _never;
    }
  }
}
