/**
 * Segments and computed traits as the API and CLI see them: definitions validated and stored (the
 * runner computes them in the background), reads of members, sizes and the audience-events feed, and
 * a preview that evaluates a rule over every profile without storing anything (`segment-preview.ts`).
 */
import { randomUUID } from 'node:crypto';
import { TesseraError } from '../core/errors/catalogue.ts';
import {
  compileAudiences,
  describeProblems,
  parseRule,
  printRule,
  referencedSegments,
  validateComputedTrait,
  validateRule,
  type ComputedTraitDefinition,
  type Condition,
} from '../core/segments/index.ts';
import type { AudienceEvent, ComputedTraitRecord, Member, SegmentRecord, SegmentStore } from '../storage/segments/segment-store.ts';
import { previewRule, type PreviewResult } from './segment-preview.ts';

export type { PreviewResult } from './segment-preview.ts';

export interface RuleInput {
  query?: string;
  definition?: unknown;
}

export interface SegmentInput extends RuleInput {
  id?: string;
  name: string;
  description?: string;
}

export interface SegmentView {
  id: string;
  name: string;
  description: string | null;
  query: string;
  definition: Condition;
  status: SegmentRecord['status'];
  progress: number;
  error: string | null;
  size: number;
  createdAt: string;
  updatedAt: string;
  liveAt: string | null;
}

