/**
 * What every section of `bench/run.ts` shares: the rows of the table, the backends, and how a scenario
 * is repeated (warm-up + runs) and how its failure becomes a row instead of a crash.
 */
export interface Limit {
  name: string;
  value: number[];
}

export interface Row {
  scenario: string;
  figure: string;
  value: number[];
  unit: string;
  limit?: Limit;
  /** Further limits printed on their own lines below the figure. */
  alsoBeside?: Limit[];
  /** Latencies: the ratio is printed as a multiple of the limit (lower is better). */
  lowerIsBetter?: boolean;
  /** The scenario could not be measured (why); the run goes on and exits non-zero at the end. */
  failed?: string;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** The server's database: undefined for SQLite (a temporary directory), else a fresh PostgreSQL schema. */
  url: () => Promise<string | undefined>;
}

/** A backend, and for PostgreSQL also with its durable log on NATS JetStream (the ingestion and identity sections). */
export interface LogVariant {
  backend: Backend;
  natsLog: boolean;
  label: string;
  /** Servers sharing the store, each with its own embedded log (PostgreSQL only); 1 when absent. */
  nodes?: number;
}

export interface Harness {
  quick: boolean;
  runs: number;
  rows: Row[];
  log(msg: string): void;
  /** Run one scenario; a failure (e.g. a processor that stops making progress) becomes a FAILED row, not a crash. */
  attempt<T>(scenario: string, fn: () => Promise<T>): Promise<T | null>;
  /**
   * One warm-up run that is not counted (`warm` is true: it may be a smaller one), except in quick mode
   * or with `warmup: false`; then `runs` runs (`opts.runs` in full mode, if given).
   */
  repeat<T>(label: string, fn: (warm: boolean) => Promise<T>, opts?: { warmup?: boolean; runs?: number }): Promise<T[]>;
}

export function createHarness(quick: boolean, runs: number): Harness {
  const rows: Row[] = [];
  const log = (msg: string) => {
    process.stderr.write(`${msg}\n`);
  };
  async function attempt<T>(scenario: string, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await fn();
    } catch (err) {
      const why = (err as Error).message.split('\n')[0]!.slice(0, 300);
      log(`  FAILED: ${scenario}: ${why}`);
      rows.push({ scenario, figure: `FAILED: ${why.length > 90 ? `${why.slice(0, 90)}…` : why}`, value: [], unit: '', failed: why });
      return null;
    }
  }
  async function repeat<T>(label: string, fn: (warm: boolean) => Promise<T>, opts: { warmup?: boolean; runs?: number } = {}): Promise<T[]> {
    const out: T[] = [];
    const n = quick ? runs : (opts.runs ?? runs);
    if (!quick && opts.warmup !== false) {
      log(`  warm-up: ${label}`);
      await fn(true);
    }
    for (let i = 0; i < n; i++) {
      log(`  run ${i + 1}/${n}: ${label}`);
      const t0 = performance.now();
      out.push(await fn(false));
      log(`    ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    return out;
  }
  return { quick, runs, rows, log, attempt, repeat };
}

/** The `p`-quantile (0 to 1) of some samples, nearest rank. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
}
