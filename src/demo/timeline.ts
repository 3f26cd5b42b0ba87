/**
 * Time: the traffic intensity over the demo window (a daily rhythm and weekly seasonality in each
 * region's local time) and its inverse, which turns a position in [0, 1] of the event budget into a
 * time, so sessions spread over the window in proportion to expected traffic.
 */
import { HOURLY, REGIONS, WEEKLY } from './data.ts';

const HOUR_MS = 3_600_000;

export class Timeline {
  readonly startMs: number;
  readonly endMs: number;
  private readonly buckets: number;
  /** Width in hours of the last bucket (the window may end mid-hour). */
  private readonly lastWidth: number;
  /** Cumulative intensity at the end of each hourly bucket, normalised so the last is 1. */
  private readonly cum: Float64Array;
  /** Per-bucket region intensities, bucket-major. */
  private readonly regional: Float64Array;
  private cursor = 0;

  constructor(start: Date, days: number) {
    this.startMs = start.getTime();
    this.endMs = this.startMs + days * 24 * HOUR_MS;
    const exact = days * 24;
    this.buckets = Math.max(1, Math.ceil(exact - 1e-9));
    this.lastWidth = Math.min(1, exact - (this.buckets - 1));
    this.cum = new Float64Array(this.buckets);
    this.regional = new Float64Array(this.buckets * REGIONS.length);
    let sum = 0;
    for (let b = 0; b < this.buckets; b++) {
      const mid = this.startMs + (b + 0.5) * HOUR_MS;
      const width = Math.min(1, exact - b);
      let total = 0;
      REGIONS.forEach((region, r) => {
        const local = new Date(mid + region.utcOffset * HOUR_MS);
        const v = region.share * (HOURLY[local.getUTCHours()] as number) * (WEEKLY[local.getUTCDay()] as number);
        this.regional[b * REGIONS.length + r] = v;
        total += v;
      });
      sum += total * width;
      this.cum[b] = sum;
    }
    for (let b = 0; b < this.buckets; b++) this.cum[b] = (this.cum[b] as number) / sum;
  }

  /**
   * The time by which a share `q` of all traffic has happened. Calls must come with non-decreasing `q`
   * (a moving cursor makes each call O(1) amortised).
   */
  timeAt(q: number): number {
    const cum = this.cum;
    const last = this.buckets - 1;
    while (this.cursor < last && (cum[this.cursor] as number) <= q) this.cursor++;
    const b = this.cursor;
    const lo = b > 0 ? (cum[b - 1] as number) : 0;
    const hi = cum[b] as number;
    const width = b === last ? this.lastWidth : 1;
    const frac = hi > lo ? Math.min(1, Math.max(0, (q - lo) / (hi - lo))) : 0;
    return Math.min(this.endMs, Math.floor(this.startMs + (b + frac * width) * HOUR_MS));
  }

  /** Which region a session starting at `t` comes from, given a uniform `u`. */
  regionAt(t: number, u: number): number {
    const b = Math.min(this.buckets - 1, Math.max(0, Math.floor((t - this.startMs) / HOUR_MS)));
    const n = REGIONS.length;
    let total = 0;
    for (let r = 0; r < n; r++) total += this.regional[b * n + r] as number;
    let target = u * total;
    for (let r = 0; r < n - 1; r++) {
      target -= this.regional[b * n + r] as number;
      if (target < 0) return r;
    }
    return n - 1;
  }
}
