/**
 * Bring every schema up to date: the core store's, then the domains' that share its database (segments,
 * privacy) — each keeps its own migrations table. The one call start-up, `tessera migrate`, CLI commands
 * and tests make, so no part of Tessera ever runs against a half-migrated database.
 */
import { openPrivacyStore } from './privacy/open-privacy-store.ts';
import { openSegmentStore } from './segments/open-segment-store.ts';
import type { Store } from './store.ts';

export async function migrateAll(store: Store): Promise<void> {
  await store.migrate();
  await (await openSegmentStore(store)).migrate();
  await (await openPrivacyStore(store)).migrate();
}
