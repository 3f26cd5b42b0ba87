/**
 * Privacy requests (GDPR/CCPA data-subject requests and Segment's regulation types) as data, with a
 * pure state machine.
 *
 * Types: `export` (everything held), `delete` (the person and their events), `delete_events` (events
 * only, the person stays), `redact` (remove personal data, keep aggregates), `suppress` (drop new data
 * at the API), `suppress_with_delete`, `unsuppress`.
 *
 * Lifecycle: received → running → finished | failed; a failed request may be started again (each
 * start counts an attempt); finished is final. The legal deadline is 30 days after receipt.
 */
import Type, { type Static } from 'typebox';
import { standardise } from '../identity/identifiers.ts';
import { compiledCheck, schemaProblems, type RuleProblem } from '../segments/schema-problems.ts';

const closed = { additionalProperties: false } as const;
export const DEADLINE_MS = 30 * 86_400_000;

export const PRIVACY_REQUEST_TYPES = [
  'export',
  'delete',
  'delete_events',
  'redact',
  'suppress',
  'suppress_with_delete',
  'unsuppress',
] as const;
export type PrivacyRequestType = (typeof PRIVACY_REQUEST_TYPES)[number];
export const PRIVACY_REQUEST_STATUSES = ['received', 'running', 'finished', 'failed'] as const;
export type PrivacyRequestStatus = (typeof PRIVACY_REQUEST_STATUSES)[number];

export const PrivacySubjectSchema = Type.Object(
  {
    type: Type.String({ pattern: '^[a-z0-9_.-]+$', description: 'Identifier type: user_id, email, phone, anonymous_id, …' }),
    value: Type.String({ minLength: 1, maxLength: 1000, description: 'The identifier value; standardised on receipt.' }),
  },
  { ...closed, description: 'Who the request is about: one identifier of theirs.' },
);
export type PrivacySubject = Static<typeof PrivacySubjectSchema>;

export const PrivacyRequestBodySchema = Type.Object(
  {
    type: Type.Enum(PRIVACY_REQUEST_TYPES, { description: 'What to do.' }),
    subject: PrivacySubjectSchema,
    note: Type.Optional(Type.String({ maxLength: 2000, description: 'Free text for the audit trail (ticket number, …).' })),
  },
  { ...closed, description: 'A privacy request as submitted to the API.' },
);
const checkPrivacyRequestBody = compiledCheck(PrivacyRequestBodySchema);
export type PrivacyRequestBody = Static<typeof PrivacyRequestBodySchema>;

export interface PrivacyRequest {
  readonly id: string;
  readonly type: PrivacyRequestType;
  readonly subject: PrivacySubject;
  readonly note?: string;
  readonly status: PrivacyRequestStatus;
  readonly receivedAt: number;
  /** receivedAt + 30 days. */
  readonly deadline: number;
  readonly attempts: number;
  readonly startedAt?: number;
  readonly finishedAt?: number;
  /** Why the last attempt failed. */
  readonly error?: string;
  /** What was done, by target, when finished (e.g. `{ events: 120, profiles: 1 }`). */
  readonly summary?: Readonly<Record<string, number>>;
}

export type PrivacyRequestEvent =
  | { readonly kind: 'start'; readonly at: number }
  | { readonly kind: 'finish'; readonly at: number; readonly summary?: Readonly<Record<string, number>> }
  | { readonly kind: 'fail'; readonly at: number; readonly error: string };

export type Transition = { ok: true; request: PrivacyRequest } | { ok: false; reason: string };
export type ValidatedBody = { ok: true; value: PrivacyRequestBody } | { ok: false; problems: RuleProblem[] };

/** Check a request body; the subject comes back standardised (e-mail lower-cased, phone E.164). */
export function validatePrivacyRequestBody(json: unknown): ValidatedBody {
  if (!checkPrivacyRequestBody(json)) return { ok: false, problems: schemaProblems(PrivacyRequestBodySchema, json) };
  const s = standardise(json.subject.type, json.subject.value);
  if (!s.ok) return { ok: false, problems: [{ path: '/subject/value', message: s.warning?.detail ?? 'the value is empty' }] };
  return { ok: true, value: { ...json, subject: { type: json.subject.type, value: s.identifier.value } } };
}

/** A new request, received at `now`, with its id chosen by the caller (ids are injected, not generated here). */
export function receivePrivacyRequest(id: string, body: PrivacyRequestBody, now: number): PrivacyRequest {
  return {
    id,
    type: body.type,
    subject: body.subject,
    ...(body.note !== undefined ? { note: body.note } : {}),
    status: 'received',
    receivedAt: now,
    deadline: now + DEADLINE_MS,
    attempts: 0,
  };
}

/** Move a request along its lifecycle; an event that does not fit the current status is refused. */
export function transition(request: PrivacyRequest, event: PrivacyRequestEvent): Transition {
  const refuse = (): Transition => ({ ok: false, reason: `cannot ${event.kind} a ${request.status} request` });
  switch (event.kind) {
    case 'start': {
      if (request.status !== 'received' && request.status !== 'failed') return refuse();
      const { error: _error, ...rest } = request;
      return { ok: true, request: { ...rest, status: 'running', startedAt: event.at, attempts: request.attempts + 1 } };
    }
    case 'finish':
      if (request.status !== 'running') return refuse();
      return {
        ok: true,
        request: {
          ...request,
          status: 'finished',
          finishedAt: event.at,
          ...(event.summary !== undefined ? { summary: event.summary } : {}),
        },
      };
    case 'fail':
      if (request.status !== 'running') return refuse();
      return { ok: true, request: { ...request, status: 'failed', error: event.error } };
    default: {
      const _never: never = event;
      return _never;
    }
  }
}

/** Not finished and past its legal deadline. */
export function isOverdue(request: PrivacyRequest, now: number): boolean {
  return request.status !== 'finished' && now > request.deadline;
}
