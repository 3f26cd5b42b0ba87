/** Consent core: purposes, per-purpose consent with proof and history, subscriptions, SMS keywords, decisions. Pure functions over plain data. */
export * from './purposes.ts';
export * from './state.ts';
export * from './extract.ts';
export * from './carried.ts';
export * from './merge.ts';
export * from './subscriptions.ts';
export * from './sms-keywords.ts';
export * from './decide.ts';
