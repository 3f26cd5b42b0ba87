/**
 * A recursive-descent parser for the segment language (Segment's query language shape:
 * extractor → filter → window → reducer → comparator, joined by AND, OR, NOT and parentheses; AND binds
 * tighter than OR). It produces the same tree the JSON API accepts (`definition.ts`).
 *
 *   rule       := or
 *   or         := and ('OR' and)*
 *   and        := unary ('AND' unary)*
 *   unary      := 'NOT' unary | '(' or ')' | atom
 *   atom       := trait(s) comparison | segment(s) | event            (a filter: property(s) comparison | event)
 *   event      := event(s [, type: s] | type: s) ('.' where(filter) | '.' window)* '.' reducer comparison
 *   window     := within(duration) | within(parent: duration) | between(date, date)
 *   reducer    := count() | sum|avg|min|max|unique|mode(property(s)) | first|last([property(s)])
 *   comparison := op value | '.' comparator(args)
 *
 * Errors are values: `{ ok: false, error: { line, column, message } }`, the message saying what was
 * expected and what was found.
 */
import { EVENT_TYPES, type EventType } from '../event/event.ts';
import type { Comparison, Condition, Filter, FunnelEventCondition, FunnelWindow, Reducer, Scalar } from './definition.ts';
import { DATE_OPS, PRESENCE_OPS, RELATIVE_OPS, TEXT_OPS } from './definition.ts';
import { describeToken, tokenize, type ParseError, type Token } from './lexer.ts';
import { parseInstant, unitFromWord, type TimeUnit } from './time.ts';

export type { ParseError } from './lexer.ts';
export type ParseResult = { ok: true; value: Condition } | { ok: false; error: ParseError };

/** Parse the text of a segment rule. Never throws on bad input. */
export function parseRule(text: string): ParseResult {
  const lexed = tokenize(text);
  if (!lexed.ok) return lexed;
  try {
    return { ok: true, value: new Parser(lexed.tokens).rule() };
  } catch (e) {
    if (e instanceof Failure) return { ok: false, error: e.error };
    throw e;
  }
}

/** Thrown only inside this module to unwind the descent; parseRule turns it into a value. */
class Failure {
  constructor(readonly error: ParseError) {}
}

interface Logic<T> {
  and(conditions: T[]): T;
  or(conditions: T[]): T;
  not(condition: T): T;
  atom(): T;
}

const REDUCERS = ['count', 'sum', 'avg', 'min', 'max', 'first', 'last', 'unique', 'mode'] as const;
const METHODS = [...PRESENCE_OPS, ...TEXT_OPS, 'one_of', 'contains_one', ...DATE_OPS, ...RELATIVE_OPS] as const;
const OPS_LIST = '=, !=, >, >=, <, <= or a method such as .is_set()';

const includes = <T extends string>(list: readonly T[], word: string): word is T => (list as readonly string[]).includes(word);

class Parser {
  private pos = 0;
  private readonly ruleLogic: Logic<Condition> = {
    and: (conditions) => ({ kind: 'and', conditions }),
    or: (conditions) => ({ kind: 'or', conditions }),
    not: (condition) => ({ kind: 'not', condition }),
    atom: () => this.ruleAtom(),
  };
  private readonly filterLogic: Logic<Filter> = {
    and: (conditions) => ({ kind: 'and', conditions }),
    or: (conditions) => ({ kind: 'or', conditions }),
    not: (condition) => ({ kind: 'not', condition }),
    atom: () => this.filterAtom(),
  };

  constructor(private readonly tokens: Token[]) {}

  rule(): Condition {
    const rule = this.or(this.ruleLogic);
    if (this.peek().kind !== 'eof') this.expected('AND, OR or end of input');
    return rule;
  }

  // ---- tokens -----------------------------------------------------------------------------------

  private peek(): Token {
    return this.tokens[this.pos] ?? (this.tokens[this.tokens.length - 1] as Token);
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos += 1;
    return t;
  }

  private failAt(t: Token, message: string): never {
    throw new Failure({ line: t.line, column: t.column, message });
  }

  private expected(what: string, t: Token = this.peek()): never {
    return this.failAt(t, `expected ${what} but found ${describeToken(t)}`);
  }

  private isWord(word: string, t: Token = this.peek()): boolean {
    return t.kind === 'ident' && t.text === word;
  }

  private isKeyword(word: 'AND' | 'OR' | 'NOT'): boolean {
    const t = this.peek();
    return t.kind === 'ident' && t.text.toUpperCase() === word;
  }

  private isPunct(p: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === p;
  }

