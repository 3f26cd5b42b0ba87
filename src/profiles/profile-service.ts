/**
 * Profiles as the API and CLI see them: reads straight from the store, and identity changes (explicit
 * merge, unmerge, new rules) sent through the durable log as commands, so the processor — the one
 * writer of identity — applies them in order with the events, and the answer is read back.
 */
import { randomUUID } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
import { TesseraError } from '../core/errors/catalogue.ts';
import { identifierKey, materialiseTraits, standardise, traitsFromRecord, validateRules, type Identifier } from '../core/identity/index.ts';
import type { EventLog } from '../log/event-log.ts';
import type { CommandResult, ProcessorCommand } from '../processor/commands.ts';
import { IDENTITY_RULES_SETTING } from '../processor/processor.ts';
import type { StoredEvent, StoredMergeLogEntry, StoredProfile, Store } from '../storage/store.ts';

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
  /** Segments the profile is in (when segments are wired in). */
  segments?: string[];
  /** Computed trait values by trait key (when segments are wired in). */
  computedTraits?: Record<string, unknown>;
  /** Consent decisions per purpose and subscription per contact point (when privacy is wired in). */
  consent?: ProfileConsentSummary;
}

export interface ProfileConsentSummary {
  purposes: Record<string, { allowed: boolean; reason: string }>;
  subscriptions: Record<string, string>;
}

/** What the profile body shows of consent; optional so profiles work without it. */
export interface ProfileConsent {
  /** `identifierKeys`: the profile's identifiers (`type:value`), which the body already holds. */
  summaryOf(profileId: string, identifierKeys: readonly string[]): Promise<ProfileConsentSummary>;
}

/** What the profile body shows of segments; optional so profiles work without them. */
export interface ProfileAudiences {
  segmentsOf(profileId: string): Promise<string[]>;
  computedOf(profileId: string): Promise<Record<string, unknown>>;
}

export type ChangeOutcome = { status: 'done'; result: CommandResult } | { status: 'pending'; requestId: string };

const iso = (ms: number): string => new Date(ms).toISOString();

export class ProfileService {
  constructor(
    private readonly store: Store,
    private readonly log: EventLog,
    private readonly options: {
      phoneRegion: CountryCode;
      processorRunning: boolean;
      now: () => number;
      commandWaitMs?: number;
      audiences?: ProfileAudiences;
      consent?: ProfileConsent;
    },
  ) {}

  async get(id: string): Promise<ProfileView | null> {
    const p = await this.store.getProfile(id);
    return p === null ? null : this.view(p);
  }

  /** The profile holding an identifier, after standardising the value (e-mails lower-cased, phones to E.164). */
  async lookup(type: string, value: string): Promise<ProfileView | null> {
    const p = await this.store.profileHolding(this.keyOf(type, value));
    return p === null ? null : this.view(p);
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
    const rows = await this.store.searchProfiles({
      identifierPrefix: prefix === undefined ? undefined : prefix.toLowerCase().startsWith('email:') ? prefix.toLowerCase() : prefix,
      trait,
      afterId: q.after,
      limit: q.limit,
    });
    const items = await Promise.all(rows.map((p) => this.view(p)));
    const last = rows[rows.length - 1];
    return { items, nextAfter: rows.length === q.limit && last ? last.snapshot.id : null };
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

  private async view(p: StoredProfile): Promise<ProfileView> {
    // Independent reads, side by side: on PostgreSQL each is a round trip, and a lookup is a hot path.
    const id = p.snapshot.id;
    const audiences = this.options.audiences;
    const consent = this.options.consent;
    const [accounts, segments, computedTraits, consentSummary] = await Promise.all([
      this.store.accountsOf(id),
      audiences?.segmentsOf(id),
      audiences?.computedOf(id),
      consent?.summaryOf(
        id,
        p.snapshot.identifiers.map((r) => identifierKey(r.identifier)),
      ),
    ]);
    const map = traitsFromRecord(p.traits);
    const traitSources: ProfileView['traitSources'] = {};
    for (const [path, e] of map) if (e.value !== null) traitSources[path] = { at: iso(e.at), sourceId: e.sourceId, messageId: e.messageId };
    return {
      id,
      traits: materialiseTraits(map),
      traitSources,
      identities: p.snapshot.identifiers.map((r) => ({
        type: r.identifier.type,
        value: r.identifier.value,
        firstSeen: iso(r.firstSeen),
        source: { factSeq: r.broughtBy.seq, sourceId: r.broughtBy.sourceId, messageId: r.broughtBy.eventMessageId },
      })),
      accounts,
      mergedProfileIds: p.snapshot.absorbed,
      mergeCount: p.snapshot.mergeCount,
      firstSeen: iso(p.snapshot.firstSeen),
      createdAt: iso(p.createdAt),
      updatedAt: iso(p.updatedAt),
      ...(audiences ? { segments, computedTraits } : {}),
      ...(consent ? { consent: consentSummary } : {}),
    };
  }
}

/** A query-string value as a JSON scalar when it is one (`42`, `true`), else the text itself. */
function parseScalar(text: string): string | number | boolean {
  if (text === 'true' || text === 'false') return text === 'true';
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}
