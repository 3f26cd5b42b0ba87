/** `tessera privacy …` as an operator runs it, against the data directory of a stopped server. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { startTessera } from '../support/harness.ts';
import { send } from './helpers.ts';

const run = promisify(execFile);
const BIN = path.resolve('bin/tessera.js');
const tessera = (dataDir: string, ...args: string[]) =>
  run(process.execPath, [BIN, ...args, '--data-dir', dataDir], { env: { ...process.env, TESSERA_LOG_LEVEL: 'silent' } });

it('exports a subject, then records and runs a delete request, from the command line', async () => {
  const h = await startTessera();
  await send(h, [
    { type: 'identify', userId: 'cli-ann', traits: { email: 'cli.ann@example.com', plan: 'pro' } },
    { type: 'identify', userId: 'cli-bob', traits: { email: 'cli.bob@example.com' } },
  ]);
  await h.close();

  const exported = JSON.parse(
    (await tessera(h.dataDir, 'privacy', 'export', '--type', 'email', '--value', 'CLI.Ann@example.com')).stdout,
  ) as {
    profile: { traits: Record<string, unknown> };
    events: unknown[];
  };
  assert.equal(exported.profile.traits.plan, 'pro');
  assert.equal(exported.events.length, 1);

  const recorded = JSON.parse(
    (await tessera(h.dataDir, 'privacy', 'request', 'delete', '--subject-type', 'user_id', '--subject-value', 'cli-ann')).stdout,
  ) as { id: string; status: string };
  assert.equal(recorded.status, 'received', 'without --run the request waits for the server');
  const ran = JSON.parse(
    (await tessera(h.dataDir, 'privacy', 'request', 'delete', '--subject-type', 'user_id', '--subject-value', 'cli-ann', '--run')).stdout,
  ) as { status: string; summary: Record<string, number> };
  assert.equal(ran.status, 'finished');
  // --run ran every pending request, oldest first: the first one deleted her.
  const first = JSON.parse((await tessera(h.dataDir, 'privacy', 'show', recorded.id)).stdout) as {
    status: string;
    summary: Record<string, number>;
  };
  assert.equal(first.status, 'finished');
  assert.equal(first.summary.profiles, 1);
  assert.equal(ran.summary.profiles, 0);
  const after = JSON.parse((await tessera(h.dataDir, 'privacy', 'export', '--type', 'email', '--value', 'cli.ann@example.com')).stdout) as {
    profile: unknown;
    events: unknown[];
  };
  assert.equal(after.profile, null);
  assert.equal(after.events.length, 0);
  const audit = JSON.parse((await tessera(h.dataDir, 'privacy', 'audit', '--action', 'privacy.request')).stdout) as Array<{
    actor: string;
  }>;
  assert.ok(audit.some((e) => e.actor === 'cli'));
});
