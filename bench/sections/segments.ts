/**
 * The segments section of `npm run bench` (issue 4): backfill and preview of a simple rule over a large
 * seeded store, on each backend, beside an indexed SQL query over the same events (same run).
 */
import type { Backend, Harness } from '../harness.ts';
import type { SeededSegments } from '../scenarios/segments.ts';

/** Seeded people per backend (10 events each); quick mode also times the per-profile preview. */
const SIZES = {
  quick: { sqlite: 5_000, postgres: 5_000 },
  full: { sqlite: 150_000, postgres: 150_000 },
};
const EVENTS_PER_PROFILE = 10;

async function seedFor(backend: Backend, profiles: number): Promise<SeededSegments> {
  if (backend.name === 'sqlite') {
    const { seedSqliteSegments } = await import('../scenarios/segments.ts');
    return seedSqliteSegments({ profiles, eventsPerProfile: EVENTS_PER_PROFILE });
  }
  const { seedPostgresSegments } = await import('../scenarios/segments-postgres.ts');
  const databaseUrl = await backend.url();
  if (!databaseUrl) throw new Error('no PostgreSQL schema');
  return seedPostgresSegments({ databaseUrl, profiles, eventsPerProfile: EVENTS_PER_PROFILE });
}

/** `profiles`: seed this many people per backend instead of the mode's size (`--segments-profiles=`). */
export async function segmentsSection(h: Harness, backends: Backend[], profilesOverride?: number): Promise<void> {
  if (profilesOverride !== undefined && !(Number.isInteger(profilesOverride) && profilesOverride > 0))
    throw new Error('--segments-profiles must be a positive whole number');
  for (const backend of backends) {
    const scenario = `segments (${backend.name})`;
    const profiles = profilesOverride ?? SIZES[h.quick ? 'quick' : 'full'][backend.name];
    const figures = await h.attempt(scenario, async () => {
      const events = (profiles * EVENTS_PER_PROFILE).toLocaleString('en-US');
      h.log(`  segments on ${backend.name}: seeding ${profiles.toLocaleString('en-US')} profiles, ${events} events`);
      const seeded = await seedFor(backend, profiles);
      h.log(`    seeded in ${seeded.seedSeconds.toFixed(1)} s`);
      try {
        return await h.repeat(`segments on ${backend.name}: backfill + preview over ${events} events`, (warm) =>
          seeded.run({ scanPreview: h.quick && !warm }),
        );
      } finally {
        await seeded.close();
      }
    });
    if (figures === null || !figures[0]) continue;
    const f0 = figures[0];
    const counts = `${f0.events.toLocaleString('en-US')} events, ${f0.profiles.toLocaleString('en-US')} profiles`;
    const limit = { name: 'indexed SQL, ≥ 3 orders in 30 days', value: figures.map((f) => f.limitSeconds) };
    h.rows.push({
      scenario,
      figure: `backfill of a new segment, ≥ 3 orders in 30 days (${counts}, ${f0.backfillMembers.toLocaleString('en-US')} members)`,
      value: figures.map((f) => f.backfillSeconds),
      unit: 's',
      limit,
      lowerIsBetter: true,
    });
    h.rows.push({
      scenario,
      figure: `preview, same rule, SQL fast path (${counts})`,
      value: figures.map((f) => f.previewSeconds),
      unit: 's',
      limit,
      lowerIsBetter: true,
    });
    const scans = figures.flatMap((f) => (f.scanPreviewSeconds === null ? [] : [f.scanPreviewSeconds]));
    if (scans.length > 0)
      h.rows.push({
        scenario,
        figure: `preview through the per-profile evaluator, for contrast (${counts})`,
        value: scans,
        unit: 's',
        limit,
        lowerIsBetter: true,
      });
  }
}
