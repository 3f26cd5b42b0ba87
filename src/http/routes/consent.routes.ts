/**
 * Consent and subscriptions for operators: `/api/v1/profiles/:id/consent…`, `/api/v1/consent/…`.
 * Every change made here is audited with the operator named in the body.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OPT_IN_METHODS } from '../../core/consent/subscriptions.ts';
import { TesseraError } from '../../core/errors/catalogue.ts';
import type { ConsentService } from '../../consent/consent-service.ts';

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const Operator = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'Who records the change (kept in the proof and the audit log).',
});
const Iso = Type.String({ format: 'date-time' });
const Change = Type.Object(
  {
    purpose: Type.String({ pattern: '^[a-z][a-z0-9_]*$', maxLength: 64 }),
    choice: Type.Union([Type.Literal('granted'), Type.Literal('denied')]),
    at: Type.Optional({ ...Iso, description: 'When the person chose (default now).' }),
    expiresAt: Type.Optional(Iso),
    textVersion: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    ip: Type.Optional(Type.String({ maxLength: 100 })),
    userAgent: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
const Channel = Type.Union([Type.Literal('email'), Type.Literal('sms')]);
const Address = Type.String({ minLength: 3, maxLength: 254 });

export const consentRoutes: FastifyPluginAsyncTypebox<{ consent: ConsentService }> = async (app, { consent }) => {
  app.get(
    '/profiles/:id/consent',
    {
      schema: {
        tags: ['consent'],
        summary: "A profile's consent per purpose with full history and proof, its subscriptions, and the decisions",
        params: IdParams,
      },
    },
    async (req) => {
      const view = await consent.ofProfile(req.params.id);
      if (view === null) throw new TesseraError('not_found', `profile ${req.params.id} does not exist`);
      return view;
    },
  );

  app.put(
    '/profiles/:id/consent',
    {
      schema: {
        tags: ['consent'],
        summary: 'Record consent choices for a profile (source `api`, or `import`), each with its proof; audited',
        params: IdParams,
        body: Type.Object(
          {
            operator: Operator,
            source: Type.Optional(Type.Union([Type.Literal('api'), Type.Literal('import')])),
            changes: Type.Array(Change, { minItems: 1, maxItems: 100 }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const view = await consent.change(req.params.id, req.body.changes, req.body.operator, req.body.source ?? 'api');
      if (view === null) throw new TesseraError('not_found', `profile ${req.params.id} does not exist`);
      return view;
    },
  );

  app.get(
    '/profiles/:id/consent/decisions',
    {
      schema: {
        tags: ['consent'],
        summary: "May this profile's data be used for a purpose? Without `purpose`, every configured purpose",
        params: IdParams,
        querystring: Type.Object({ purpose: Type.Optional(Type.String({ maxLength: 64 })) }),
      },
    },
    async (req) => {
      if (req.query.purpose !== undefined) {
        const d = await consent.mayUse(req.params.id, req.query.purpose);
        if (d === null) throw new TesseraError('not_found', `profile ${req.params.id} does not exist`);
        return { profileId: d.profileId, decisions: { [d.purpose]: d.decision } };
      }
      const view = await consent.ofProfile(req.params.id);
      if (view === null) throw new TesseraError('not_found', `profile ${req.params.id} does not exist`);
      return { profileId: view.profileId, decisions: view.decisions };
    },
  );

  app.post(
    '/consent/import',
    {
      schema: {
        tags: ['consent'],
        summary: 'Import consent choices by subject identifier (source `import`); answers the indexes of subjects not found',
        body: Type.Object(
          {
            operator: Operator,
            records: Type.Array(
              Type.Object({
                subject: Type.Object({
                  type: Type.String({ minLength: 1, maxLength: 64 }),
                  value: Type.String({ minLength: 1, maxLength: 1000 }),
                }),
                changes: Type.Array(Change, { minItems: 1, maxItems: 100 }),
              }),
              { minItems: 1, maxItems: 1000 },
            ),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => consent.import(req.body.records, req.body.operator),
  );

  app.get(
    '/consent/config',
    { schema: { tags: ['consent'], summary: 'Consent purposes, category aliases and channel defaults' } },
    async () => consent.config(),
  );

  app.put(
    '/consent/config',
    {
      schema: {
        tags: ['consent'],
        summary: 'Replace the consent purposes config (validated; refused if a collection policy would name a removed purpose; audited)',
        body: Type.Object({ operator: Operator, config: Type.Object({}, { additionalProperties: true }) }, { additionalProperties: false }),
      },
    },
    async (req) => consent.setConfig(req.body.config, req.body.operator),
  );

  app.get(
    '/consent/subscriptions',
    {
      schema: {
        tags: ['consent'],
        summary: 'The subscription of one contact point (did_not_subscribe when nothing was recorded)',
        querystring: Type.Object({ channel: Channel, address: Address }),
      },
    },
    async (req) => consent.subscription(req.query.channel, req.query.address),
  );

  app.put(
    '/consent/subscriptions',
    {
      schema: {
        tags: ['consent'],
        summary:
          'Subscribe or unsubscribe a contact point. Marketing SMS needs opt-in proof (method + textVersion, or keyword): else 400 missing_opt_in_proof',
        body: Type.Object(
          {
            operator: Operator,
            channel: Channel,
            address: Address,
            status: Type.Union([Type.Literal('subscribed'), Type.Literal('unsubscribed')]),
            proof: Type.Optional(
              Type.Object(
                {
                  method: Type.Optional(Type.Union(OPT_IN_METHODS.map((m) => Type.Literal(m)))),
                  textVersion: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
                  keyword: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
                  at: Type.Optional(Iso),
                  ip: Type.Optional(Type.String({ maxLength: 100 })),
                  userAgent: Type.Optional(Type.String({ maxLength: 500 })),
                },
                { additionalProperties: false },
              ),
            ),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const { at, ...proof } = req.body.proof ?? {};
      const when = at === undefined ? undefined : Date.parse(at);
      return consent.setSubscription(
        req.body.channel,
        req.body.address,
        req.body.status,
        { ...proof, ...(when !== undefined ? { at: when } : {}) },
        req.body.operator,
      );
    },
  );

  app.get(
    '/consent/contact-decision',
    {
      schema: {
        tags: ['consent'],
        summary:
          'May a marketing message go to this contact point on this channel? (consent of the profile holding it, and its subscription)',
        querystring: Type.Object({ channel: Channel, address: Address }),
      },
    },
    async (req) => consent.mayContact(req.query.channel, req.query.address),
  );

  app.post(
    '/consent/unsubscribe-links',
    {
      schema: {
        tags: ['consent'],
        summary: 'A signed one-click unsubscribe link for an e-mail address (for templates and List-Unsubscribe headers)',
        body: Type.Object({ email: Address }, { additionalProperties: false }),
      },
    },
    async (req) => {
      const token = consent.unsubscribeToken(req.body.email);
      return { token, path: `/v1/consent/unsubscribe?token=${token}` };
    },
  );
};
