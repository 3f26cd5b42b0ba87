/** Identity stories as tables: steps in the domain's words, profiles expected as sets of identifiers. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../../src/core/event/event.ts';
import type { IdentityRulesConfig } from '../../../src/core/identity/index.ts';
import { DAY, HOUR, MINUTE, T0 } from './builders.ts';
import { advance, alias, expectedGrouping, identify, mergeProfiles, track, unmergeIdentifier, World, type Step } from './world.ts';

interface Scenario {
  name: string;
  rules?: IdentityRulesConfig;
  steps: Step[];
  /** Each profile as space-separated identifier keys. */
  profiles: string[];
  /** Distinct warning codes seen, sorted. */
  warnings?: string[];
  /** Materialised traits of the profile holding the key. */
  traits?: Record<string, JsonObject>;
}

const scenarios: Scenario[] = [
  {
    name: 'anonymous browsing then login joins the visit to the user',
    steps: [
      track({ anonymousId: 'a1', event: 'Product Viewed' }),
      advance(5 * MINUTE),
      track({ anonymousId: 'a1', event: 'Product Added' }),
      advance(MINUTE),
      identify({ userId: 'u1', anonymousId: 'a1', traits: { email: ' Ada@Example.COM ', name: 'Ada' } }),
      track({ userId: 'u1', anonymousId: 'a1', event: 'Order Completed' }),
    ],
    profiles: ['user_id:u1 anonymous_id:a1 email:ada@example.com'],
    warnings: [],
    traits: { 'anonymous_id:a1': { email: ' Ada@Example.COM ', name: 'Ada' } },
  },
  {
    name: 'one person on three devices',
    steps: [
      track({ anonymousId: 'phone', context: { device: { id: 'iphone-1' } } }),
      track({ anonymousId: 'laptop' }),
      track({ anonymousId: 'tablet', context: { device: { id: 'ipad-1' } } }),
      advance(HOUR),
      identify({ userId: 'u1', anonymousId: 'phone', context: { device: { id: 'iphone-1' } } }),
      identify({ userId: 'u1', anonymousId: 'laptop' }),
      advance(DAY),
      track({ userId: 'u1', anonymousId: 'tablet' }),
    ],
    profiles: ['user_id:u1 anonymous_id:phone anonymous_id:laptop anonymous_id:tablet device_id:iphone-1 device_id:ipad-1'],
    warnings: [],
  },
  {
    name: 'shared family computer: two users on one anonymousId stay two profiles (user_id limit 1)',
    steps: [
      track({ anonymousId: 'family-pc' }),
      identify({ userId: 'mum', anonymousId: 'family-pc', traits: { name: 'Mum' } }),
      advance(HOUR),
      identify({ userId: 'dad', anonymousId: 'family-pc', traits: { name: 'Dad' } }),
      track({ userId: 'dad', anonymousId: 'family-pc' }),
    ],
    profiles: ['user_id:mum anonymous_id:family-pc', 'user_id:dad'],
    warnings: ['limit_exceeded'],
    traits: { 'user_id:mum': { name: 'Mum' }, 'user_id:dad': { name: 'Dad' } },
  },
  {
    name: 'a new user_id with a known e-mail makes a new profile, not a merge',
    steps: [
      identify({ userId: 'u1', traits: { email: 'ada@example.com' } }),
      advance(DAY),
      identify({ userId: 'u2', traits: { email: 'ada@example.com' } }),
    ],
    profiles: ['user_id:u1 email:ada@example.com', 'user_id:u2'],
    warnings: ['limit_exceeded'],
  },
  {
    name: 'alias links the anonymous id with the new user id',
    steps: [
      track({ anonymousId: 'a1' }),
      alias({ userId: 'u1', anonymousId: 'a1', previousId: 'a1' }),
      alias({ userId: 'u1', previousId: 'old-cookie' }),
    ],
    profiles: ['user_id:u1 anonymous_id:a1 anonymous_id:old-cookie'],
    warnings: [],
  },
  {
    name: 'alias of a known user id to a new one is refused under user_id limit 1',
    steps: [identify({ userId: 'old-id' }), alias({ userId: 'new-id', previousId: 'old-id' })],
    profiles: ['user_id:old-id', 'user_id:new-id'],
    warnings: ['limit_exceeded'],
  },
  {
    name: 'alias of a known user id merges when the limit allows two',
    rules: { identifiers: { user_id: { limit: 2 } } },
    steps: [
      identify({ userId: 'old-id', anonymousId: 'a1' }),
      identify({ userId: 'new-id' }),
      alias({ userId: 'new-id', previousId: 'old-id' }),
    ],
    profiles: ['user_id:old-id user_id:new-id anonymous_id:a1'],
    warnings: [],
  },
  {
    name: 'a late historical import never overwrites newer traits, but fills gaps',
    steps: [
      advance(30 * DAY),
      identify({ userId: 'u1', traits: { plan: 'pro', address: { city: 'Oslo' } } }),
      identify({ userId: 'u1', at: T0 - 365 * DAY, traits: { plan: 'free', company: 'Acme', address: { city: 'Bergen', zip: '5003' } } }),
    ],
    profiles: ['user_id:u1'],
    traits: { 'user_id:u1': { plan: 'pro', company: 'Acme', address: { city: 'Oslo', zip: '5003' } } },
  },
  {
    name: 'an explicit null unsets a trait and an older value cannot resurrect it',
    steps: [
      identify({ userId: 'u1', traits: { nickname: 'ace' } }),
      advance(DAY),
      identify({ userId: 'u1', traits: { nickname: null } }),
      identify({ userId: 'u1', at: T0 - DAY, traits: { nickname: 'old' } }),
    ],
    profiles: ['user_id:u1'],
    traits: { 'user_id:u1': {} },
  },
  {
    name: 'an operator unmerge of a shared anonymousId splits everyone it joined (permissive limits)',
    rules: { identifiers: { user_id: { limit: 5 } } },
    steps: [
      identify({ userId: 'mum', anonymousId: 'family-pc' }),
      identify({ userId: 'mum', anonymousId: 'mum-phone' }),
      identify({ userId: 'dad', anonymousId: 'family-pc' }),
      identify({ userId: 'dad', anonymousId: 'dad-phone' }),
      unmergeIdentifier('anonymous_id:family-pc'),
    ],
    profiles: ['user_id:mum anonymous_id:mum-phone', 'user_id:dad anonymous_id:dad-phone', 'anonymous_id:family-pc'],
  },
  {
    name: 'unmerging a user detaches it with what only it brought',
    rules: { identifiers: { user_id: { limit: 5 } } },
    steps: [
      identify({ userId: 'mum', anonymousId: 'family-pc', traits: { email: 'mum@example.com' } }),
      identify({ userId: 'dad', anonymousId: 'family-pc' }),
      track({ anonymousId: 'dad-phone' }),
      identify({ userId: 'dad', anonymousId: 'dad-phone', traits: { email: 'dad@example.com' } }),
      unmergeIdentifier('user_id:dad'),
    ],
    profiles: ['user_id:mum anonymous_id:family-pc email:mum@example.com', 'user_id:dad anonymous_id:dad-phone email:dad@example.com'],
  },
];

