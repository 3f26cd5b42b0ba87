/** Where the consent configuration (purposes, category aliases) lives: one settings key, defaults when unset. */
import { DEFAULT_CONSENT_CONFIG, validateConsentConfig, type ConsentConfig } from '../core/consent/purposes.ts';
import { CONSENT_CONFIG_SETTING, type PrivacyData } from '../storage/privacy/privacy-data.ts';

/** The configuration in force; a stored value that no longer validates falls back to the defaults (and says so). */
export async function loadConsentConfig(data: PrivacyData, onInvalid?: (problems: string) => void): Promise<ConsentConfig> {
  return parseConsentConfig(await data.setting(CONSENT_CONFIG_SETTING), onInvalid);
}

/** The configuration a stored setting gives (null: never set, the defaults). */
export function parseConsentConfig(raw: string | null, onInvalid?: (problems: string) => void): ConsentConfig {
  if (raw === null) return DEFAULT_CONSENT_CONFIG;
  const checked = validateConsentConfig(JSON.parse(raw));
  if (checked.ok) return checked.value;
  onInvalid?.(checked.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return DEFAULT_CONSENT_CONFIG;
}
