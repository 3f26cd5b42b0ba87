/**
 * The collection gate (see `processor/event-gate.ts`): suppression of erased subjects, then the
 * source's collection policy, for every event before it is de-duplicated and resolved.
 *
 * `refresh(batch)` runs before each micro-batch, outside its transaction:
 * 1. reads the privacy version (one indexed read) and reloads policies, suppression keys and the
 *    consent config when it changed — every batch, so an erasure knows that once the processor has
 *    passed a log position appended after its suppression was committed, nothing of the subject
 *    slips through;
 * 2. loads the stored consent of the people the batch names (only when a policy needs it);
 * 3. collects the consent choices events carry, for the consent inbox, so that a choice is recorded even
 *    when the policy drops or anonymises its event. `apply` hands them over with its result and the
 *    processor writes them in the batch's transaction (idempotent: a re-sent event adds nothing); the
 *    consent follower applies them once that has committed.
 * `apply` is then pure over what was loaded: the same batch is decided the same way on replay.
 */
import { encodeCarriedChanges, keepCarried } from '../core/consent/carried.ts';
import { consentChangesOf } from '../core/consent/extract.ts';
import { mergeConsents } from '../core/consent/merge.ts';
import { DEFAULT_CONSENT_CONFIG, type ConsentConfig } from '../core/consent/purposes.ts';
import { applyConsentChanges, EMPTY_CONSENT, type ConsentChange, type ConsentState } from '../core/consent/state.ts';
import { extractIdentifiers, identifierKey, type ExtractedIdentifiers, type Identifier } from '../core/identity/identifiers.ts';
import { applyCollectionPolicy } from '../core/privacy/apply-policy.ts';
import type { CollectionPolicy } from '../core/privacy/collection-policy.ts';
import { suppressionKey } from '../core/privacy/suppression.ts';
import type { CountryCode } from 'libphonenumber-js';
import { consentInboxKey, type DecodedEvent, type EventGate, type GateResult } from '../processor/event-gate.ts';
import type { PrivacyData } from '../storage/privacy/privacy-data.ts';
import type { ConsentInboxEntry } from '../storage/store.ts';
import { loadConsentConfig } from './consent-config.ts';
import type { PrivacySecrets } from './installation-secret.ts';

interface Prepared {
  extracted: ExtractedIdentifiers;
  keys: string[];
  suppressed: boolean;
}

export interface PrivacyGateOptions {
  data: PrivacyData;
  secrets: PrivacySecrets;
  phoneRegion: CountryCode;
  now: () => number;
  onError?: (err: unknown) => void;
}

export class PrivacyGate implements EventGate {
  private version = -1;
  private suppressed = new Set<string>();
  private policies = new Map<string, CollectionPolicy>();
  private config: ConsentConfig = DEFAULT_CONSENT_CONFIG;
  private prepared = new Map<DecodedEvent, Prepared>();
  private stored = new Map<string, ConsentState>();
  private inbox: ConsentInboxEntry[] = [];

  constructor(private readonly opts: PrivacyGateOptions) {}

  async refresh(batch: readonly DecodedEvent[] = []): Promise<void> {
    const data = this.opts.data;
    const version = await data.version();
    if (version !== this.version) {
      this.suppressed = new Set(await data.suppressionKeys());
      this.policies = await data.policies();
      this.config = await loadConsentConfig(data, (p) => this.opts.onError?.(new Error(`stored consent config is invalid: ${p}`)));
      this.version = version;
    }
    this.prepared = new Map();
    const needConsent = new Set<string>();
    const carriedBy: Array<{ event: DecodedEvent; identifiers: readonly string[]; changes: readonly ConsentChange[] }> = [];
    for (const e of batch) {
      const prep = this.prepare(e);
      const { keys, suppressed } = prep;
      this.prepared.set(e, prep);
      if (suppressed || keys.length === 0) continue;
      if (policyNeedsConsent(this.policies.get(e.event.sourceId))) for (const k of keys) needConsent.add(k);
      const changes = consentChangesOf(e.event, this.config).changes;
      if (changes.length > 0) carriedBy.push({ event: e, identifiers: keys, changes });
    }
    this.stored = await data.consentsOfIdentifiers([...needConsent]);
    // The banner state repeated on a visitor's events: only the entries that can matter get a row.
    const keep = keepCarried(carriedBy);
    this.inbox = carriedBy
      .filter((_, i) => keep[i])
      .map((c) => ({ dedupKey: consentInboxKey(c.event), identifiers: c.identifiers, changes: encodeCarriedChanges(c.changes) }));
  }

