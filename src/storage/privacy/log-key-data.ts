/**
 * The keys that encrypt a NATS log's entries (`privacy_log_keys`), one SQL text for both backends. Times
 * come from the database's clock, so instances on several machines judge a key's age by one clock.
 * `log/nats/log-keyring.ts` decides when keys are made, sealed and deleted; this only stores them.
 */
import type { Store } from '../store.ts';
import { openPrivacyStore } from './open-privacy-store.ts';
import type { SqlRunner } from './sql-runner.ts';

export interface LogKeyInfo {
  keyId: string;
  /** When it was stored (the database's clock, epoch ms). */
  createdAt: number;
  /** Its edge no longer encrypts with it and every append with it has settled. */
  retired: boolean;
  /** The stream's last entry once the key was known unused: it may go when the purge has passed this. */
  sealedSeq: number | null;
}

export class LogKeyData {
  constructor(private readonly runner: SqlRunner) {}

  /** Store a new key (its secret base64); answers the time it was stored by. */
  async create(logId: string, keyId: string, secret: string): Promise<number> {
    const now = this.runner.dialect.nowMs;
    await this.runner.run(`INSERT INTO privacy_log_keys (log_id, key_id, secret, created_at) VALUES ($1, $2, $3, ${now})`, [
      logId,
      keyId,
      secret,
    ]);
    const rows = await this.runner.all<{ created_at: number | string }>(
      'SELECT created_at FROM privacy_log_keys WHERE log_id = $1 AND key_id = $2',
      [logId, keyId],
    );
    return Number(rows[0]!.created_at);
  }

  /** A key's secret (base64), or null once it is deleted. */
  async secret(logId: string, keyId: string): Promise<string | null> {
    const rows = await this.runner.all<{ secret: string }>('SELECT secret FROM privacy_log_keys WHERE log_id = $1 AND key_id = $2', [
      logId,
      keyId,
    ]);
    return rows[0]?.secret ?? null;
  }

  /** The log's keys (without their secrets) and the database's clock now. */
  async list(logId: string): Promise<{ now: number; keys: LogKeyInfo[] }> {
    const rows = await this.runner.all<{
      key_id: string;
      created_at: number | string;
      retired: number;
      sealed_seq: number | string | null;
    }>('SELECT key_id, created_at, retired, sealed_seq FROM privacy_log_keys WHERE log_id = $1 ORDER BY created_at, key_id', [logId]);
    const clock = await this.runner.all<{ now: number | string }>(`SELECT ${this.runner.dialect.nowMs} AS now`);
    return {
      now: Number(clock[0]!.now),
      keys: rows.map((r) => ({
        keyId: r.key_id,
        createdAt: Number(r.created_at),
        retired: Number(r.retired) === 1,
        sealedSeq: r.sealed_seq === null ? null : Number(r.sealed_seq),
      })),
    };
  }

  async retire(logId: string, keyId: string): Promise<void> {
    await this.runner.run('UPDATE privacy_log_keys SET retired = 1 WHERE log_id = $1 AND key_id = $2', [logId, keyId]);
  }

  /** Seal a key at `seq`, unless another instance sealed it first (either value is safe: both were read once it was unused). */
  async seal(logId: string, keyId: string, seq: number): Promise<void> {
    await this.runner.run('UPDATE privacy_log_keys SET sealed_seq = $3 WHERE log_id = $1 AND key_id = $2 AND sealed_seq IS NULL', [
      logId,
      keyId,
      seq,
    ]);
  }

  /** Delete keys; answers how many went. */
  async delete(logId: string, keyIds: readonly string[]): Promise<number> {
    if (keyIds.length === 0) return 0;
    return this.runner.run(`DELETE FROM privacy_log_keys WHERE log_id = $1 AND ${this.runner.dialect.inList('key_id', 2)}`, [
      logId,
      keyIds,
    ]);
  }

  /**
   * Delete the keys of earlier logs of the same stream (`prefix`: a recreated stream has a new log id; the
   * old stream's entries went with it).
   */
  async deleteOtherLogs(prefix: string, keepLogId: string): Promise<number> {
    return this.runner.run('DELETE FROM privacy_log_keys WHERE substr(log_id, 1, $1) = $2 AND log_id <> $3', [
      prefix.length,
      prefix,
      keepLogId,
    ]);
  }
}

/** The log keys of an open (migrated) store, on its connection or pool. */
export async function openLogKeys(store: Store): Promise<LogKeyData> {
  return new LogKeyData((await openPrivacyStore(store)).runner);
}
