/**
 * Profiles as the API and CLI see them: bodies read in one go through their own port
 * (`storage/profile-bodies/`, one statement on PostgreSQL), other reads straight from the store, and
 * identity changes (explicit merge, unmerge, new rules) sent through the durable log as commands, so the
 * processor — the one writer of identity — applies them in order with the events, and the answer is read
 * back.
 */
import { randomUUID } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
import { consentSummary, type ConsentSummary } from '../core/consent/decide.ts';
import type { ConsentConfig } from '../core/consent/purposes.ts';
import { EMPTY_CONSENT } from '../core/consent/state.ts';
import { TesseraError } from '../core/errors/catalogue.ts';
import { identifierKey, materialiseTraits, standardise, traitsFromRecord, validateRules, type Identifier } from '../core/identity/index.ts';
import type { EventLog } from '../log/event-log.ts';
import type { CommandResult, ProcessorCommand } from '../processor/commands.ts';
import { IDENTITY_RULES_SETTING } from '../processor/processor.ts';
import { parseConsentConfig } from '../privacy/consent-config.ts';
import type { ProfileBodies, ProfileBody } from '../storage/profile-bodies/profile-bodies.ts';
import type { StoredEvent, StoredMergeLogEntry, Store } from '../storage/store.ts';

export interface ProfileView {
  id: string;
  traits: Record<string, unknown>;
  /** Where each trait value came from: encoded path → the event that wrote it. */
  traitSources: Record<string, { at: string; sourceId: string; messageId: string }>;
  identities: Array<{ type: string; value: string; firstSeen: string; source: { factSeq: number; sourceId: string; messageId: string } }>;
  accounts: string[];
  mergedProfileIds: string[];
  mergeCount: number;
  firstSeen: string;
  createdAt: string;
  updatedAt: string;
  /** Ids of the live segments the profile is in. */
  segments: string[];
  /** Computed trait values by trait key. */
  computedTraits: Record<string, unknown>;
  /** Consent decision per purpose and subscription status per contact point. */
  consent: ConsentSummary;
}

export type ChangeOutcome = { status: 'done'; result: CommandResult } | { status: 'pending'; requestId: string };

const iso = (ms: number): string => new Date(ms).toISOString();

export class ProfileService {
  constructor(
    private readonly store: Store,
    private readonly bodies: ProfileBodies,
    private readonly log: EventLog,
    private readonly options: {
      phoneRegion: CountryCode;
      processorRunning: boolean;
      now: () => number;
      commandWaitMs?: number;
    },
  ) {}

  async get(id: string): Promise<ProfileView | null> {
    return (await this.views(await this.bodies.byIds([id])))[0] ?? null;
  }

  /** The profile holding an identifier, after standardising the value (e-mails lower-cased, phones to E.164). */
  async lookup(type: string, value: string): Promise<ProfileView | null> {
    return (await this.views(await this.bodies.holding([this.keyOf(type, value)])))[0] ?? null;
  }

  async search(q: { identifierType?: string; identifierPrefix?: string; trait?: string; value?: string; after?: string; limit: number }) {
    if (q.trait !== undefined && q.value === undefined) throw new TesseraError('validation_failed', 'searching by trait needs `value`');
    const prefix =
      q.identifierPrefix === undefined
        ? undefined
        : `${q.identifierType ?? ''}${q.identifierType === undefined ? '' : ':'}${q.identifierPrefix}`;
    if (prefix !== undefined && q.identifierType === undefined)
      throw new TesseraError('validation_failed', 'searching by identifier prefix needs `identifierType` (e.g. email)');
    const trait = q.trait === undefined ? undefined : { path: q.trait, value: parseScalar(q.value as string) };
    const ids = await this.store.searchProfileIds({
      identifierPrefix: prefix === undefined ? undefined : prefix.toLowerCase().startsWith('email:') ? prefix.toLowerCase() : prefix,
      trait,
      afterId: q.after,
      limit: q.limit,
    });
    // The ids only, then the bodies in one read.
    const items = await this.views(await this.bodies.byIds(ids));
    const last = ids[ids.length - 1];
    return { items, nextAfter: ids.length === q.limit && last !== undefined ? last : null };
  }

  async events(id: string, page: { before?: number; limit: number }): Promise<{ items: StoredEvent[]; nextBefore: number | null } | null> {
    const p = await this.store.getProfile(id);
    if (p === null) return null;
    const items = await this.store.profileEvents(p.snapshot.id, { beforeSeq: page.before, limit: page.limit });
    const last = items[items.length - 1];
    return { items, nextBefore: items.length === page.limit && last ? last.seq : null };
  }