describe('identity scenarios', () => {
  for (const s of scenarios) {
    it(s.name, () => {
      const world = new World(s.rules).run(s.steps);
      assert.deepEqual(world.profiles(), expectedGrouping(s.profiles));
      if (s.warnings !== undefined) assert.deepEqual(world.warningCodes(), s.warnings);
      for (const [key, traits] of Object.entries(s.traits ?? {})) assert.deepEqual(world.traitsOfIdentifier(key), traits);
      // The incremental result is what a replay of the facts gives.
      assert.deepEqual(world.profiles(world.rebuilt()), world.profiles());
    });
  }

  it('a junk anonymousId sent to thousands of users makes no mega-profile', () => {
    const world = new World();
    const junk = ['anonymousId', 'null', '0', '"null"', 'undefined', ''];
    const users = 3000;
    for (let i = 0; i < users; i++) {
      const anonymousId = junk[i % junk.length] as string;
      world.step(identify({ userId: `u${i}`, anonymousId, traits: { n: i } }));
      world.step(track({ userId: `u${i}`, anonymousId }));
    }
    const orphan = world.step(track({ anonymousId: 'anonymousId' }));
    assert.equal(world.graph.size, users);
    for (const p of world.profiles()) assert.equal(p.length, 1);
    assert.ok(orphan !== null && 'profileId' in orphan && orphan.profileId === null, 'an event with only a junk id joins no profile');
    assert.deepEqual(world.warningCodes(), ['junk_value', 'no_identifiers']);
    assert.deepEqual(world.traitsOfIdentifier('user_id:u7'), { n: 7 });
  });

  it('merge by a mistaken event, then unmerge, restores both profiles exactly', () => {
    const world = new World();
    world.run([
      track({ anonymousId: 'ada-laptop', context: { traits: { email: 'ada@example.com' } } }),
      identify({ userId: 'ada', anonymousId: 'ada-laptop', traits: { name: 'Ada', plan: 'pro' } }),
      advance(HOUR),
      track({ anonymousId: 'bob-tablet', context: { device: { id: 'tab-9' } } }),
      identify({ anonymousId: 'bob-tablet', traits: { name: 'Bob' } }),
      advance(HOUR),
    ]);
    const before = world.state();
    assert.equal(before.profiles.length, 2);
    // Bob types Ada's e-mail into a form: the two profiles merge.
    world.step(track({ anonymousId: 'bob-tablet', context: { traits: { email: 'ada@example.com' } } }));
    assert.equal(world.graph.size, 1);
    assert.deepEqual(world.traitsOfIdentifier('user_id:ada').name !== undefined, true);
    world.step(advance(DAY));
    const outcome = world.step(unmergeIdentifier('anonymous_id:bob-tablet'));
    assert.ok(outcome !== null && 'retiredProfileIds' in outcome);
    assert.deepEqual(outcome.warnings, []);
    assert.deepEqual(world.state(), before);
  });

  it('operator merge, then unmerge, restores both profiles exactly (ids, provenance, traits)', () => {
    const world = new World();
    world.run([
      identify({ userId: 'ada', anonymousId: 'a1', traits: { name: 'Ada', email: 'ada@example.com' } }),
      advance(HOUR),
      identify({ userId: 'ada-work', anonymousId: 'w1', traits: { name: 'Ada L.', company: 'Acme' } }),
      advance(HOUR),
    ]);
    const before = world.state();
    world.step(mergeProfiles('user_id:ada', 'user_id:ada-work'));
    assert.deepEqual(world.profiles(), [
      ['anonymous_id:a1', 'anonymous_id:w1', 'email:ada@example.com', 'user_id:ada', 'user_id:ada-work'],
    ]);
    assert.deepEqual(world.traitsOfIdentifier('user_id:ada'), { name: 'Ada L.', email: 'ada@example.com', company: 'Acme' });
    // Absorbed ids redirect to the survivor, the oldest profile.
    const [survivor, absorbed] = [
      before.profiles.find((p) => p.identifiers.some((r) => r.identifier.value === 'ada')),
      before.profiles.find((p) => p.identifiers.some((r) => r.identifier.value === 'ada-work')),
    ];
    assert.ok(survivor !== undefined && absorbed !== undefined);
    assert.equal(world.graph.resolveProfileId(absorbed.id), survivor.id);
    world.step(advance(DAY));
    world.step(unmergeIdentifier('user_id:ada-work'));
    assert.deepEqual(world.state(), before);
    assert.equal(world.graph.resolveProfileId(absorbed.id), absorbed.id);
    // After the unmerge, a new event linking both is again a normal link (refused here by the limit).
    world.step(identify({ userId: 'ada-work', traits: { email: 'ada@example.com' } }));
    assert.equal(world.graph.size, 2);
  });
});
