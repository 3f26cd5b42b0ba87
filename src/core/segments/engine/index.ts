/** The incremental real-time audience engine: pure, per profile, driven by events and due timers. */
export {
  compileAudiences,
  type CompiledAudiences,
  type CompiledSegment,
  type CompiledTrait,
  type ComputedTraitInput,
  historyNeeds,
  type HistoryNeeds,
  type SegmentInput,
} from './compile.ts';
export { conditionReads, isTimeDependent, type RuleReads } from './reads.ts';
export {
  evaluateProfile,
  visibleTraits,
  type ComputedChange,
  type MembershipChange,
  type ProfilePlan,
  type ProfileState,
  type TimerChange,
  type TimerTarget,
  type Trigger,
} from './plan.ts';
export { nextTraitChangeAt } from './trait-timing.ts';
export { dueBatches, MemoryScheduler, targetKey, type DueBatch, type TimerRow } from './scheduler.ts';
