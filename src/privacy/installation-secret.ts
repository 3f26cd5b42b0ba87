/**
 * The installation secret: the key of every HMAC Tessera computes for privacy (suppression keys, hashed
 * fields, unsubscribe links). Given in the environment it is used as is; otherwise one is generated on
 * first start and kept in the settings table (it must survive restarts: suppression keys made with it
 * must keep matching). It is never logged, and each use gets its own derived key so one use cannot
 * forge another's values.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { PrivacyData } from '../storage/privacy/privacy-data.ts';

const SETTING = 'privacy.installation_secret';

export interface PrivacySecrets {
  /** Suppression keys: HMAC of standardised identifier keys. */
  readonly suppression: string;
  /** Field rules that hash a property. */
  readonly fieldHash: string;
  /** Unsubscribe links (encryption and authentication key material). */
  readonly links: Buffer;
}

function derive(secret: string, purpose: string): Buffer {
  return createHmac('sha256', secret).update(`tessera:${purpose}`, 'utf8').digest();
}

export function deriveSecrets(secret: string): PrivacySecrets {
  return {
    suppression: derive(secret, 'suppression').toString('hex'),
    fieldHash: derive(secret, 'field-hash').toString('hex'),
    links: derive(secret, 'links'),
  };
}

/** The secret from configuration, or the stored one, generating and storing it on first use. */
export async function loadSecrets(data: PrivacyData, fromConfig: string | undefined): Promise<PrivacySecrets> {
  if (fromConfig !== undefined) return deriveSecrets(fromConfig);
  const secret = await data.settingOnce(SETTING, randomBytes(32).toString('hex'));
  return deriveSecrets(secret);
}
