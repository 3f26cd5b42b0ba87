/**
 * Operator commands that change identity (explicit merge, unmerge). They travel through the durable log
 * like events, so the processor — the only writer of identity — applies them in order with everything
 * else, and its answer is stored under the request id for the API to read back.
 */
import type { CountryCode } from 'libphonenumber-js';
import {
  identifierKey,
  RebuildScope,
  standardise,
  traitsToRecord,
  unmerge,
  writeTraits,
  type Identifier,
  type IdentityRules,
  type MergeFact,
  type TraitMap,
  type UnmergeFact,
} from '../core/identity/index.ts';
import type { JsonObject } from '../core/event/event.ts';
import { emptyIdentityWrite, type IdentityReader, type IdentityWrite, type TraitSourceEvent } from '../storage/identity-records.ts';
import { IdentitySession } from './identity-session.ts';

export type ProcessorCommand =
  | { command: 'merge'; requestId: string; profileA: string; profileB: string; reason: string; actor: string }
  | { command: 'unmerge'; requestId: string; profileId: string; identifier: Identifier; reason: string; actor: string }
  /** The identity rules setting changed: read it again (events after this command use the new rules). */
  | { command: 'reload_rules'; requestId: string; actor: string };

/** What the processor answers; `ok: false` carries an error code of the catalogue. */
export type CommandResult =
  | { ok: true; profileId: string | null; profileIds: string[]; warnings: Array<{ code: string; detail: string }> }
  | { ok: false; code: 'profile_not_found' | 'identity_conflict' | 'internal'; message: string };

export interface CommandContext {
  rules: IdentityRules;
  defaultRegion: CountryCode;
  now: number;
  factSeq: number;
}

export async function executeCommand(
  tx: IdentityReader,
  cmd: Exclude<ProcessorCommand, { command: 'reload_rules' }>,
  ctx: CommandContext,
): Promise<{ write: IdentityWrite; result: CommandResult }> {
  return cmd.command === 'merge' ? merge(tx, cmd, ctx) : detach(tx, cmd, ctx);
}

async function merge(
  tx: IdentityReader,
  cmd: Extract<ProcessorCommand, { command: 'merge' }>,
  ctx: CommandContext,
): Promise<{ write: IdentityWrite; result: CommandResult }> {
  const session = new IdentitySession(tx, ctx, ctx.now);
  await session.loadById([cmd.profileA, cmd.profileB]);
  const a = session.graph.resolveProfileId(cmd.profileA);
  const b = session.graph.resolveProfileId(cmd.profileB);
  if (a === undefined || b === undefined) {
    const missing = a === undefined ? cmd.profileA : cmd.profileB;
    return { write: emptyIdentityWrite(), result: { ok: false, code: 'profile_not_found', message: `profile ${missing} does not exist` } };
  }
  if (a === b) return { write: emptyIdentityWrite(), result: { ok: true, profileId: a, profileIds: [a], warnings: [] } };
  const anchorOf = (id: string): Identifier => session.graph.snapshot(id)!.identifiers[0]!.identifier;
  const fact: MergeFact = {
    kind: 'merge',
    profileA: a,
    profileB: b,
    anchorA: anchorOf(a),
    anchorB: anchorOf(b),
    reason: cmd.reason,
    at: ctx.now,
    seq: ctx.factSeq,
  };
  const outcome = session.applyMerge(fact, cmd.actor);
  const write = session.finish();
  if (outcome.mergedFrom.length === 0) {
    const why = outcome.warnings.map((w) => w.detail).join('; ') || 'the identity rules refuse it';
    return { write, result: { ok: false, code: 'identity_conflict', message: `the profiles cannot be merged: ${why}` } };
  }
  return {
    write,
    result: { ok: true, profileId: outcome.profileId, profileIds: [outcome.profileId as string], warnings: [...outcome.warnings] },
  };
}