export interface ComputedTraitView {
  id: string;
  name: string;
  key: string;
  definition: ComputedTraitDefinition;
  status: ComputedTraitRecord['status'];
  progress: number;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  liveAt: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class SegmentService {
  constructor(
    private readonly store: SegmentStore,
    private readonly options: {
      now: () => number;
      newId?: () => string;
      /** Told after a definition changes, so a runner in this thread starts the backfill at once. */
      onChange?: () => void;
    },
  ) {}

  /** The rule of a request: text (`query`) or a tree (`definition`), exactly one of them. */
  parse(input: RuleInput): { rule: Condition; query: string } {
    if ((input.query === undefined) === (input.definition === undefined)) {
      throw new TesseraError('validation_failed', 'send the rule as `query` (text) or as `definition` (a rule tree), one of the two');
    }
    if (input.query !== undefined) {
      const parsed = parseRule(input.query);
      if (!parsed.ok) {
        const e = parsed.error;
        throw new TesseraError('validation_failed', `query: line ${e.line}, column ${e.column}: ${e.message}`);
      }
      return { rule: parsed.value, query: input.query };
    }
    const checked = validateRule(input.definition);
    if (!checked.ok) throw new TesseraError('validation_failed', `definition: ${describeProblems(checked.problems)}`);
    return { rule: checked.value, query: printRule(checked.value) };
  }

  /** The rule must compile with every other segment: references known, no cycle. */
  private async checkWithOthers(id: string, rule: Condition): Promise<void> {
    const others = (await this.store.listSegments()).filter((s) => s.id !== id);
    const compiled = compileAudiences([...others.map((s) => ({ id: s.id, rule: s.rule })), { id, rule }], []);
    if (!compiled.ok) throw new TesseraError('validation_failed', describeProblems(compiled.problems));
  }

  async create(input: SegmentInput): Promise<SegmentView> {
    const { rule, query } = this.parse(input);
    const id = input.id ?? this.options.newId?.() ?? randomUUID();
    if (referencedSegments(rule).includes(id)) throw new TesseraError('validation_failed', `the rule refers to its own segment '${id}'`);
    await this.checkWithOthers(id, rule);
    const now = this.options.now();
    const record: SegmentRecord = {
      id,
      name: input.name,
      description: input.description ?? null,
      query,
      rule,
      liveRule: null,
      generation: 1,
      status: 'computing',
      progress: 0,
      error: null,
      deleted: false,
      createdAt: now,
      updatedAt: now,
      liveAt: null,
    };
    if (!(await this.store.createSegment(record)))
      throw new TesseraError('conflict', `a segment with id '${id}' exists (or is being deleted)`);
    this.options.onChange?.();
    return this.view(record, 0);
  }

  async list(): Promise<SegmentView[]> {
    const records = await this.store.listSegments();
    return Promise.all(records.map(async (r) => this.view(r, await this.store.segmentSize(r.id))));
  }

  async get(id: string): Promise<SegmentView> {
    const r = await this.segment(id);
    return this.view(r, await this.store.segmentSize(id));
  }

  async update(id: string, input: Partial<SegmentInput>): Promise<SegmentView> {
    await this.segment(id);
    const hasRule = input.query !== undefined || input.definition !== undefined;
    const parsed = hasRule ? this.parse(input) : null;
    if (parsed) {
      if (referencedSegments(parsed.rule).includes(id))
        throw new TesseraError('validation_failed', `the rule refers to its own segment '${id}'`);
      await this.checkWithOthers(id, parsed.rule);
    }
    const updated = await this.store.updateSegment(
      id,
      {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(parsed ? { rule: parsed.rule, query: parsed.query } : {}),
      },
      this.options.now(),
    );
    if (updated === null) throw new TesseraError('not_found', `segment ${id} does not exist`);
    this.options.onChange?.();
    return this.view(updated, await this.store.segmentSize(id));
  }

  async delete(id: string): Promise<void> {
    await this.segment(id);
    const users = (await this.store.listSegments()).filter(
      (s) =>
        s.id !== id && (referencedSegments(s.rule).includes(id) || (s.liveRule !== null && referencedSegments(s.liveRule).includes(id))),
    );
    if (users.length > 0) {
      throw new TesseraError('conflict', `segment ${id} is included by ${users.map((s) => `'${s.id}'`).join(', ')}; change those first`);
    }
    if (!(await this.store.deleteSegment(id, this.options.now()))) throw new TesseraError('not_found', `segment ${id} does not exist`);
    this.options.onChange?.();
  }

  async members(
    id: string,
    page: { after?: string; limit: number },
  ): Promise<{ items: Array<{ profileId: string; since: string }>; nextAfter: string | null }> {
    await this.segment(id);
    const rows = await this.store.members(id, { afterProfileId: page.after, limit: page.limit });
    const last = rows[rows.length - 1];
    return {
      items: rows.map((m) => ({ profileId: m.profileId, since: iso(m.since) })),
      nextAfter: rows.length === page.limit && last ? last.profileId : null,
    };
  }

  async history(id: string, limit: number): Promise<{ items: Array<{ at: string; size: number }> }> {
    await this.segment(id);
    return { items: (await this.store.sizeHistory(id, { limit })).map((h) => ({ at: iso(h.at), size: h.size })) };
  }

  /** Every member as CSV lines (header first), page by page. */
  async *exportCsv(id: string): AsyncGenerator<string> {
    await this.segment(id);
    yield 'profile_id,since\n';
    let after: string | undefined;
    for (;;) {
      const rows: Member[] = await this.store.members(id, { afterProfileId: after, limit: 1000 });
      if (rows.length > 0) yield rows.map((m) => `${csvField(m.profileId)},${iso(m.since)}\n`).join('');
      if (rows.length < 1000) return;
      after = rows[rows.length - 1]?.profileId;
    }
  }

  /** The `Audience Entered` / `Audience Exited` feed after an id. */
  async audienceEvents(page: { after: number; limit: number; segmentId?: string }) {
    const rows = await this.store.audienceEvents({ afterId: page.after, limit: page.limit, segmentId: page.segmentId });
    const last = rows[rows.length - 1];
    return { items: rows.map(feedItem), nextAfter: last ? last.id : page.after };
  }

  /**
   * Evaluate a rule over every profile, storing nothing. Other segments are read as they are now
   * (their live memberships), computed traits by their current values.
   */
  preview(input: RuleInput, sampleSize = 10): Promise<PreviewResult> {
    const { rule } = this.parse(input);
    return previewRule(this.store, rule, this.options.now(), sampleSize);
  }

  // ---- computed traits ----

  private checkTrait(definition: unknown): ComputedTraitDefinition {
    const checked = validateComputedTrait(definition);
    if (!checked.ok) throw new TesseraError('validation_failed', `definition: ${describeProblems(checked.problems)}`);
    return checked.value;
  }

  private async checkTraitWithOthers(id: string, definition: ComputedTraitDefinition): Promise<void> {
    const others = (await this.store.listComputedTraits()).filter((t) => t.id !== id);
    const clash = others.find((t) => t.definition.key === definition.key);
    if (clash) throw new TesseraError('conflict', `computed trait '${clash.id}' already writes the trait '${definition.key}'`);
  }

  async createTrait(input: { id?: string; name: string; definition: unknown }): Promise<ComputedTraitView> {
    const definition = this.checkTrait(input.definition);
    const id = input.id ?? this.options.newId?.() ?? randomUUID();
    await this.checkTraitWithOthers(id, definition);
    const now = this.options.now();
    const record: ComputedTraitRecord = {
      id,
      name: input.name,
      definition,
      liveDefinition: null,
      generation: 1,
      status: 'computing',
      progress: 0,
      error: null,
      deleted: false,
      createdAt: now,
      updatedAt: now,
      liveAt: null,
    };
    if (!(await this.store.createComputedTrait(record))) throw new TesseraError('conflict', `a computed trait with id '${id}' exists`);
    this.options.onChange?.();
    return traitView(record);
  }

  async listTraits(): Promise<ComputedTraitView[]> {
    return (await this.store.listComputedTraits()).map(traitView);
  }

  async getTrait(id: string): Promise<ComputedTraitView> {
    const r = await this.store.getComputedTrait(id);
    if (r === null) throw new TesseraError('not_found', `computed trait ${id} does not exist`);
    return traitView(r);
  }

  async updateTrait(id: string, input: { name?: string; definition?: unknown }): Promise<ComputedTraitView> {
    const definition = input.definition === undefined ? undefined : this.checkTrait(input.definition);
    if (definition) await this.checkTraitWithOthers(id, definition);
    const updated = await this.store.updateComputedTrait(
      id,
      { ...(input.name !== undefined ? { name: input.name } : {}), ...(definition ? { definition } : {}) },
      this.options.now(),
    );
    if (updated === null) throw new TesseraError('not_found', `computed trait ${id} does not exist`);
    this.options.onChange?.();
    return traitView(updated);
  }

  async deleteTrait(id: string): Promise<void> {
    if (!(await this.store.deleteComputedTrait(id, this.options.now())))
      throw new TesseraError('not_found', `computed trait ${id} does not exist`);
    this.options.onChange?.();
  }

  // ---- for the profile body ----

  private async segment(id: string): Promise<SegmentRecord> {
    const r = await this.store.getSegment(id);
    if (r === null) throw new TesseraError('not_found', `segment ${id} does not exist`);
    return r;
  }

  private view(r: SegmentRecord, size: number): SegmentView {
    return {
      id: r.id,
      name: r.name,
      description: r.description,
      query: r.query ?? printRule(r.rule),
      definition: r.rule,
      status: r.status,
      progress: r.progress,
      error: r.error,
      size,
      createdAt: iso(r.createdAt),
      updatedAt: iso(r.updatedAt),
      liveAt: r.liveAt === null ? null : iso(r.liveAt),
    };
  }
}

function traitView(r: ComputedTraitRecord): ComputedTraitView {
  return {
    id: r.id,
    name: r.name,
    key: r.definition.key,
    definition: r.definition,
    status: r.status,
    progress: r.progress,
    error: r.error,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    liveAt: r.liveAt === null ? null : iso(r.liveAt),
  };
}

function feedItem(e: AudienceEvent) {
  return {
    id: e.id,
    event: e.kind === 'entered' ? ('Audience Entered' as const) : ('Audience Exited' as const),
    segmentId: e.segmentId,
    profileId: e.profileId,
    at: iso(e.at),
    cause: e.cause,
  };
}

/** A CSV field, quoted when it needs to be (profile ids are UUIDs, but ids are not ours to assume). */
function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
