/**
 * The identity bench's moving parts, small and fast (the whole bench runs in CI as `npm run bench -- --quick`):
 * the traffic is deterministic, the in-memory ceiling resolves it, and the lookup load generator finds
 * every person it asks the bare lookup server for.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bulkUserId, demoBodies, identifyBody, type DemoSpec } from '../../bench/demo-traffic.ts';
import { processorAlone } from '../../bench/scenarios/processor.ts';
import { identityEndToEnd } from '../../bench/scenarios/identity.ts';
import { cpuSecondsOfProcesses, processCpuSeconds, runJsonScript, startProcess, stopProcess } from '../../bench/scenarios/processes.ts';
import { ADMIN_TOKEN } from '../../bench/scenarios/server.ts';
import { postgresTestUrl } from '../support/postgres.ts';

const spec: DemoSpec = { seed: 7, events: 1_050, startMs: Date.parse('2026-01-01T00:00:00Z'), days: 3, batchSize: 100 };

describe('identity bench', () => {
  it('builds the same demo batches for the same spec', () => {
    const a = demoBodies(spec);
    assert.deepEqual(demoBodies(spec), a);
    assert.equal(a.length, 11);
    const counts = a.map((b) => (JSON.parse(b) as { batch: unknown[] }).batch.length);
    assert.equal(
      counts.reduce((x, y) => x + y, 0),
      spec.events,
    );
  });

  it('identify batches carry one distinct person per event', () => {
    const { batch } = JSON.parse(identifyBody(200, 100, Date.now())) as { batch: Array<{ userId: string; messageId: string }> };
    assert.equal(batch.length, 100);
    assert.equal(new Set(batch.map((m) => m.userId)).size, 100);
    assert.equal(batch[0]!.userId, bulkUserId(200));
    assert.equal(batch[99]!.userId, bulkUserId(299));
  });

  it('the in-memory ceiling resolves the demo traffic', async () => {
    const r = await runJsonScript<{ events: number; perSec: number; profilesCreated: number; naivePerSec: number; naiveProfiles: number }>(
      'bench/identity-ceiling.ts',
      [JSON.stringify(spec)],
    );
    assert.equal(r.events, spec.events);
    assert.ok(r.profilesCreated > 0 && r.profilesCreated < spec.events);
    assert.ok(r.perSec > 0);
    // The goal's own, naive measure looked people up too (no standardising, so its count differs).
    assert.ok(r.naivePerSec > 0 && r.naiveProfiles > 0 && r.naiveProfiles < spec.events);
  });

  it("the processor alone stores every event and splits its thread's CPU from the process's", async () => {
    const r = await processorAlone(spec);
    assert.equal(r.events, spec.events);
    assert.ok(r.perSec > 0 && r.cpuUsPerEvent > 0 && r.bytesWrittenPerEvent > 0);
    if (process.platform !== 'linux') return assert.equal(r.threadCpuUsPerEvent, null);
    // Its own thread is part of the process, measured in 10 ms ticks (one tick of slack per event count).
    assert.ok(r.threadCpuUsPerEvent !== null && r.threadCpuUsPerEvent > 0);
    assert.ok(r.threadCpuUsPerEvent <= r.cpuUsPerEvent + 10_000 / spec.events, `${r.threadCpuUsPerEvent} > ${r.cpuUsPerEvent}`);
    // Its transactions are part of its run's wall time; no database processes on SQLite.
    assert.ok(r.lockUsPerEvent > 0 && r.lockUsPerEvent <= 1e6 / r.perSec, `${r.lockUsPerEvent} µs an event`);
    assert.equal(r.databaseCpuUsPerEvent, null);
  });

  it("reads a process's CPU from /proc as the process itself counts it", { skip: process.platform !== 'linux' }, () => {
    const burn = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    burn(30);
    const own = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    };
    const [proc0, self0] = [processCpuSeconds(process.pid)!, own()];
    const all0 = cpuSecondsOfProcesses('node')!;
    burn(300);
    const [proc1, self1] = [processCpuSeconds(process.pid)!, own()];
    const all1 = cpuSecondsOfProcesses('node')!;
    // /proc counts in 10 ms ticks, sampled at a different instant than cpuUsage: 30 ms of slack.
    assert.ok(Math.abs(proc1 - proc0 - (self1 - self0)) < 0.03, `/proc ${proc1 - proc0} s against ${self1 - self0} s`);
    // Every node process: this one among them.
    assert.ok(all1 - all0 >= proc1 - proc0 - 0.02, `all node processes ${all1 - all0} s, this one ${proc1 - proc0} s`);
    assert.equal(cpuSecondsOfProcesses('no-such-command'), null);
  });

  it("on PostgreSQL, two nodes share the store, and the database's CPU and the commit lock's time are measured", async (t) => {
    const db = await postgresTestUrl();
    if (db === null) return t.skip('PostgreSQL not reachable');
    try {
      const r = await identityEndToEnd({ databaseUrl: db.url, nodes: 2, connections: 4, demo: spec });
      assert.equal(r.accepted, spec.events);
      assert.equal(r.stored, spec.events, 'every event stored once, by one node or the other');
      assert.ok(r.profilesCreated > 0 && r.lockUsPerEvent > 0);
      // The database on this machine (as in CI): its processes are visible and worked.
      const local = ['127.0.0.1', 'localhost'].includes(new URL(db.url).hostname);
      if (process.platform === 'linux' && local) assert.ok(r.databaseCpuUsPerEvent !== null && r.databaseCpuUsPerEvent > 0);
    } finally {
      await db.drop();
    }
  });

  it('every lookup the generator sends finds its person on the bare lookup server', async () => {
    const { child, match } = await startProcess(
      ['--import', 'tsx', 'bench/bare-lookup-server.ts', '500', ADMIN_TOKEN],
      {},
      /(http:\/\/\S+)/,
    );
    try {
      const r = await runJsonScript<{ requests: number; statuses: Record<string, number> }>('bench/identity-load-generator.ts', [
        JSON.stringify({ mode: 'lookup', url: match[1], token: ADMIN_TOKEN, connections: 2, seconds: 0.3, profiles: 500, seed: 1 }),
      ]);
      assert.ok(r.requests > 0);
      assert.deepEqual(Object.keys(r.statuses), ['200']);
    } finally {
      await stopProcess(child);
    }
  });
});
