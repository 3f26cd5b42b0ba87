/** Privacy core: collection policies, anonymisation and hashing, suppression keys, privacy requests. Pure functions over plain data. */
export * from './collection-policy.ts';
export * from './fields.ts';
export * from './apply-policy.ts';
export * from './suppression.ts';
export * from './requests.ts';
