/**
 * Sources and their write keys. The ingestion edge asks `byWriteKey` on every request, so keys are
 * served from memory; the cache reloads after every change made here, and at most `refreshMs` after a
 * change made by another process (a CLI command, another server).
 */
import { randomBytes } from 'node:crypto';
import { TesseraError } from '../core/errors/catalogue.ts';
import type { Source, Store } from '../storage/store.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A random token of `length` characters from a 62-letter alphabet (unbiased). */
export function randomToken(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248 && out.length < length) out += ALPHABET[b % 62];
    }
  }
  return out;
}

/** How long a change made by another process (a CLI command, another server) may take to reach the cache, ms. */
export const SOURCE_REFRESH_MS = 2_000;

export class SourceService {
  private byKey = new Map<string, Source>();
  private loadedAt = -Infinity;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly refreshMs = SOURCE_REFRESH_MS,
  ) {}

  async reload(): Promise<void> {
    const sources = await this.store.listSources();
    this.byKey = new Map(sources.map((s) => [s.writeKey, s]));
    this.loadedAt = this.now();
  }

  /** The enabled source with this write key, or null. */
  async byWriteKey(writeKey: string): Promise<Source | null> {
    if (this.now() - this.loadedAt > this.refreshMs) {
      this.loading ??= this.reload().finally(() => (this.loading = null));
      await this.loading;
    }
    const source = this.byKey.get(writeKey);
    return source && source.enabled ? source : null;
  }

  async create(name: string): Promise<Source> {
    const trimmed = name.trim();
    if (trimmed === '' || trimmed.length > 200) throw new TesseraError('validation_failed', 'name must be 1 to 200 characters');
    const source: Source = { id: `src_${randomToken(16)}`, name: trimmed, writeKey: randomToken(32), enabled: true, createdAt: this.now() };
    await this.store.createSource(source);
    await this.reload();
    return source;
  }

  list(): Promise<Source[]> {
    return this.store.listSources();
  }

  async get(id: string): Promise<Source> {
    const source = await this.store.getSource(id);
    if (!source) throw new TesseraError('not_found', `no source with id ${id}`);
    return source;
  }

  async update(id: string, patch: { name?: string; enabled?: boolean }): Promise<Source> {
    if (patch.name !== undefined && (patch.name.trim() === '' || patch.name.length > 200)) {
      throw new TesseraError('validation_failed', 'name must be 1 to 200 characters');
    }
    const updated = await this.store.updateSource(id, { ...patch, ...(patch.name !== undefined ? { name: patch.name.trim() } : {}) });
    if (!updated) throw new TesseraError('not_found', `no source with id ${id}`);
    await this.reload();
    return updated;
  }

  /** Replace the write key; the old one stops working at once. */
  async rotateWriteKey(id: string): Promise<Source> {
    const updated = await this.store.updateSource(id, { writeKey: randomToken(32) });
    if (!updated) throw new TesseraError('not_found', `no source with id ${id}`);
    await this.reload();
    return updated;
  }
}
