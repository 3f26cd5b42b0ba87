/** docs/errors.md lists exactly the codes and reasons the code has. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { it } from 'node:test';
import { ERROR_CODES } from '../../src/core/errors/catalogue.ts';
import { FAILURE_REASONS } from '../../src/core/event/event.ts';

it('docs/errors.md documents every error code and failure reason, and no others', () => {
  const doc = fs.readFileSync('docs/errors.md', 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]));
  const inCode = new Set([...Object.keys(ERROR_CODES), ...Object.keys(FAILURE_REASONS)]);
  assert.deepEqual([...documented].sort(), [...inCode].sort());
  for (const [code, { status }] of Object.entries(ERROR_CODES)) assert.match(doc, new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
});
