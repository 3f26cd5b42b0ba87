/** Row shapes of the segment tables (same columns on SQLite and PostgreSQL) and their mappers. */
import type { ComputedTraitDefinition, Condition } from '../../core/segments/index.ts';
import type { AudienceStatus, ComputedTraitRecord, SegmentRecord } from './segment-store.ts';

interface BaseRow {
  id: string;
  name: string;
  generation: number;
  status: string;
  progress: number;
  error: string | null;
  /** INTEGER 0/1 on SQLite, BOOLEAN on PostgreSQL. */
  deleted: number | boolean;
  created_at: number;
  updated_at: number;
  live_at: number | null;
}

export interface SegmentRow extends BaseRow {
  description: string | null;
  query: string | null;
  rule: string;
  live_rule: string | null;
}

export interface ComputedTraitRow extends BaseRow {
  definition: string;
  live_definition: string | null;
}

const base = (r: BaseRow) => ({
  id: r.id,
  name: r.name,
  generation: r.generation,
  status: r.status as AudienceStatus,
  progress: r.progress,
  error: r.error,
  deleted: r.deleted === true || r.deleted === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  liveAt: r.live_at,
});

export const toSegment = (r: SegmentRow): SegmentRecord => ({
  ...base(r),
  description: r.description,
  query: r.query,
  rule: JSON.parse(r.rule) as Condition,
  liveRule: r.live_rule === null ? null : (JSON.parse(r.live_rule) as Condition),
});

export const toComputedTrait = (r: ComputedTraitRow): ComputedTraitRecord => ({
  ...base(r),
  definition: JSON.parse(r.definition) as ComputedTraitDefinition,
  liveDefinition: r.live_definition === null ? null : (JSON.parse(r.live_definition) as ComputedTraitDefinition),
});
