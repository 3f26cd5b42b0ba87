/**
 * The traffic of the identity scenarios, as `/v1/batch` request bodies, deterministic for its spec so
 * the load-generator process and the in-memory ceiling build exactly the same batches:
 *
 * - `demoBodies`: the project's demo business (`src/demo`): anonymous sessions, logins, multi-device
 *   customers, aliases, groups, a few junk ids. About one resolved profile per ten events.
 * - `identifyBody`: identify calls of distinct people (user id + anonymous id + e-mail + a few traits),
 *   one new profile per event: the fastest honest way to put many profiles in the store.
 */
import { toBatches } from '../src/demo/batches.ts';
import { generateDemo } from '../src/demo/generator.ts';

export interface DemoSpec {
  seed: number;
  events: number;
  /** Start of the demo window, ms since the epoch (the caller fixes it once, so every process agrees). */
  startMs: number;
  days: number;
  batchSize: number;
}

export function demoBodies(spec: DemoSpec): string[] {
  const messages = generateDemo({ seed: spec.seed, events: spec.events, start: new Date(spec.startMs), days: spec.days });
  const out: string[] = [];
  for (const b of toBatches(messages, spec.batchSize)) out.push(JSON.stringify(b));
  return out;
}

/** The user id, e-mail and anonymous id of bulk person `i` (what the lookup scenario asks for). */
export const bulkUserId = (i: number): string => `bulk-user-${i}`;
export const bulkEmail = (i: number): string => `bulk.person.${i}@example.com`;
export const bulkAnonymousId = (i: number): string => `bulk-anon-${i}-7c1e`;

const PLANS = ['free', 'pro', 'team', 'enterprise'];

/** One identify batch for persons `first … first+count-1`: one new profile each. */
export function identifyBody(first: number, count: number, now: number): string {
  const iso = new Date(now).toISOString();
  const batch = Array.from({ length: count }, (_, k) => {
    const i = first + k;
    return {
      type: 'identify',
      messageId: `bulk-${i}`,
      userId: bulkUserId(i),
      anonymousId: bulkAnonymousId(i),
      timestamp: iso,
      traits: {
        email: bulkEmail(i),
        firstName: `First${i % 997}`,
        lastName: `Last${i % 991}`,
        plan: PLANS[i % PLANS.length],
        address: { city: `City ${i % 313}`, country: 'US' },
        createdAt: iso,
      },
      context: {
        library: { name: 'analytics-node', version: '3.1.0' },
        ip: `10.${i % 255}.${(i >> 8) % 255}.9`,
        locale: 'en-US',
      },
    };
  });
  return JSON.stringify({ batch, sentAt: iso });
}
