/** Builds the collection gate for a processor, over the processor's own store connection. */
import type { Config } from '../config/config.ts';
import { openPrivacyStore } from '../storage/privacy/open-privacy-store.ts';
import type { Store } from '../storage/store.ts';
import { loadSecrets } from './installation-secret.ts';
import { PrivacyGate } from './privacy-gate.ts';

export async function createPrivacyGate(
  store: Store,
  config: Config,
  now: () => number,
  onError?: (err: unknown) => void,
): Promise<PrivacyGate> {
  const privacy = await openPrivacyStore(store);
  const secrets = await loadSecrets(privacy.data, config.installationSecret);
  return new PrivacyGate({ data: privacy.data, secrets, phoneRegion: config.phoneRegion, now, onError });
}