  apply(events: readonly DecodedEvent[]): GateResult {
    // Kept events it did not change, with what was extracted from them (for identity resolution).
    const unchanged = new Map<DecodedEvent, ExtractedIdentifiers>();
    const region = this.opts.phoneRegion;
    const result: GateResult = {
      kept: [],
      dropped: {},
      decisions: {},
      consentInbox: this.inbox,
      extractedOf: (event, withRegion) => (withRegion === region ? unchanged.get(event) : undefined),
    };
    this.inbox = [];
    const count = (into: Record<string, number>, key: string) => (into[key] = (into[key] ?? 0) + 1);
    const now = this.opts.now();
    // Choices carried by earlier events of this batch count for later events of the same people.
    const carriedInBatch = new Map<string, ConsentChange[]>();
    for (const e of events) {
      const prep = this.prepared.get(e) ?? this.prepare(e);
      if (prep.suppressed) {
        count(result.dropped, 'suppressed');
        continue;
      }
      const policy = this.policies.get(e.event.sourceId);
      if (policy === undefined) {
        count(result.decisions, 'mode:store');
        result.kept.push(e);
        unchanged.set(e, prep.extracted);
        continue;
      }
      let consent = this.storedConsentOf(prep.keys);
      const earlier = prep.keys.flatMap((k) => carriedInBatch.get(k) ?? []);
      if (earlier.length > 0) consent = applyConsentChanges(consent, earlier);
      const plan = applyCollectionPolicy(e.event, policy, consent, now, this.opts.secrets.fieldHash, this.config);
      const carried = consentChangesOf(e.event, this.config).changes;
      if (carried.length > 0) for (const k of prep.keys) carriedInBatch.set(k, [...(carriedInBatch.get(k) ?? []), ...carried]);
      for (const d of plan.decisions) count(result.decisions, metricLabel(d));
      if (plan.action === 'drop') {
        count(result.dropped, 'policy_drop');
        continue;
      }
      const changed = plan.decisions.some((d) => /^(remove|hash|anonymise):/.test(d));
      if (!changed && plan.event === e.event && plan.action !== 'restrict') {
        result.kept.push(e);
        unchanged.set(e, prep.extracted);
        continue;
      }
      result.kept.push({
        ...e,
        event: plan.event,
        payload: changed ? JSON.stringify(plan.event.message) : e.payload,
        ...(plan.action === 'restrict' ? { restricted: true } : {}),
      });
    }
    this.prepared = new Map();
    return result;
  }

  /** What `refresh` works out per event (also for an event `apply` gets without a `refresh`). */
  private prepare(e: DecodedEvent): Prepared {
    const extracted = extractIdentifiers(e.event, { defaultRegion: this.opts.phoneRegion });
    const suppressed = this.suppressed.size > 0 && this.isSuppressed(e, extracted.identifiers);
    return { extracted, keys: extracted.identifiers.map(identifierKey), suppressed };
  }

  private storedConsentOf(keys: readonly string[]): ConsentState {
    const states = new Set<ConsentState>();
    for (const k of keys) {
      const s = this.stored.get(k);
      if (s !== undefined) states.add(s);
    }
    // Normally one profile; several (a merge about to happen) combine by the merge rule.
    return [...states].reduce(mergeConsents, EMPTY_CONSENT);
  }

  private isSuppressed(e: DecodedEvent, identifiers: readonly Identifier[]): boolean {
    const secret = this.opts.secrets.suppression;
    if (identifiers.some((id) => this.suppressed.has(suppressionKey(secret, id)))) return true;
    // An alias's previousId is typed by graph state the gate does not have: check it as a user id too.
    const previous = e.event.message['previousId'];
    if (e.event.type === 'alias' && (typeof previous === 'string' || typeof previous === 'number'))
      return this.suppressed.has(suppressionKey(secret, { type: 'user_id', value: String(previous) }));
    return false;
  }
}

function policyNeedsConsent(policy: CollectionPolicy | undefined): boolean {
  if (policy === undefined) return false;
  return policy.requiredPurpose !== undefined || (policy.fieldRules ?? []).some((r) => r.unlessPurpose !== undefined);
}

/** Decision strings as metric labels: category names come from senders, so they are not labels. */
export function metricLabel(decision: string): string {
  if (decision.startsWith('consent:unknown_category:')) return 'consent:unknown_category';
  if (decision.startsWith('consent:invalid_category:')) return 'consent:invalid_category';
  return decision;
}
