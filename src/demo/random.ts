/**
 * A small seeded pseudo-random generator (sfc32: "small fast chaotic", 128 bits of state) and the
 * sampling helpers the demo generator needs. Everything is a pure function of the seed, so the same
 * seed always yields the same stream on every platform (only 32-bit integer arithmetic is used).
 */

const TWO_POW_32 = 4294967296;
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const HEX_CODES: readonly number[] = Array.from('0123456789abcdef', (ch) => ch.charCodeAt(0));
const HEX_CODES_UPPER: readonly number[] = Array.from('0123456789ABCDEF', (ch) => ch.charCodeAt(0));
const UUID_BUF: number[] = new Array<number>(36).fill(48);

/** Avalanche a 32-bit integer (a murmur3-style finaliser). */
export function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Hash a few integers into one 32-bit value; used to derive independent sub-streams (per customer, per device…). */
export function hashInts(a: number, b: number, c = 0): number {
  let h = mix32(a ^ 0x3c6ef372);
  h = mix32(h ^ Math.imul(b | 0, 0x9e3779b1) ^ (Math.floor(b / TWO_POW_32) | 0));
  return mix32(h ^ Math.imul(c | 0, 0x85ebca77));
}

/** A precomputed table for picking among weighted items in O(log n). */
export class WeightedTable<T> {
  readonly items: readonly T[];
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(entries: ReadonlyArray<readonly [T, number]>) {
    if (entries.length === 0) throw new Error('WeightedTable needs at least one entry');
    this.items = entries.map((e) => e[0]);
    this.cumulative = new Float64Array(entries.length);
    let sum = 0;
    entries.forEach(([, w], i) => {
      if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`invalid weight ${w}`);
      sum += w;
      this.cumulative[i] = sum;
    });
    if (sum <= 0) throw new Error('WeightedTable needs a positive total weight');
    this.total = sum;
  }

  /** The item whose cumulative share covers `u` ∈ [0, 1). */
  at(u: number): T {
    const target = u * this.total;
    const cum = this.cumulative;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cum[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo] as T;
  }
}

export class Random {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(seed: number, stream = 0) {
    this.reseed(seed, stream);
  }

  /** Restart the generator on the stream identified by (seed, stream); reusing one instance avoids allocation. */
  reseed(seed: number, stream = 0): this {
    this.a = hashInts(seed, stream, 1);
    this.b = hashInts(seed, stream, 2);
    this.c = hashInts(seed, stream, 3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
    return this;
  }

  /** The next raw 32-bit output. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / TWO_POW_32;
  }

  /** Uniform in [min, max). */
  float(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  weighted<T>(table: WeightedTable<T>): T {
    return table.at(this.next());
  }

  /** Standard normal by Box–Muller (one value per call, so the stream does not depend on hidden state). */
  normal(mean = 0, sd = 1): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given median and log-space spread. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Pareto type I: scale `xm` (the minimum), shape `alpha` (smaller = heavier tail). */
  pareto(xm: number, alpha: number): number {
    return xm / Math.pow(1 - this.next(), 1 / alpha);
  }

  /**
   * A Zipf-like rank in [0, n): rank r is drawn with probability roughly ∝ 1/(r+1)^s (continuous
   * power-law inverse transform, so O(1) with no table).
   */
  zipf(n: number, s: number): number {
    const u = this.next();
    let x: number;
    if (Math.abs(s - 1) < 1e-9) x = Math.exp(u * Math.log(n + 1));
    else {
      const e = 1 - s;
      x = Math.pow(u * (Math.pow(n + 1, e) - 1) + 1, 1 / e);
    }
    const r = Math.floor(x) - 1;
    return r < 0 ? 0 : r >= n ? n - 1 : r;
  }

  /** Number of failures before the first success with probability p (mean (1-p)/p). */
  geometric(p: number): number {
    if (p >= 1) return 0;
    return Math.floor(Math.log(1 - this.next()) / Math.log(1 - p));
  }

  /** A UUID v4-shaped id drawn from this stream (deterministic, not cryptographic). */
  uuid(upper = false): string {
    // Written as character codes into one buffer: a single string allocation per id.
    const digits = upper ? HEX_CODES_UPPER : HEX_CODES;
    const buf = UUID_BUF;
    let pos = 0;
    for (let w = 0; w < 4; w++) {
      let x = this.u32();
      if (w === 1) x = (x & 0xffff0fff) | 0x00004000; // version 4
      if (w === 2) x = ((x & 0x3fffffff) | 0x80000000) >>> 0; // RFC 4122 variant
      for (let k = 28; k >= 0; k -= 4) {
        if (pos === 8 || pos === 13 || pos === 18 || pos === 23) buf[pos++] = 45; // '-'
        buf[pos++] = digits[(x >>> k) & 15] as number;
      }
    }
    return String.fromCharCode.apply(null, buf);
  }

  /** `n` lowercase hex characters. */
  hex(n: number): string {
    let s = '';
    while (s.length < n) s += HEX[this.u32() & 255];
    return s.slice(0, n);
  }

  /** `n` decimal digits (leading zeros allowed). */
  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(this.u32() % 10);
    return s;
  }
}
