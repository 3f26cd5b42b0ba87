/** Identity resolution core: one import for the processor. Pure functions and an in-memory graph over plain data. */
export * from './warnings.ts';
export * from './identifiers.ts';
export * from './rules.ts';
export * from './facts.ts';
export * from './profile-id.ts';
export * from './outcome.ts';
export * from './resolve.ts';
export * from './rebuild.ts';
export * from './traits.ts';
export * from './trait-catalogue.ts';
