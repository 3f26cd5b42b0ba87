/** A configuration setting that cannot be used; the message always names the setting. */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    detail: string,
  ) {
    super(`Invalid configuration: ${setting} ${detail}`);
    this.name = 'ConfigError';
  }
}
