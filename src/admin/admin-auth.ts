/**
 * The admin bearer token. Given in the environment it is used as is; otherwise one is generated on
 * first start, shown once, and only its SHA-256 hash is kept in the store.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { randomToken } from '../sources/source-service.ts';
import type { Store } from '../storage/store.ts';

const SETTING = 'admin_token_sha256';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class AdminAuth {
  private constructor(private readonly hash: Buffer) {}

  /**
   * Prepare admin authentication. Returns the generated token when one was made now (the caller shows
   * it once); `null` when the token came from the environment or was made on an earlier start.
   */
  static async init(store: Store, fromEnv: string | undefined): Promise<{ auth: AdminAuth; generated: string | null }> {
    if (fromEnv !== undefined) return { auth: new AdminAuth(sha256(fromEnv)), generated: null };
    const stored = await store.getSetting(SETTING);
    if (stored !== null) return { auth: new AdminAuth(Buffer.from(stored, 'hex')), generated: null };
    const token = `tsk_${randomToken(40)}`;
    const hash = sha256(token);
    await store.setSetting(SETTING, hash.toString('hex'));
    return { auth: new AdminAuth(hash), generated: token };
  }

  /** Replace the stored token with a new one (CLI `tessera admin-token reset`). */
  static async reset(store: Store): Promise<string> {
    const token = `tsk_${randomToken(40)}`;
    await store.setSetting(SETTING, sha256(token).toString('hex'));
    return token;
  }

  /** True when the Authorization header carries the admin token. Constant time. */
  verify(authorization: string | undefined): boolean {
    if (!authorization) return false;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) return false;
    return timingSafeEqual(sha256(match[1]), this.hash);
  }
}
