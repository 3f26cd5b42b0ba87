/**
 * A deterministic, streaming generator of realistic e-commerce traffic as Segment messages.
 *
 * Sessions start in time order: session k starts where a share (messages scheduled so far)/(total) of
 * the window's traffic has happened, on a curve with a daily rhythm and weekly seasonality. Each
 * session is played in full when it starts (a few to a few dozen messages over minutes); a min-heap
 * merges the sessions that overlap in time, so messages come out in non-decreasing timestamp order.
 * Memory is bounded by the number of overlapping sessions plus a few bytes per customer, never by the
 * number of events. Everything is a pure function of the seed.
 */
import { Catalog } from './catalog.ts';
import type { DemoMessage } from './messages.ts';
import { Population } from './population.ts';
import { Random } from './random.ts';
import { Business } from './sessions.ts';
import { Timeline } from './timeline.ts';

export type { DemoMessage, DemoMessageType } from './messages.ts';

export interface DemoOptions {
  seed: number;
  /** Exactly this many messages are produced. */
  events: number;
  start: Date;
  /** Length of the window in days (fractions allowed); sessions starting near its end may run a few minutes past it. */
  days: number;
  /** Share of messages carrying a junk id like buggy SDKs send ("anonymousId", "null", "0", "undefined"). Default 0.001. */
  junkIdRate?: number;
}

/** The junk ids buggy clients send instead of a real id. */
export const JUNK_IDS = ['anonymousId', 'null', '0', 'undefined'] as const;

/** Customers in the population (most appear rarely or never): chosen so a demo has about one resolved profile per ten events. */
export function populationSize(events: number): number {
  return Math.max(20, Math.round(events * 0.6));
}

interface Session {
  id: number;
  msgs: Array<DemoMessage | undefined>;
  times: number[];
  pos: number;
  /** Time of the next message to emit. */
  key: number;
}

/** Min-heap of sessions ordered by (next message time, session id). */
class SessionHeap {
  private readonly items: Session[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Session | undefined {
    return this.items[0];
  }

  private less(a: Session, b: Session): boolean {
    return a.key < b.key || (a.key === b.key && a.id < b.id);
  }

  push(s: Session): void {
    const items = this.items;
    items.push(s);
    let i = items.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p] as Session;
      if (!this.less(s, parent)) break;
      items[i] = parent;
      i = p;
    }
    items[i] = s;
  }

  /** Restore order after the top's key grew (or remove it when `remove`). */
  fixTop(remove: boolean): void {
    const items = this.items;
    let s: Session;
    if (remove) {
      s = items.pop() as Session;
      if (items.length === 0) return;
    } else s = items[0] as Session;
    const n = items.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.less(items[r] as Session, items[l] as Session)) c = r;
      const child = items[c] as Session;
      if (!this.less(child, s)) break;
      items[i] = child;
      i = c;
    }
    items[i] = s;
  }
}

function validate(o: DemoOptions): void {
  if (!Number.isFinite(o.seed)) throw new RangeError('seed must be a finite number');
  if (!Number.isInteger(o.events) || o.events < 0) throw new RangeError('events must be a non-negative integer');
  if (!(o.days > 0) || !Number.isFinite(o.days)) throw new RangeError('days must be a positive number');
  if (!(o.start instanceof Date) || Number.isNaN(o.start.getTime())) throw new RangeError('start must be a valid Date');
  const j = o.junkIdRate ?? 0.001;
  if (!(j >= 0 && j <= 1)) throw new RangeError('junkIdRate must be between 0 and 1');
}

/**
 * Generate `events` Segment messages for a synthetic store, lazily, in non-decreasing timestamp order.
 * Messages are fresh objects: the caller may keep or mutate them.
 */
export function* generateDemo(options: DemoOptions): Generator<DemoMessage, void, undefined> {
  validate(options);
  const { events } = options;
  if (events === 0) return;
  const seed = Math.floor(options.seed) >>> 0;
  const junkIdRate = options.junkIdRate ?? 0.001;
  const timeline = new Timeline(options.start, options.days);
  const rng = new Random(seed, 0x5e55);
  const junkRng = new Random(seed, 0x7a4c);
  const business = new Business(rng, new Population(seed, populationSize(events)), new Catalog(seed), timeline);
  const heap = new SessionHeap();

  let scheduled = 0;
  let emitted = 0;
  let nextId = 0;
  let pending: Session | null = null;
  while (emitted < events) {
    if (pending === null && scheduled < events) {
      const t0 = timeline.timeAt((scheduled + rng.next()) / events);
      const { msgs, times } = business.session(t0);
      if (msgs.length === 0) continue;
      pending = { id: nextId++, msgs, times, pos: 0, key: times[0] as number };
      scheduled += msgs.length;
    }
    const top = heap.peek();
    // Sessions start in time order, so the heap's top is safe to emit once no unstarted session could precede it.
    if (pending !== null && (top === undefined || pending.key <= top.key)) {
      heap.push(pending);
      pending = null;
      continue;
    }
    if (top === undefined) return;
    const msg = top.msgs[top.pos] as DemoMessage;
    top.msgs[top.pos] = undefined;
    top.pos++;
    if (top.pos < top.msgs.length) top.key = top.times[top.pos] as number;
    heap.fixTop(top.pos >= top.msgs.length);
    if (junkIdRate > 0 && junkRng.next() < junkIdRate) {
      const junk = JUNK_IDS[junkRng.u32() & 3] as string;
      if (msg.userId !== undefined && junkRng.chance(0.2)) msg.userId = junk;
      else msg.anonymousId = junk;
    }
    emitted++;
    yield msg;
  }
}