  private punct(p: '(' | ')' | ',' | '.' | ':', what = `'${p}'`): void {
    if (!this.isPunct(p)) this.expected(what);
    this.next();
  }

  private word(word: string, what = `'${word}'`): void {
    if (!this.isWord(word)) this.expected(what);
    this.next();
  }

  private string(what = 'a string'): string {
    const t = this.peek();
    if (t.kind !== 'string') return this.expected(what);
    this.next();
    return t.value;
  }

  /** `(` string `)`: the argument of trait(), property(), segment(). */
  private stringArgument(what = 'a string'): string {
    this.punct('(');
    const value = this.string(what);
    this.punct(')');
    return value;
  }

  // ---- logic --------------------------------------------------------------------------------------

  private or<T>(logic: Logic<T>): T {
    const parts = [this.and(logic)];
    while (this.isKeyword('OR')) {
      this.next();
      parts.push(this.and(logic));
    }
    return parts.length === 1 ? (parts[0] as T) : logic.or(parts);
  }

  private and<T>(logic: Logic<T>): T {
    const parts = [this.unary(logic)];
    while (this.isKeyword('AND')) {
      this.next();
      parts.push(this.unary(logic));
    }
    return parts.length === 1 ? (parts[0] as T) : logic.and(parts);
  }

  private unary<T>(logic: Logic<T>): T {
    if (this.isKeyword('NOT')) {
      this.next();
      return logic.not(this.unary(logic));
    }
    if (this.isPunct('(')) {
      this.next();
      const inner = this.or(logic);
      this.punct(')');
      return inner;
    }
    return logic.atom();
  }

  private ruleAtom(): Condition {
    if (this.isWord('trait')) {
      this.next();
      const path = this.stringArgument('a trait name');
      return { kind: 'trait', path, comparison: this.comparison() };
    }
    if (this.isWord('segment')) {
      this.next();
      this.punct('(');
      const t = this.peek();
      const id = this.string('a segment id');
      if (id === '') this.expected('a segment id', t);
      this.punct(')');
      return { kind: 'segment', id };
    }
    if (this.isWord('event')) {
      // The parser refuses parent windows outside a funnel, so this only narrows the type.
      const { window, ...rest } = this.event(false);
      if (window === undefined) return rest;
      if (window.kind === 'parent') throw new Error('a parent window outside a funnel');
      return { ...rest, window };
    }
    return this.expected("a condition (trait(…), event(…), segment(…), NOT or '(')");
  }

  private filterAtom(): Filter {
    if (this.isWord('property')) {
      this.next();
      const path = this.stringArgument('a property name');
      return { kind: 'property', path, comparison: this.comparison() };
    }
    if (this.isWord('event')) return this.event(true);
    return this.expected("a filter (property(…), event(…), NOT or '(')");
  }

  // ---- events -------------------------------------------------------------------------------------

  private event(nested: boolean): FunnelEventCondition {
    this.next();
    this.punct('(');
    let name: string | undefined;
    let type: EventType | undefined;
    if (this.peek().kind === 'string') {
      name = this.string();
      if (this.isPunct(',')) {
        this.next();
        type = this.eventType();
      }
    } else if (this.isWord('type')) {
      type = this.eventType();
    } else {
      this.expected("an event name or 'type:'");
    }
    this.punct(')', name !== undefined && type === undefined ? "',' or ')'" : "')'");
    let where: Filter | undefined;
    let window: FunnelWindow | undefined;
    let reducer: Reducer | undefined;
    while (reducer === undefined) {
      this.punct('.', "'.' and a reducer such as count()");
      const t = this.peek();
      if (this.isWord('where')) {
        if (where !== undefined) this.failAt(t, '.where(…) is given twice');
        this.next();
        this.punct('(');
        where = this.or(this.filterLogic);
        this.punct(')');
      } else if (this.isWord('within') || this.isWord('between')) {
        if (window !== undefined) this.failAt(t, 'the window is given twice');
        window = this.window(nested);
      } else if (t.kind === 'ident' && includes(REDUCERS, t.text)) {
        reducer = this.reducer();
      } else {
        this.expected('where, within, between or a reducer (count, sum, avg, min, max, first, last, unique, mode)');
      }
    }
    const comparison = this.comparison();
    return {
      kind: 'event',
      ...(name !== undefined && { name }),
      ...(type !== undefined && { type }),
      ...(where !== undefined && { where }),
      ...(window !== undefined && { window }),
      reducer,
      comparison,
    };
  }

