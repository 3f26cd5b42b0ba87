/** Profiles, identity and accounts: `/api/v1/profiles…`, `/api/v1/identity…`, `/api/v1/traits`, `/api/v1/accounts…`. */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { TesseraError } from '../../core/errors/catalogue.ts';
import { TRAIT_CATEGORIES } from '../../core/identity/trait-catalogue.ts';
import { materialiseTraits, traitsFromRecord } from '../../core/identity/traits.ts';
import type { ChangeOutcome, ProfileService } from '../../profiles/profile-service.ts';
import type { Store } from '../../storage/store.ts';

const Limit = Type.Integer({ minimum: 1, maximum: 1000, default: 50 });
const Iso = Type.String({ format: 'date-time' });
const Json = Type.Object({}, { additionalProperties: true });

export const ProfileSchema = Type.Object(
  {
    id: Type.String(),
    traits: Json,
    traitSources: Type.Record(Type.String(), Type.Object({ at: Iso, sourceId: Type.String(), messageId: Type.String() })),
    identities: Type.Array(
      Type.Object({
        type: Type.String(),
        value: Type.String(),
        firstSeen: Iso,
        source: Type.Object({ factSeq: Type.Integer(), sourceId: Type.String(), messageId: Type.String() }),
      }),
    ),
    accounts: Type.Array(Type.String()),
    mergedProfileIds: Type.Array(Type.String()),
    mergeCount: Type.Integer(),
    firstSeen: Iso,
    createdAt: Iso,
    updatedAt: Iso,
    segments: Type.Array(Type.String(), { description: 'Ids of the live segments the profile is in.' }),
    computedTraits: Type.Record(Type.String(), Type.Unknown(), { description: 'Computed trait values by trait key.' }),
    consent: Type.Object(
      { purposes: Json, subscriptions: Json },
      { description: 'Decision per purpose and subscription status per contact point (details: /profiles/{id}/consent).' },
    ),
  },
  { $id: 'Profile' },
);

const IdentifierBody = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 64 }),
  value: Type.String({ minLength: 1, maxLength: 1000 }),
});
const Reason = Type.String({ minLength: 1, maxLength: 500, description: 'Why: kept in the merge log.' });

/** Turn a command outcome into a response: 200 with the result, 202 while the processor has not applied it. */
function answer(reply: FastifyReply, outcome: ChangeOutcome) {
  if (outcome.status === 'pending') return reply.status(202).send({ status: 'pending', requestId: outcome.requestId });
  const r = outcome.result;
  if (!r.ok)
    throw new TesseraError(
      r.code === 'profile_not_found' ? 'not_found' : r.code === 'identity_conflict' ? 'identity_conflict' : 'internal',
      r.message,
    );
  return reply.send({ status: 'done', ...r });
}