  async merges(id: string): Promise<StoredMergeLogEntry[] | null> {
    const p = await this.store.getProfile(id);
    if (p === null) return null;
    return this.store.mergeLog([p.snapshot.id, ...p.snapshot.absorbed, id], 1000);
  }

  async merge(profileA: string, profileB: string, reason: string, actor: string): Promise<ChangeOutcome> {
    return this.send({ command: 'merge', requestId: randomUUID(), profileA, profileB, reason, actor });
  }

  async unmerge(profileId: string, identifier: Identifier, reason: string, actor: string): Promise<ChangeOutcome> {
    return this.send({ command: 'unmerge', requestId: randomUUID(), profileId, identifier, reason, actor });
  }

  async rules(): Promise<unknown> {
    const raw = await this.store.getSetting(IDENTITY_RULES_SETTING);
    return raw === null ? {} : (JSON.parse(raw) as unknown);
  }

  /** Validate and store new identity rules; the processor applies them from the next event on (in log order). */
  async setRules(config: unknown, actor: string): Promise<ChangeOutcome> {
    const checked = validateRules(config);
    if (!checked.ok) throw new TesseraError('validation_failed', checked.errors.join('; '));
    await this.store.setSetting(IDENTITY_RULES_SETTING, JSON.stringify(config));
    return this.send({ command: 'reload_rules', requestId: randomUUID(), actor });
  }

  private async send(cmd: ProcessorCommand): Promise<ChangeOutcome> {
    await this.log.append({
      sourceId: '',
      receivedAt: this.options.now(),
      typeHint: null,
      shape: 'command',
      body: JSON.stringify(cmd),
      messages: 0,
    });
    if (!this.options.processorRunning) return { status: 'pending', requestId: cmd.requestId };
    const deadline = Date.now() + (this.options.commandWaitMs ?? 10_000);
    for (;;) {
      const result = (await this.store.commandResult(cmd.requestId)) as CommandResult | null;
      if (result !== null) return { status: 'done', result };
      if (Date.now() > deadline) return { status: 'pending', requestId: cmd.requestId };
      await new Promise((r) => setTimeout(r, 15));
    }
  }

  async commandResult(requestId: string): Promise<CommandResult | null> {
    return (await this.store.commandResult(requestId)) as CommandResult | null;
  }

  keyOf(type: string, value: string): string {
    const s = standardise(type, value, this.options.phoneRegion);
    if (!s.ok) throw new TesseraError('validation_failed', `${type} ${JSON.stringify(value)} is not a valid identifier of that type`);
    return identifierKey(s.identifier);
  }

  private views(read: { bodies: ProfileBody[]; consentConfig: string | null }): ProfileView[] {
    if (read.bodies.length === 0) return [];
    // A stored configuration that no longer validates shows the defaults (the collection gate reports it).
    const config = parseConsentConfig(read.consentConfig);
    const now = this.options.now();
    return read.bodies.map((b) => this.view(b, config, now));
  }

  private view(b: ProfileBody, config: ConsentConfig, now: number): ProfileView {
    const p = b.profile;
    const map = traitsFromRecord(p.traits);
    const traitSources: ProfileView['traitSources'] = {};
    for (const [path, e] of map) if (e.value !== null) traitSources[path] = { at: iso(e.at), sourceId: e.sourceId, messageId: e.messageId };
    return {
      id: p.snapshot.id,
      traits: materialiseTraits(map),
      traitSources,
      identities: p.snapshot.identifiers.map((r) => ({
        type: r.identifier.type,
        value: r.identifier.value,
        firstSeen: iso(r.firstSeen),
        source: { factSeq: r.broughtBy.seq, sourceId: r.broughtBy.sourceId, messageId: r.broughtBy.eventMessageId },
      })),
      accounts: b.accounts,
      mergedProfileIds: p.snapshot.absorbed,
      mergeCount: p.snapshot.mergeCount,
      firstSeen: iso(p.snapshot.firstSeen),
      createdAt: iso(p.createdAt),
      updatedAt: iso(p.updatedAt),
      segments: b.segments,
      computedTraits: b.computed,
      consent: consentSummary(b.consent ?? EMPTY_CONSENT, b.subscriptions, config, now),
    };
  }
}

/** A query-string value as a JSON scalar when it is one (`42`, `true`), else the text itself. */
function parseScalar(text: string): string | number | boolean {
  if (text === 'true' || text === 'false') return text === 'true';
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}