  private eventType(): EventType {
    this.word('type', "'type'");
    this.punct(':');
    const t = this.peek();
    const value = this.string('an event type');
    if (!includes(EVENT_TYPES, value)) return this.expected(`an event type (${EVENT_TYPES.join(', ')})`, t);
    return value;
  }

  private window(nested: boolean): FunnelWindow {
    const kind = this.next().text;
    this.punct('(');
    if (kind === 'between') {
      const [start, startAt] = this.date();
      this.punct(',');
      const endToken = this.peek();
      const [end, endAt] = this.date();
      if (endAt <= startAt) this.failAt(endToken, 'the window must end after it starts');
      this.punct(')');
      return { kind: 'between', start, end };
    }
    if (this.isWord('parent')) {
      if (!nested) this.failAt(this.peek(), 'within(parent: …) is only allowed in a funnel, inside .where(…)');
      this.next();
      this.punct(':');
      const { amount, unit } = this.duration();
      this.punct(')');
      return { kind: 'parent', amount, unit };
    }
    const { amount, unit } = this.duration();
    this.punct(')');
    return { kind: 'within', amount, unit };
  }

  private reducer(): Reducer {
    const fn = this.next().text;
    this.punct('(');
    let reducer: Reducer;
    if (fn === 'count') {
      reducer = { fn };
    } else if (fn === 'first' || fn === 'last') {
      reducer = this.isWord('property') ? { fn, property: this.propertyRef() } : { fn };
    } else if (fn === 'sum' || fn === 'avg' || fn === 'min' || fn === 'max' || fn === 'unique' || fn === 'mode') {
      reducer = { fn, property: this.propertyRef() };
    } else {
      throw new Error(`not a reducer: ${fn}`);
    }
    this.punct(')');
    return reducer;
  }

  private propertyRef(): string {
    this.word('property', "property('…')");
    return this.stringArgument('a property name');
  }

  // ---- values -------------------------------------------------------------------------------------

  private duration(): { amount: number; unit: TimeUnit } {
    const t = this.peek();
    if (t.kind !== 'number' || !Number.isSafeInteger(t.value) || t.value < 1) return this.expected('a positive whole number');
    this.next();
    const u = this.peek();
    const unit = u.kind === 'ident' ? unitFromWord(u.text) : undefined;
    if (unit === undefined) return this.expected('a time unit (seconds, minutes, hours, days, weeks)');
    this.next();
    return { amount: t.value, unit };
  }

  /** A date string, and the instant it means. */
  private date(): [string, number] {
    const t = this.peek();
    const text = this.string('a date');
    const instant = parseInstant(text);
    if (instant === undefined) return this.expected("an ISO-8601 date such as '2026-01-31' or '2026-01-31T09:30:00Z'", t);
    return [text, instant];
  }

  private value(): Scalar {
    const t = this.next();
    if (t.kind === 'string' || t.kind === 'number') return t.value;
    if (t.kind === 'ident' && t.text === 'true') return true;
    if (t.kind === 'ident' && t.text === 'false') return false;
    if (t.kind === 'ident' && t.text === 'null') return null;
    return this.expected('a value (a string, a number, true, false or null)', t);
  }

  /** One or more items separated by commas. */
  private list<T>(item: () => T): T[] {
    const items = [item()];
    while (this.isPunct(',')) {
      this.next();
      items.push(item());
    }
    return items;
  }

  private comparison(): Comparison {
    const t = this.peek();
    if (t.kind === 'op') {
      this.next();
      return { op: t.text, value: this.value() };
    }
    if (!this.isPunct('.')) return this.expected(`a comparison (${OPS_LIST})`);
    this.next();
    const m = this.peek();
    const op = m.kind === 'ident' ? m.text : '';
    if (!includes(METHODS, op)) return this.expected(`a comparator (${METHODS.join(', ')})`, m);
    this.next();
    this.punct('(');
    let comparison: Comparison;
    if (op === 'is_set' || op === 'is_null') comparison = { op };
    else if (includes(TEXT_OPS, op)) comparison = { op, value: this.string() };
    else if (op === 'one_of') comparison = { op, values: this.list(() => this.value()) };
    else if (op === 'contains_one') comparison = { op, values: this.list(() => this.string()) };
    else if (includes(DATE_OPS, op)) comparison = { op, date: this.date()[0] };
    else if (includes(RELATIVE_OPS, op)) comparison = { op, ...this.duration() };
    else throw new Error(`comparator without a parse rule: ${op}`);
    this.punct(')', op === 'one_of' || op === 'contains_one' ? "',' or ')'" : "')'");
    return comparison;
  }
}
