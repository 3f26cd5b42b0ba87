import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../../src/core/event/event.ts';
import {
  materialiseTraits,
  mergeTraits,
  splitTraitPath,
  traitPath,
  traitsFromRecord,
  traitsToRecord,
  traitUpdateOf,
  writeTraits,
  type TraitMap,
} from '../../../src/core/identity/index.ts';
import { aGroup, anIdentify, aTrack, T0 } from './builders.ts';

/** Apply identify traits given as [time, traits] pairs, in the order listed. */
function traitsAfter(...writes: [number, JsonObject][]): JsonObject {
  const map: TraitMap = new Map();
  writes.forEach(([at, traits], i) => writeTraits(map, traits, { at, sourceId: 'web', messageId: `m${i}` }));
  return materialiseTraits(map);
}

describe('trait writes', () => {
  const cases: { name: string; writes: [number, JsonObject][]; expect: JsonObject }[] = [
    {
      name: 'newer wins',
      writes: [
        [1, { plan: 'free' }],
        [2, { plan: 'pro' }],
      ],
      expect: { plan: 'pro' },
    },
    {
      name: 'an older write arriving late loses',
      writes: [
        [2, { plan: 'pro' }],
        [1, { plan: 'free' }],
      ],
      expect: { plan: 'pro' },
    },
    {
      name: 'nested objects merge per leaf',
      writes: [
        [1, { address: { city: 'Oslo', zip: '0150' } }],
        [2, { address: { city: 'Bergen' } }],
      ],
      expect: { address: { city: 'Bergen', zip: '0150' } },
    },
    {
      name: 'null unsets',
      writes: [
        [1, { a: 1, b: 2 }],
        [2, { a: null }],
      ],
      expect: { b: 2 },
    },
    {
      name: 'an older value cannot resurrect an unset',
      writes: [
        [2, { a: null }],
        [1, { a: 1 }],
      ],
      expect: {},
    },
    {
      name: 'null on an object clears its leaves',
      writes: [
        [1, { address: { city: 'Oslo' } }],
        [2, { address: null }],
        [1, { address: { zip: '1' } }],
      ],
      expect: {},
    },
    {
      name: 'a newer scalar replaces an object',
      writes: [
        [1, { a: { b: 1 } }],
        [2, { a: 5 }],
      ],
      expect: { a: 5 },
    },
    {
      name: 'a newer leaf replaces an older scalar with an object',
      writes: [
        [2, { a: { b: 1 } }],
        [1, { a: 5 }],
      ],
      expect: { a: { b: 1 } },
    },
    {
      name: 'unsetting below an older scalar unsets it (the write says it is an object)',
      writes: [
        [1, { a: 5 }],
        [2, { a: { b: null } }],
      ],
      expect: {},
    },
    {
      name: 'unsetting below a newer scalar changes nothing',
      writes: [
        [2, { a: 5 }],
        [1, { a: { b: null } }],
      ],
      expect: { a: 5 },
    },
    {
      name: 'an object emptied by unsets disappears',
      writes: [
        [1, { a: 5 }],
        [2, { a: { b: { c: 1 } } }],
        [3, { a: { b: { c: null } } }],
      ],
      expect: {},
    },
    {
      name: 'arrays are leaves',
      writes: [
        [1, { tags: ['a', 'b'] }],
        [2, { tags: ['c'] }],
      ],
      expect: { tags: ['c'] },
    },
    {
      name: 'an empty object writes nothing',
      writes: [
        [1, { a: { b: 1 } }],
        [2, { a: {} }],
      ],
      expect: { a: { b: 1 } },
    },
    {
      name: 'keys with dots and tildes stay keys',
      writes: [[1, { 'a.b': 1, 'c~d': { 'e.f': 2 } }]],
      expect: { 'a.b': 1, 'c~d': { 'e.f': 2 } },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(traitsAfter(...c.writes), c.expect));

  it('keeps provenance per trait', () => {
    const map: TraitMap = new Map();
    writeTraits(map, { plan: 'pro' }, { at: T0, sourceId: 'crm', messageId: 'm-9' });
    assert.deepEqual(map.get('plan'), { value: 'pro', at: T0, sourceId: 'crm', messageId: 'm-9' });
  });

  it('breaks time ties deterministically, whatever the arrival order', () => {
    const one = (order: 0 | 1): JsonObject => {
      const map: TraitMap = new Map();
      const writes = [
        { traits: { plan: 'a' }, p: { at: T0, sourceId: 'web', messageId: 'm1' } },
        { traits: { plan: 'b' }, p: { at: T0, sourceId: 'web', messageId: 'm2' } },
      ];
      for (const w of order === 0 ? writes : writes.reverse()) writeTraits(map, w.traits, w.p);
      return materialiseTraits(map);
    };
    assert.deepEqual(one(0), one(1));
  });

  it('a trait named __proto__ is an ordinary key and survives storage', () => {
    const map: TraitMap = new Map();
    writeTraits(map, JSON.parse('{"__proto__": {"polluted": true}}') as JsonObject, { at: 1, sourceId: 's', messageId: 'm' });
    const stored = traitsFromRecord(JSON.parse(JSON.stringify(traitsToRecord(map))));
    const out = materialiseTraits(stored);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('paths round-trip', () => {
    for (const segments of [['a'], ['a.b', 'c'], ['~1', '.', '~']]) assert.deepEqual(splitTraitPath(traitPath(segments)), segments);
  });
});

describe('merging trait maps', () => {
  it('takes the newest value per trait from either profile', () => {
    const a: TraitMap = new Map();
    const b: TraitMap = new Map();
    writeTraits(a, { name: 'Ada', plan: 'pro' }, { at: 2, sourceId: 'web', messageId: 'a' });
    writeTraits(b, { name: 'Ada L.', company: 'Acme' }, { at: 3, sourceId: 'web', messageId: 'b' });
    writeTraits(b, { plan: 'free' }, { at: 1, sourceId: 'web', messageId: 'c' });
    assert.deepEqual(materialiseTraits(mergeTraits(a, b)), { name: 'Ada L.', plan: 'pro', company: 'Acme' });
    assert.deepEqual(mergeTraits(a, b), mergeTraits(b, a));
  });
});

describe('traitUpdateOf', () => {
  it('sends identify traits to the profile and group traits to the account', () => {
    assert.deepEqual(traitUpdateOf(anIdentify({ userId: 'u1', traits: { a: 1 } })), { target: 'profile', traits: { a: 1 } });
    assert.deepEqual(traitUpdateOf(aGroup({ userId: 'u1', groupId: 'acme', traits: { seats: 5 } })), {
      target: 'group',
      groupId: 'acme',
      traits: { seats: 5 },
    });
    assert.equal(traitUpdateOf(aTrack({ userId: 'u1', context: { traits: { a: 1 } } })), null);
  });
});
