/**
 * Print a rule as canonical text: `parseRule(printRule(rule))` gives back the same tree, and printing
 * what was parsed is a fixed point. Canonical choices: single quotes, `.where` before the window, plural
 * units, upper-case AND/OR/NOT, and parentheses around any AND/OR that is an operand of another.
 */
import type { Comparison, Condition, Filter, FunnelEventCondition, FunnelWindow, Reducer, Scalar } from './definition.ts';
import { quote } from './lexer.ts';

export function printRule(rule: Condition): string {
  return printCondition(rule);
}

/** Print a `.where` filter on its own (as it appears inside the parentheses). */
export function printFilter(filter: Filter): string {
  return printFilterNode(filter);
}

function printCondition(node: Condition): string {
  switch (node.kind) {
    case 'and':
      return node.conditions.map((c) => operand(c, printCondition)).join(' AND ');
    case 'or':
      return node.conditions.map((c) => operand(c, printCondition)).join(' OR ');
    case 'not':
      return `NOT ${operand(node.condition, printCondition)}`;
    case 'trait':
      return `trait(${quote(node.path)})${printComparison(node.comparison)}`;
    case 'event':
      return printEvent(node);
    case 'segment':
      return `segment(${quote(node.id)})`;
    default: {
      const _never: never = node;
      return _never;
    }
  }
}

function printFilterNode(node: Filter): string {
  switch (node.kind) {
    case 'and':
      return node.conditions.map((c) => operand(c, printFilterNode)).join(' AND ');
    case 'or':
      return node.conditions.map((c) => operand(c, printFilterNode)).join(' OR ');
    case 'not':
      return `NOT ${operand(node.condition, printFilterNode)}`;
    case 'property':
      return `property(${quote(node.path)})${printComparison(node.comparison)}`;
    case 'event':
      return printEvent(node);
    default: {
      const _never: never = node;
      return _never;
    }
  }
}

/** An operand of AND, OR or NOT: compound ones in parentheses, so the tree's shape survives a round trip. */
function operand<T extends { kind: string }>(node: T, print: (node: T) => string): string {
  return node.kind === 'and' || node.kind === 'or' ? `(${print(node)})` : print(node);
}

function printEvent(node: FunnelEventCondition): string {
  const args = [...(node.name !== undefined ? [quote(node.name)] : []), ...(node.type !== undefined ? [`type: ${quote(node.type)}`] : [])];
  let text = `event(${args.join(', ')})`;
  if (node.where !== undefined) text += `.where(${printFilterNode(node.where)})`;
  if (node.window !== undefined) text += `.${printWindow(node.window)}`;
  return `${text}.${printReducer(node.reducer)}${printComparison(node.comparison)}`;
}

function printWindow(w: FunnelWindow): string {
  switch (w.kind) {
    case 'within':
      return `within(${w.amount} ${w.unit})`;
    case 'parent':
      return `within(parent: ${w.amount} ${w.unit})`;
    case 'between':
      return `between(${quote(w.start)}, ${quote(w.end)})`;
    default: {
      const _never: never = w;
      return _never;
    }
  }
}

function printReducer(r: Reducer): string {
  if (r.fn === 'count') return 'count()';
  return r.property === undefined ? `${r.fn}()` : `${r.fn}(property(${quote(r.property)}))`;
}

function printValue(v: Scalar): string {
  return typeof v === 'string' ? quote(v) : String(v);
}

function printComparison(c: Comparison): string {
  switch (c.op) {
    case '=':
    case '!=':
    case '>':
    case '>=':
    case '<':
    case '<=':
      return ` ${c.op} ${printValue(c.value)}`;
    case 'is_set':
    case 'is_null':
      return `.${c.op}()`;
    case 'contains':
    case 'omits':
    case 'starts_with':
    case 'ends_with':
      return `.${c.op}(${quote(c.value)})`;
    case 'one_of':
      return `.one_of(${c.values.map(printValue).join(', ')})`;
    case 'contains_one':
      return `.contains_one(${c.values.map(quote).join(', ')})`;
    case 'before_date':
    case 'after_date':
      return `.${c.op}(${quote(c.date)})`;
    case 'within_last':
    case 'before_last':
    case 'within_next':
    case 'after_next':
      return `.${c.op}(${c.amount} ${c.unit})`;
    default: {
      const _never: never = c;
      return _never;
    }
  }
}
