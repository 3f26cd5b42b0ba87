/**
 * An operator command from the log (merge, unmerge, rule reload), applied alone in its own transaction,
 * in log order, with the cursor moved to it and its answer stored for `commandResult`. A command that
 * fails `COMMAND_ATTEMPTS` times (each try rolled back) is answered as failed and skipped, so one bad
 * command cannot stop the log; an entry that is not a command is skipped, said loudly.
 */
import type { LogRecord } from '../log/event-log.ts';
import type { Store } from '../storage/store.ts';
import { executeCommand, parseCommand, type CommandResult, type ProcessorCommand } from './commands.ts';
import type { IdentitySettings, IdentityStats } from './identity-session.ts';

/** A command that fails this many times is answered as failed and skipped. */
const COMMAND_ATTEMPTS = 3;

export interface CommandContext {
  store: Store;
  identity: IdentitySettings;
  /** Read the identity rules again (the `reload_rules` command). */
  loadRules: () => Promise<void>;
  onError?: (err: unknown) => void;
}

export class CommandStep {
  private readonly attempts = new Map<number, number>();
  private readonly errors = new Map<number, string>();

  constructor(private readonly ctx: CommandContext) {}

  /** Apply `record`, the entry after the cursor's position `from`, and move the cursor to it; the merges it made. */
  async run(record: LogRecord, cursor: { name: string; from: number }, now: number): Promise<IdentityStats> {
    const stats: IdentityStats = { profilesCreated: 0, merges: 0, warnings: {} };
    const move = { cursorName: cursor.name, cursorFrom: cursor.from, cursorSeq: record.seq, events: [], failed: [], now };
    let cmd: ProcessorCommand;
    try {
      cmd = parseCommand(record.body);
    } catch (err) {
      // Nothing to answer and nothing a retry could change: skip it, said loudly.
      this.ctx.onError?.(
        new Error(`skipping log entry ${record.seq}: not a processor command (${record.unreadable ?? (err as Error).message})`),
      );
      await this.ctx.store.runBatch((tx) => tx.write(move));
      return stats;
    }
    const attempts = (this.attempts.get(record.seq) ?? 0) + 1;
    this.attempts.set(record.seq, attempts);
    let reloaded: CommandResult | null = null;
    if (cmd.command === 'reload_rules') {
      await this.ctx.loadRules();
      reloaded = { ok: true, profileId: null, profileIds: [], warnings: [] };
    }
    await this.ctx.store
      .runBatch(async (tx) => {
        let result: CommandResult;
        let identity;
        if (attempts > COMMAND_ATTEMPTS) {
          // Failed every time (each in a transaction of its own, rolled back): answered as failed and
          // skipped, in a fresh transaction.
          const reason = this.errors.get(record.seq) ?? 'unknown error';
          result = { ok: false, code: 'internal', message: `the command failed ${COMMAND_ATTEMPTS} times: ${reason}` };
        } else if (cmd.command === 'reload_rules') result = reloaded as CommandResult;
        else {
          const done = await executeCommand(tx, cmd, { ...this.ctx.identity, now, factSeq: await tx.nextFactSeq() });
          result = done.result;
          identity = done.write;
        }
        if (identity) stats.merges = identity.mergeLog.filter((m) => m.kind !== 'unmerge').length;
        await tx.write({ ...move, identity, commandResults: [{ requestId: cmd.requestId, result }] });
      })
      .catch((err: unknown) => {
        this.errors.set(record.seq, (err as Error).message);
        throw err;
      });
    this.attempts.delete(record.seq);
    this.errors.delete(record.seq);
    return stats;
  }
}
