/** fast-check generators of consent changes, over few purposes and few instants so ties and conflicts are common. */
import fc from 'fast-check';
import type { ConsentChange, ConsentSource } from '../../../src/core/consent/index.ts';
import { HOUR, T0 } from './builders.ts';

export const purposeIds = fc.constantFrom('analytics', 'advertising', 'email_marketing');

export const aChange: fc.Arbitrary<ConsentChange> = fc
  .record({
    purpose: purposeIds,
    choice: fc.constantFrom('granted' as const, 'denied' as const),
    hour: fc.integer({ min: 0, max: 4 }),
    source: fc.constantFrom<ConsentSource>('event', 'api', 'import'),
    messageId: fc.option(fc.constantFrom('m1', 'm2', 'm3'), { nil: undefined }),
    expiresInHours: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
  })
  .map(({ purpose, choice, hour, source, messageId, expiresInHours }) => ({
    purpose,
    choice,
    proof: { source, at: T0 + hour * HOUR, ...(messageId !== undefined ? { eventMessageId: messageId } : {}) },
    ...(choice === 'granted' && expiresInHours !== undefined ? { expiresAt: T0 + (hour + expiresInHours) * HOUR } : {}),
  }));

export const someChanges = fc.array(aChange, { maxLength: 12 });