export const profilesRoutes: FastifyPluginAsyncTypebox<{ profiles: ProfileService; store: Store }> = async (app, { profiles, store }) => {
  app.get(
    '/profiles',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Search profiles by identifier prefix (`identifierType` + `identifierPrefix`) or by a trait value; cursor-paginated',
        querystring: Type.Object({
          identifierType: Type.Optional(Type.String()),
          identifierPrefix: Type.Optional(Type.String({ minLength: 1 })),
          trait: Type.Optional(Type.String({ description: 'Trait path (dots for nesting)' })),
          value: Type.Optional(Type.String()),
          after: Type.Optional(Type.String()),
          limit: Limit,
        }),
        response: { 200: Type.Object({ items: Type.Array(ProfileSchema), nextAfter: Type.Union([Type.String(), Type.Null()]) }) },
      },
    },
    async (req) => profiles.search(req.query),
  );

  app.get(
    '/profiles/lookup',
    {
      schema: {
        tags: ['profiles'],
        summary: 'The profile holding an identifier (values are standardised first: e-mails lower-cased, phones to E.164)',
        querystring: Type.Object({ type: Type.String({ minLength: 1 }), value: Type.String({ minLength: 1 }) }),
        response: { 200: ProfileSchema },
      },
    },
    async (req) => {
      const p = await profiles.lookup(req.query.type, req.query.value);
      if (p === null) throw new TesseraError('not_found', `no profile holds that ${req.query.type}`);
      return p;
    },
  );

  app.post(
    '/profiles/merge',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Merge two profiles (privileged; recorded in the merge log with its reason; undo with unmerge)',
        body: Type.Object({ profileIds: Type.Array(Type.String(), { minItems: 2, maxItems: 2 }), reason: Reason }),
      },
    },
    async (req, reply) => {
      const [a, b] = req.body.profileIds as [string, string];
      return answer(reply, await profiles.merge(a, b, req.body.reason, 'admin'));
    },
  );

  app.get(
    '/profiles/:id',
    {
      schema: {
        tags: ['profiles'],
        summary: 'One profile; a merged-away id answers 308 to its surviving profile',
        params: Type.Object({ id: Type.String() }),
        response: { 200: ProfileSchema },
      },
    },
    async (req, reply) => {
      const p = await profiles.get(req.params.id);
      if (p === null) throw new TesseraError('not_found', `profile ${req.params.id} does not exist`);
      if (p.id !== req.params.id) return reply.redirect(`/api/v1/profiles/${encodeURIComponent(p.id)}`, 308);
      return p;
    },
  );

  app.get(
    '/profiles/:id/events',
    {
      schema: {
        tags: ['profiles'],
        summary: "The profile's timeline: events of every identifier it holds (anonymous ones included), newest first",
        params: Type.Object({ id: Type.String() }),
        querystring: Type.Object({ before: Type.Optional(Type.Integer({ minimum: 1 })), limit: Limit }),
      },
    },
    async (req) => {
      const page = await profiles.events(req.params.id, req.query);
      if (page === null) throw new TesseraError('not_found', `profile ${req.params.id} does not exist`);
      return {
        items: page.items.map((e) => ({
          ...e,
          timestamp: new Date(e.timestamp).toISOString(),
          receivedAt: new Date(e.receivedAt).toISOString(),
        })),
        nextBefore: page.nextBefore,
      };
    },
  );

  app.get(
    '/profiles/:id/identities',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Identities with provenance (the fact and event that brought each)',
        params: Type.Object({ id: Type.String() }),
      },
    },
    async (req) => {
      const p = await profiles.get(req.params.id);
      if (p === null) throw new TesseraError('not_found', `profile ${req.params.id} does not exist`);
      return { profileId: p.id, items: p.identities };
    },
  );

  app.get(
    '/profiles/:id/merges',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Merge history: every merge and unmerge this profile took part in',
        params: Type.Object({ id: Type.String() }),
      },
    },
    async (req) => {
      const items = await profiles.merges(req.params.id);
      if (items === null) throw new TesseraError('not_found', `profile ${req.params.id} does not exist`);
      return { items: items.map((m) => ({ ...m, at: new Date(m.at).toISOString() })) };
    },
  );

  app.post(
    '/profiles/:id/unmerge',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Detach an identifier, and what only it brought, into a profile of its own',
        params: Type.Object({ id: Type.String() }),
        body: Type.Object({ identifier: IdentifierBody, reason: Reason }),
      },
    },
    async (req, reply) => answer(reply, await profiles.unmerge(req.params.id, req.body.identifier, req.body.reason, 'admin')),
  );

  app.get('/identity/rules', { schema: { tags: ['identity'], summary: 'The identity rules in force (JSON configuration)' } }, async () => ({
    rules: await profiles.rules(),
  }));

  app.put(
    '/identity/rules',
    {
      schema: {
        tags: ['identity'],
        summary: 'Replace the identity rules (priority, limits, blocked values per identifier type; merge and identifier caps)',
        body: Type.Object({ rules: Json }),
      },
    },
    async (req, reply) => answer(reply, await profiles.setRules(req.body.rules, 'admin')),
  );

  app.get(
    '/identity/warnings',
    {
      schema: {
        tags: ['identity'],
        summary: 'Refused links and dropped identifiers, with their reason, newest first',
        querystring: Type.Object({
          profileId: Type.Optional(Type.String()),
          before: Type.Optional(Type.Integer({ minimum: 1 })),
          limit: Limit,
        }),
      },
    },
    async (req) => {
      const q = req.query;
      const rows = await store.listIdentityWarnings({ profileId: q.profileId, beforeId: q.before, limit: q.limit });
      const last = rows[rows.length - 1];
      return {
        items: rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
        nextBefore: rows.length === q.limit && last ? last.id : null,
      };
    },
  );

  app.get(
    '/commands/:requestId',
    {
      schema: {
        tags: ['identity'],
        summary: 'The result of a merge, unmerge or rules change answered 202',
        params: Type.Object({ requestId: Type.String() }),
      },
    },
    async (req, reply) => {
      const result = await profiles.commandResult(req.params.requestId);
      if (result === null) return reply.status(202).send({ status: 'pending', requestId: req.params.requestId });
      return { status: 'done', ...result };
    },
  );

  app.get('/traits', { schema: { tags: ['traits'], summary: 'The trait catalogue discovered from the data' } }, async () => ({
    items: (await store.listTraitCatalogue()).map((t) => ({
      ...t,
      firstSeen: new Date(t.firstSeen).toISOString(),
      lastSeen: new Date(t.lastSeen).toISOString(),
    })),
  }));

  app.patch(
    '/traits/:name',
    {
      schema: {
        tags: ['traits'],
        summary: "Correct a trait's category or PII flag",
        params: Type.Object({ name: Type.String() }),
        body: Type.Object({
          category: Type.Optional(Type.Union(TRAIT_CATEGORIES.map((c) => Type.Literal(c)))),
          pii: Type.Optional(Type.Boolean()),
        }),
      },
    },
    async (req) => {
      const t = await store.updateTraitCatalogue(req.params.name, req.body);
      if (t === null) throw new TesseraError('not_found', `trait ${req.params.name} is not in the catalogue`);
      return { ...t, firstSeen: new Date(t.firstSeen).toISOString(), lastSeen: new Date(t.lastSeen).toISOString() };
    },
  );

  app.get(
    '/accounts/:id',
    { schema: { tags: ['accounts'], summary: 'An account (group) with its traits', params: Type.Object({ id: Type.String() }) } },
    async (req) => {
      const a = await store.getAccount(req.params.id);
      if (a === null) throw new TesseraError('not_found', `account ${req.params.id} does not exist`);
      return {
        id: a.id,
        traits: materialiseTraits(traitsFromRecord(a.traits)),
        createdAt: new Date(a.createdAt).toISOString(),
        updatedAt: new Date(a.updatedAt).toISOString(),
      };
    },
  );

  app.get(
    '/accounts/:id/members',
    {
      schema: {
        tags: ['accounts'],
        summary: "The account's member profiles, cursor-paginated",
        params: Type.Object({ id: Type.String() }),
        querystring: Type.Object({ after: Type.Optional(Type.String()), limit: Limit }),
      },
    },
    async (req) => {
      const rows = await store.accountMembers(req.params.id, { afterProfileId: req.query.after, limit: req.query.limit });
      const last = rows[rows.length - 1];
      return {
        items: rows.map((m) => ({ profileId: m.profileId, since: new Date(m.since).toISOString() })),
        nextAfter: rows.length === req.query.limit && last ? last.profileId : null,
      };
    },
  );
};