async function detach(
  tx: IdentityReader,
  cmd: Extract<ProcessorCommand, { command: 'unmerge' }>,
  ctx: CommandContext,
): Promise<{ write: IdentityWrite; result: CommandResult }> {
  const standard = standardise(cmd.identifier.type, cmd.identifier.value, ctx.defaultRegion);
  const identifier = standard.ok ? standard.identifier : cmd.identifier;
  const scope = new RebuildScope(identifier, ctx.rules);
  for (let keys = scope.takePending(); keys.length > 0; keys = scope.takePending()) scope.addFacts(await tx.factsMentioning(keys));
  const session = new IdentitySession(tx, ctx, ctx.now);
  await session.loadHolding(scope.keys);
  await session.loadById([cmd.profileId]);
  const before = session.graph.profileOf(identifier);
  const named = session.graph.resolveProfileId(cmd.profileId);
  if (before === undefined || named !== before) {
    return {
      write: emptyIdentityWrite(),
      result: { ok: false, code: 'profile_not_found', message: `profile ${cmd.profileId} holds no ${identifier.type} with that value` },
    };
  }
  const oldSnapshots = new Map([...session.graph.profileIds()].map((id) => [id, session.graph.snapshot(id)!]));
  const fact: UnmergeFact = { kind: 'unmerge', identifier, reason: cmd.reason, at: ctx.now, seq: ctx.factSeq };
  const outcome = unmerge(session.graph, fact, scope.facts, ctx.rules);
  const write = emptyIdentityWrite();
  write.facts.push(fact);
  for (const snapshot of outcome.profiles) {
    // Traits come from identify events, which follow their identifiers: recompute each side from its own.
    const events = await tx.identifyEventsOf(snapshot.identifiers.map((r) => identifierKey(r.identifier)));
    write.profiles.push({
      snapshot,
      traits: traitsToRecord(traitsOf(events)),
      createdAt: session.createdAtOf(snapshot.id) ?? ctx.now,
      updatedAt: ctx.now,
    });
  }
  for (const id of outcome.retiredProfileIds) {
    write.deletedProfiles.push(id);
    const first = oldSnapshots.get(id)?.identifiers[0]?.identifier;
    const to = first === undefined ? undefined : session.graph.profileOf(first);
    if (to !== undefined && to !== id) write.redirects.push({ from: id, to });
  }
  const after = session.graph.profileOf(identifier) ?? null;
  const created = outcome.profiles.map((p) => p.id).filter((id) => id !== before);
  write.mergeLog.push({
    at: ctx.now,
    kind: 'unmerge',
    profileId: before,
    otherIds: created,
    reason: cmd.reason,
    factSeq: ctx.factSeq,
    actor: cmd.actor,
  });
  for (const w of outcome.warnings)
    write.warnings.push({
      at: ctx.now,
      code: w.code,
      detail: w.detail,
      identifier: identifierKey(identifier),
      profileId: before,
      sourceId: null,
      messageId: null,
    });
  return {
    write,
    result: { ok: true, profileId: after, profileIds: outcome.profiles.map((p) => p.id), warnings: outcome.warnings },
  };
}

/** Traits as the identify events write them, in any order (the merge rule is order-independent). */
export function traitsOf(events: readonly TraitSourceEvent[]): TraitMap {
  const map: TraitMap = new Map();
  for (const e of events) {
    const message = JSON.parse(e.payload) as JsonObject;
    const traits = message.traits;
    if (typeof traits === 'object' && traits !== null && !Array.isArray(traits))
      writeTraits(map, traits as JsonObject, { at: e.timestamp, sourceId: e.sourceId, messageId: e.messageId });
  }
  return map;
}

/** Parse a command body from the log; a malformed one is a bug in whoever appended it. */
export function parseCommand(body: string): ProcessorCommand {
  const cmd = JSON.parse(body) as ProcessorCommand;
  if (cmd.command !== 'merge' && cmd.command !== 'unmerge' && cmd.command !== 'reload_rules')
    throw new Error(`unknown processor command ${String((cmd as { command?: unknown }).command)}`);
  return cmd;
}
